// An accessible menu button: Enter/Space/ArrowDown open it, arrows move, Escape closes and returns focus.
import { h } from "./dom";

export interface MenuItem { label: string; action: () => void; disabled?: boolean }

let openMenu: { close(focus: boolean): void } | null = null;
document.addEventListener("click", (e) => {
  if (openMenu && !(e.target as Element)?.closest?.(".menu-wrap")) openMenu.close(false);
});

export function menuButton(opts: { label: string; text: string; className?: string; items: () => MenuItem[] }): HTMLElement {
  const wrap = h("div", { class: "menu-wrap" });
  const btn = h("button", { type: "button", class: opts.className ?? "menu-btn", "aria-haspopup": "menu", "aria-expanded": "false", "aria-label": opts.label, title: opts.label, text: opts.text });
  const list = h("div", { role: "menu", class: "menu", hidden: true, "aria-label": opts.label });
  wrap.append(btn, list);

  const items = (): HTMLButtonElement[] => Array.from(list.querySelectorAll<HTMLButtonElement>("[role=menuitem]:not([disabled])"));
  const close = (focus: boolean) => {
    list.hidden = true;
    btn.setAttribute("aria-expanded", "false");
    if (openMenu === handle) openMenu = null;
    if (focus) btn.focus();
  };
  const handle = { close };
  const open = (focusIndex: number) => {
    openMenu?.close(false);
    list.replaceChildren(...opts.items().map((it) => {
      const b = h("button", { type: "button", role: "menuitem", tabindex: "-1", disabled: !!it.disabled, text: it.label });
      b.addEventListener("click", (e) => { e.stopPropagation(); close(true); it.action(); });
      return b;
    }));
    list.hidden = false;
    btn.setAttribute("aria-expanded", "true");
    openMenu = handle;
    const all = items();
    all[(focusIndex + all.length) % Math.max(1, all.length)]?.focus();
  };

  btn.addEventListener("click", (e) => { e.stopPropagation(); if (list.hidden) open(0); else close(false); });
  btn.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "Enter" || e.key === " ") { e.preventDefault(); open(0); }
    if (e.key === "ArrowUp") { e.preventDefault(); open(-1); }
  });
  list.addEventListener("keydown", (e) => {
    const all = items();
    const i = all.indexOf(document.activeElement as HTMLButtonElement);
    if (e.key === "ArrowDown") { e.preventDefault(); all[(i + 1) % all.length]?.focus(); }
    else if (e.key === "ArrowUp") { e.preventDefault(); all[(i - 1 + all.length) % all.length]?.focus(); }
    else if (e.key === "Home") { e.preventDefault(); all[0]?.focus(); }
    else if (e.key === "End") { e.preventDefault(); all[all.length - 1]?.focus(); }
    else if (e.key === "Escape") { e.preventDefault(); close(true); }
    else if (e.key === "Tab") { close(false); }
  });
  return wrap;
}
