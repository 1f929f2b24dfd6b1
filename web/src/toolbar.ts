// The report's toolbar: live/global switch, window or day range, execution filter, status, and the layout tools.
import type { Board } from "./board";
import { dayInput, executionFilter, labelled, readDay } from "./controls";
import { clear, h } from "./dom";
import { t } from "./i18n";
import { menuButton } from "./menu";
import { GLOBAL_TABS, MACHINE_TABS, type State } from "./state";
import { openSubscribeDialog } from "./subscribe";

export interface ToolbarHooks {
  /** The report kind changed: the page redraws its shell. */
  setMode: (m: State["mode"]) => void;
  /** The state changed in place: remember it (a history entry when `push`) and refresh now. */
  changed: (push: boolean) => void;
  /** Draw the toolbar again (the execution filter's choices changed). */
  redraw: () => void;
  board: () => Board | null;
  announce: (message: string) => void;
  /** The caller may create email reports (the `subscriptions` scope). */
  canSubscribe: boolean;
  available: (string | null)[];
  status: HTMLElement;
  /** "Include machine opens" was switched (state.machine is set): redraw the rates, remember the choice. */
  machineChanged: () => void;
  /** The signed-in person's address ("" for a key): the email report's first recipient and its test's. */
  myEmail: string;
}

/** A range the API refused (the page's words for its reason): shown by the fields, which get the range shown back. */
export function showRangeError(c: HTMLElement, message: string, state: State): void {
  const error = c.querySelector<HTMLElement>("#range-error");
  if (error) error.textContent = message;
  for (const [id, iso] of [["from", state.from], ["to", state.to]] as const) {
    const input = c.querySelector<HTMLInputElement>(`#${id}`);
    if (input) input.value = /^\d{4}-\d{2}-\d{2}$/.test(iso) ? `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}` : "";
  }
}

/** "Add widget" (the widgets the marketer removed) and "Reset layout", for every tab's toolbar. */
export function layoutTools(board: () => Board | null): HTMLElement[] {
  const addBack = menuButton({
    label: t("addWidget"), text: `+ ${t("addWidget")}`, className: "menu-btn secondary",
    items: () => {
      const removed = board()?.removedWidgets() ?? [];
      return removed.length ? removed.map((d) => ({ label: t(d.title), action: () => board()?.addBack(d.id) }))
        : [{ label: t("nothingToAdd"), action: () => undefined, disabled: true }];
    },
  });
  addBack.classList.add("add-widget");
  const reset = h("button", { type: "button", class: "secondary reset-layout", text: t("resetLayout") });
  reset.addEventListener("click", () => board()?.reset());
  return [addBack, reset];
}

/** "Include machine opens": open rate and reactivity on human opens (off, the default) or with machine opens
 *  (the `_all` rates of the API); a switch, as the peers offer, remembered in preferences and in the link. */
export function machineSwitch(state: State, changed: () => void): HTMLElement {
  const box = h("input", { type: "checkbox", id: "machine-opens", role: "switch", "aria-checked": state.machine ? "true" : "false" }) as HTMLInputElement;
  box.checked = !!state.machine;
  box.addEventListener("change", () => {
    state.machine = box.checked;
    box.setAttribute("aria-checked", box.checked ? "true" : "false");
    changed();
  });
  return h("label", { class: "machine-switch", title: t("machineSwitchHelp") }, box, h("span", { text: t("machineSwitch") }));
}

/** Draws the toolbar into `c`; returns the "latest event" element the page keeps up to date. */
export function renderToolbar(c: HTMLElement, state: State, hooks: ToolbarHooks): HTMLElement {
  clear(c);
  const liveText = () => t("liveWindow", { w: t(state.window === "1h" ? "w1h" : "w24h") });
  const modes = h("div", { class: "segmented", role: "radiogroup", "aria-label": t("reportKind") });
  for (const m of ["live", "global"] as const) {
    const b = h("button", { type: "button", role: "radio", "aria-checked": state.mode === m ? "true" : "false", "data-mode": m,
      text: m === "live" ? liveText() : t("global") });
    b.tabIndex = state.mode === m ? 0 : -1;
    b.addEventListener("click", () => hooks.setMode(m));
    modes.append(b);
  }
  modes.addEventListener("keydown", (e) => {
    if (["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(e.key)) {
      e.preventDefault();
      hooks.setMode(state.mode === "live" ? "global" : "live");
      (c.querySelector(`[data-mode=${state.mode}]`) as HTMLElement | null)?.focus();
    }
  });
  c.append(modes);
  if (state.mode === "live") {
    const win = h("select", { id: "window" });
    for (const [v, k] of [["24h", "last24h"], ["1h", "last1h"]] as const) win.append(h("option", { value: v, selected: v === state.window, text: t(k) }));
    win.addEventListener("change", () => {
      state.window = win.value as State["window"];
      const live = c.querySelector("[data-mode=live]");
      if (live) live.textContent = liveText();
      hooks.changed(true);
    });
    c.append(labelled(t("window"), win));
  } else if (GLOBAL_TABS.includes(state.tab)) {
    const from = dayInput("from", state.from, t("wholeLife"));
    const to = dayInput("to", state.to, t("wholeLife"));
    const apply = h("button", { type: "button", class: "secondary apply-range", text: t("apply") });
    // Why a range is refused, in the page's words, next to the fields; nothing is applied until it reads.
    const error = h("p", { id: "range-error", class: "range-error error", role: "alert" });
    apply.addEventListener("click", () => {
      const [f, u] = [readDay(from.value), readDay(to.value)];
      const order = "iso" in f && "iso" in u && f.iso && u.iso && f.iso > u.iso;
      from.setAttribute("aria-invalid", "error" in f || order ? "true" : "false");
      to.setAttribute("aria-invalid", "error" in u || order ? "true" : "false");
      error.textContent = "error" in f ? f.error : "error" in u ? u.error : order ? t("rangeOrder") : "";
      if (error.textContent || !("iso" in f) || !("iso" in u)) {
        (from.getAttribute("aria-invalid") === "true" ? from : to).focus();
        return;
      }
      if (f.iso === state.from && u.iso === state.to) return;
      state.from = f.iso; state.to = u.iso;
      hooks.changed(true);
    });
    for (const input of [from, to]) input.addEventListener("keydown", (e) => { if (e.key === "Enter") apply.click(); });
    c.append(labelled(t("from"), from), labelled(t("to"), to), apply, error,
      h("span", { id: "range-hint", class: "sr-only", text: t("wholeLife") }));
  }
  if (MACHINE_TABS.includes(state.tab)) c.append(machineSwitch(state, hooks.machineChanged));
  c.append(executionFilter(hooks.available, state.executions, (sel) => {
    state.executions = sel;
    hooks.redraw();
    (c.querySelector(".exec-filter") as HTMLDetailsElement).open = true;
    hooks.changed(false);
  }));
  const latest = h("span", { class: "latest-event status" });
  const tools: HTMLElement[] = layoutTools(hooks.board);
  if (hooks.canSubscribe && state.campaign) {
    const emailMe = h("button", { type: "button", class: "secondary email-me", text: `✉ ${t("emailMe")}` });
    emailMe.addEventListener("click", () => openSubscribeDialog(state, hooks.announce, hooks.myEmail));
    tools.unshift(emailMe);
  }
  c.append(h("div", { class: "spacer" }), h("div", { class: "status-box" }, hooks.status, latest), ...tools);
  return latest;
}
