// Toolbar controls: campaign picker (search + last activity), execution filter, report switch, tabs.
import type { CampaignSummary } from "./api";
import { clear, h, newId } from "./dom";
import { fmtDateTime, fmtRelative, locale, t } from "./i18n";
import { TABS, type Tab } from "./state";

export function campaignPicker(current: string | null, list: CampaignSummary[], choose: (id: string) => void): HTMLElement {
  const details = h("details", { class: "picker" });
  const summary = h("summary", { class: "picker-summary" },
    h("span", { class: "picker-label", text: t("campaign") }), h("strong", { class: "picker-current", text: current ?? t("chooseCampaign") }));
  const searchId = newId("search");
  const search = h("input", { id: searchId, type: "search", placeholder: t("searchCampaigns"), autocomplete: "off", "aria-label": t("searchCampaigns") });
  const ul = h("ul", { class: "picker-list", "aria-label": t("chooseCampaign") });
  const render = () => {
    clear(ul);
    const q = search.value.trim().toLowerCase();
    const shown = list.filter((c) => c.campaign_id.toLowerCase().includes(q));
    if (!list.length) ul.append(h("li", { class: "muted", text: t("noCampaigns") }));
    else if (!shown.length) ul.append(h("li", { class: "muted", text: t("noMatch") }));
    for (const c of shown) {
      const b = h("button", { type: "button", class: "picker-item", "aria-current": c.campaign_id === current ? "true" : null, "data-campaign": c.campaign_id },
        h("span", { class: "picker-name", text: c.campaign_id }),
        h("span", { class: "picker-meta", title: c.last_event ? fmtDateTime(c.last_event * 1000) : "" },
          `${c.channels.map((ch) => t(`tab_${ch}` as never)).join(" · ")} — ${t("lastActivity", { when: fmtRelative(c.last_event) })}`));
      b.addEventListener("click", () => { details.open = false; choose(c.campaign_id); });
      ul.append(h("li", {}, b));
    }
  };
  search.addEventListener("input", render);
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { const first = ul.querySelector<HTMLButtonElement>("button"); first?.click(); }
    if (e.key === "ArrowDown") { e.preventDefault(); ul.querySelector<HTMLButtonElement>("button")?.focus(); }
  });
  ul.addEventListener("keydown", (e) => {
    const all = Array.from(ul.querySelectorAll<HTMLButtonElement>("button"));
    const i = all.indexOf(document.activeElement as HTMLButtonElement);
    if (e.key === "ArrowDown") { e.preventDefault(); all[Math.min(i + 1, all.length - 1)]?.focus(); }
    if (e.key === "ArrowUp") { e.preventDefault(); if (i <= 0) search.focus(); else all[i - 1]?.focus(); }
  });
  details.addEventListener("keydown", (e) => { if (e.key === "Escape" && details.open) { details.open = false; summary.focus(); } });
  details.addEventListener("toggle", () => { if (details.open) { render(); search.focus(); } });
  render();
  details.append(summary, h("div", { class: "picker-panel" }, search, ul));
  if (!current && list.length) details.open = true; // an empty workspace has nothing to choose: keep the header clear
  return details;
}

export function executionFilter(available: (string | null)[], selected: (string | null)[] | null,
                                change: (sel: (string | null)[] | null) => void): HTMLElement {
  const details = h("details", { class: "exec-filter" });
  const count = selected?.length ?? 0;
  details.append(h("summary", {}, `${t("executions")}: `, h("strong", { text: count ? t("executionsSelected", { n: count }) : t("allExecutions") })));
  const fieldset = h("fieldset", {}, h("legend", { class: "sr-only", text: t("executions") }));
  const boxes: [HTMLInputElement, string | null][] = [];
  for (const e of available) {
    const id = newId("exec");
    const box = h("input", { type: "checkbox", id, checked: !!selected?.includes(e), "data-execution": e ?? "" });
    boxes.push([box, e]);
    fieldset.append(h("div", { class: "check" }, box, h("label", { for: id, text: e ?? t("noExecution") })));
  }
  fieldset.addEventListener("change", () => {
    const sel = boxes.filter(([b]) => b.checked).map(([, e]) => e);
    change(sel.length ? sel : null);
  });
  const all = h("button", { type: "button", class: "link-btn", text: t("clearSelection") });
  all.addEventListener("click", () => { for (const [b] of boxes) b.checked = false; change(null); });
  details.append(h("div", { class: "exec-panel" }, fieldset, all));
  details.addEventListener("keydown", (e) => { if (e.key === "Escape" && details.open) { details.open = false; (details.querySelector("summary") as HTMLElement).focus(); } });
  return details;
}

/** WAI-ARIA tabs: arrow keys / Home / End move between tabs, the selected tab is the only tab stop. */
/** `shown`: tabs offered (Experimentation only when the campaign has variants); others are hidden, never reached by keys. */
export function tabList(current: Tab, withData: Set<string>, panelId: string, select: (tab: Tab) => void,
                        shown: (tab: Tab) => boolean = () => true): HTMLElement {
  const list = h("div", { role: "tablist", class: "tabs", "aria-label": t("tabsLabel") });
  const buttons = TABS.map((tab) => {
    const b = h("button", {
      type: "button", role: "tab", id: `tab-${tab}`, "aria-selected": tab === current ? "true" : "false",
      "aria-controls": panelId, tabindex: tab === current ? "0" : "-1", "data-tab": tab, class: withData.has(tab) ? "has-data" : "",
      hidden: !shown(tab) && tab !== current,
    }, t(`tab_${tab}` as never));
    b.addEventListener("click", () => select(tab));
    return b;
  });
  list.addEventListener("keydown", (e) => {
    const open = buttons.filter((b) => !b.hidden);
    const i = open.indexOf(document.activeElement as HTMLButtonElement);
    if (i < 0) return;
    let j = -1;
    if (e.key === "ArrowRight") j = (i + 1) % open.length;
    if (e.key === "ArrowLeft") j = (i - 1 + open.length) % open.length;
    if (e.key === "Home") j = 0;
    if (e.key === "End") j = open.length - 1;
    if (j >= 0) { e.preventDefault(); open[j].focus(); select(open[j].dataset.tab as Tab); }
  });
  list.append(...buttons);
  return list;
}

/** A control with its visible label (the label's `for` names it); `extra` adds classes to the field. */
export function labelled(text: string, control: HTMLElement, extra = ""): HTMLElement {
  const id = control.id || newId("ctl");
  control.id = id;
  return h("div", { class: `field ${extra}`.trim() }, h("label", { for: id, text }), control);
}

/** Tabs that scroll sideways on narrow screens, with a fade and "›" while more is hidden on the right. */
export function scrollCue(tabs: HTMLElement): HTMLElement {
  const box = h("div", { class: "tabs-scroll" }, tabs);
  const cue = () => {
    if (!box.isConnected && box.dataset.shown) { window.removeEventListener("resize", cue); return; }
    box.dataset.shown = "1";
    box.classList.toggle("more", tabs.scrollLeft + tabs.clientWidth < tabs.scrollWidth - 2);
  };
  tabs.addEventListener("scroll", cue, { passive: true });
  window.addEventListener("resize", cue, { passive: true });
  requestAnimationFrame(() => { tabs.querySelector("[aria-selected=true]")?.scrollIntoView({ block: "nearest", inline: "nearest" }); cue(); });
  return box;
}

/** A day in the page's language (dd/mm/yyyy, placeholder "jj/mm/aaaa" in French) instead of <input type=date>,
 *  which follows the browser's locale whatever the page says. Value in and out: ISO yyyy-mm-dd or "". */
export function dayInput(id: string, iso: string, hint: string): HTMLInputElement {
  const shown = /^\d{4}-\d{2}-\d{2}$/.test(iso) ? `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}` : "";
  const input = h("input", { id, type: "text", inputmode: "numeric", autocomplete: "off", size: 10, value: shown,
    placeholder: t("datePlaceholder"), title: hint, "aria-describedby": "range-error range-hint", class: "day-input" });
  return input;
}

/** The ISO day a dayInput holds ("" when empty; null when it cannot be read). */
export function dayValue(input: HTMLInputElement): string | null {
  const read = readDay(input.value);
  return "error" in read ? null : read.iso;
}

/** A typed day read as ISO, or why it is not a day, in the page's words ("31/02/2026: February 2026 has 28 days"). */
export function readDay(raw: string): { iso: string } | { error: string } {
  const v = raw.trim();
  if (!v) return { iso: "" };
  const iso = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(v);
  const dmy = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(v);
  if (!iso && !dmy) return { error: t("dateFormat", { value: v }) };
  const [y, m, d] = (iso ? [iso[1], iso[2], iso[3]] : [dmy![3], dmy![2], dmy![1]]).map(Number);
  if (m < 1 || m > 12) return { error: t("dateNoMonth", { value: v, month: m }) };
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  if (d < 1 || d > days) {
    const month = new Intl.DateTimeFormat(locale(), { month: "long", year: "numeric", timeZone: "UTC" }).format(Date.UTC(y, m - 1, 1));
    return { error: t("dateNoDay", { value: v, month, days }) };
  }
  return { iso: `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}` };
}
