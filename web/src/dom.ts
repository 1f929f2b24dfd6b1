// Tiny DOM helpers. Every string goes in as text (textContent / attribute), never as HTML.

type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2).toLowerCase(), v as EventListener);
    } else if (k === "class") {
      el.className = String(v);
    } else if (k === "text") {
      el.textContent = String(v);
    } else {
      el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, ...children);
  return el;
}

export function append(el: Element, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** For the few places that must produce HTML strings (ECharts tooltips). */
export function escapeHtml(s: unknown): string {
  return String(s ?? "").replace(/[&<>"'`=\/]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A link only for http(s) URLs; anything else stays plain text. */
export function safeLink(value: string): Node {
  let url: URL | null = null;
  try {
    url = /^https?:\/\//i.test(value) ? new URL(value) : null;
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) return document.createTextNode(value);
  return h("a", { href: url.href, target: "_blank", rel: "noopener noreferrer nofollow", text: value });
}

let uid = 0;
export function newId(prefix: string): string {
  uid += 1;
  return `${prefix}-${uid}`;
}
