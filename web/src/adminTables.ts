// Building blocks of the admin page (admin.ts): a titled section with its own error line, a table that
// scrolls sideways inside its wrapper (so a 390 px screen never scrolls the page), times and audit details
// as text. Nothing here knows the page's wording: callers pass translated strings. Every value goes in as
// text through dom.h, so hostile names, labels and details stay inert.
import { h, newId } from "./dom";
import { fmtDateTime } from "./i18n";

export interface Section {
  el: HTMLElement;
  /** Errors of the actions taken in the section (a refused role change, a failed removal). */
  error: HTMLElement;
  /** Visible confirmation of the last action (screen readers hear it through the page's announcer). */
  note: HTMLElement;
  /** Where the list goes (replaced on every load). */
  body: HTMLElement;
}

/** `<section>` with an h3 heading, optional intro nodes, the error and note lines and the list's slot. */
export function section(name: string, title: string, ...intro: (Node | null)[]): Section {
  const id = newId(`admin-${name}`);
  const error = h("p", { class: "error admin-error", role: "alert" });
  const note = h("p", { class: "admin-note" });
  const body = h("div", { class: "admin-body", "aria-busy": "true" });
  const el = h("section", { class: `admin-section admin-${name}`, "aria-labelledby": id },
    h("h3", { id, text: title }), ...intro, error, note, body);
  return { el, error, note, body };
}

/** A list's table: a caption for screen readers, `<th scope=col>` headers, a row saying so when empty.
 *  The wrapper scrolls horizontally and is focusable (role=region) so keyboards can scroll it too. */
export function table(caption: string, headers: string[], rows: HTMLTableRowElement[], empty: string): HTMLElement {
  const body = h("tbody");
  if (rows.length) body.append(...rows);
  else body.append(h("tr", {}, h("td", { class: "empty", colspan: headers.length, text: empty })));
  return h("div", { class: "admin-table-wrap", role: "region", "aria-label": caption, tabindex: "0" },
    h("table", { class: "data-table admin-table" },
      h("caption", { class: "sr-only", text: caption }),
      h("thead", {}, h("tr", {}, ...headers.map((x) => h("th", { scope: "col", text: x })))),
      body));
}

/** A row of cells (strings become text). */
export function row(attrs: Record<string, string>, ...cells: (Node | string)[]): HTMLTableRowElement {
  return h("tr", attrs, ...cells.map((c) => h("td", {}, c)));
}

/** The API's times are epoch seconds (members, keys, sources, audit); ISO strings are accepted too.
 *  Shown with the page's formatter (its language and time zone); the exact instant in the tooltip. */
export function when(value: number | string | null | undefined): Node {
  if (value === null || value === undefined || value === "") return document.createTextNode("—");
  const ms = typeof value === "number" ? value * 1000 : Date.parse(value);
  if (!Number.isFinite(ms)) return document.createTextNode(String(value));
  const iso = new Date(ms).toISOString();
  return h("time", { datetime: iso, title: iso, text: fmtDateTime(ms) });
}

/** An audit entry's detail as compact `k: v` text ("from: viewer · to: editor"); empty values say nothing. */
export function detailText(detail: unknown): string {
  if (!detail || typeof detail !== "object") return detail === undefined || detail === null ? "" : String(detail);
  return Object.entries(detail as Record<string, unknown>).filter(([, v]) => v !== "" && v !== null).map(([k, v]) => {
    const shown = Array.isArray(v) ? v.join(", ") : v !== null && typeof v === "object" ? JSON.stringify(v) : String(v);
    return `${k}: ${shown}`;
  }).join(" · ");
}

/** A button with visible text (and a longer accessible name when the row needs one). */
export function button(text: string, className: string, label: string | null, onClick: () => void): HTMLButtonElement {
  const b = h("button", { type: "button", class: className, "aria-label": label, text });
  b.addEventListener("click", onClick);
  return b;
}

/** Copy a value to the clipboard; falls back to selecting it and the legacy copy command. */
export async function copyText(input: HTMLInputElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(input.value);
    return true;
  } catch {
    input.select();
    try { return document.execCommand("copy"); } catch { return false; }
  }
}
