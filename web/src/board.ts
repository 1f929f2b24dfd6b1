// The gridstack board of one tab: widgets placed, resized, moved, removed and added back; layout in local storage.
import { type GridItemHTMLElement, GridStack, type GridStackNode, type GridStackWidget } from "gridstack";
import type { Doc } from "./api";
import { type CsvContext, download } from "./csv";
import { h, newId } from "./dom";
import { t } from "./i18n";
import { menuButton } from "./menu";
import type { Ctx, WidgetDef } from "./widgets/model";
import { WidgetView } from "./widgets/view";

const COLUMNS = 12;
interface Saved { items: GridStackWidget[]; removed: string[] }
interface Placed { def: WidgetDef; item: HTMLElement; view: WidgetView; titleEl: HTMLElement }

export function layoutKey(tab: string, mode: string): string { return `clr.layout.v1.${tab}.${mode}`; }

export function defaultLayout(defs: WidgetDef[]): GridStackWidget[] {
  let x = 0, y = 0, rowH = 0;
  return defs.map((d) => {
    if (x + d.w > COLUMNS) { x = 0; y += rowH; rowH = 0; }
    const pos = { id: d.id, x, y, w: d.w, h: d.h };
    x += d.w; rowH = Math.max(rowH, d.h);
    return pos;
  });
}

export class Board {
  readonly el: HTMLElement;
  private grid: GridStack;
  private placed = new Map<string, Placed>();
  private saved: Saved;
  private doc: Doc | null = null;
  private restoring = false;
  private narrow: MediaQueryList;
  private onNarrow = () => this.grid.setStatic(this.narrow.matches);

  constructor(parent: HTMLElement, private key: string, private defs: WidgetDef[], private ctx: Ctx,
              private hooks: { announce(msg: string): void; csvName(id: string): string; csvContext(): CsvContext }) {
    this.el = h("div", { class: "grid-stack" });
    parent.append(this.el); // gridstack measures its element: it must be in the document
    this.saved = this.load();
    this.grid = GridStack.init({
      column: COLUMNS, cellHeight: 76, margin: 6, animate: false,
      handle: ".widget-head", resizable: { handles: "se" },
    }, this.el)!;
    // Phones get a plain list (see style.css): no dragging or resizing there.
    this.narrow = window.matchMedia("(max-width: 760px)");
    if (this.narrow.matches) this.grid.setStatic(true);
    this.narrow.addEventListener("change", this.onNarrow);
    this.grid.on("change", () => this.persist());
    // A widget resized with the mouse may push its neighbour to the next row: close the holes it leaves.
    this.grid.on("resizestop", () => { this.grid.compact(); this.persist(); });
  }

  private load(): Saved {
    try {
      const raw = JSON.parse(localStorage.getItem(this.key) ?? "null") as Saved | null;
      if (raw && Array.isArray(raw.items) && Array.isArray(raw.removed)) return raw;
    } catch { /* a bad entry falls back to the default */ }
    return { items: defaultLayout(this.defs), removed: [] };
  }

  private persist(): void {
    if (this.restoring) return;
    const shown = (this.grid.save(false, false, undefined, COLUMNS) as GridStackWidget[])
      .map(({ id, x, y, w, h }) => ({ id, x, y, w, h }));
    const shownIds = new Set(shown.map((i) => i.id));
    const hidden = this.saved.items.filter((i) => !shownIds.has(i.id) && !this.saved.removed.includes(String(i.id)));
    this.saved = { items: [...shown, ...hidden], removed: this.saved.removed };
    localStorage.setItem(this.key, JSON.stringify(this.saved));
  }

  /** Places, removes and updates widgets for a new document. */
  sync(doc: Doc, force = false): void {
    this.doc = doc;
    this.restoring = true;
    this.grid.batchUpdate();
    for (const def of this.defs) {
      const visible = !this.saved.removed.includes(def.id) && (def.when ? def.when(doc) : true);
      const p = this.placed.get(def.id);
      if (visible && !p) this.place(def);
      if (!visible && p) this.unplace(def.id);
    }
    this.grid.batchUpdate(false);
    this.restoring = false;
    for (const p of this.placed.values()) {
      if (force) p.titleEl.textContent = t(p.def.title);
      p.view.update(p.def.build(doc, this.ctx), force);
    }
  }

  /** Builds every widget again from the document shown (a switch changed what they show, not the data). */
  rebuild(): void { if (this.doc) this.sync(this.doc); }

  private place(def: WidgetDef): void {
    const pos = this.saved.items.find((i) => i.id === def.id) ?? { w: def.w, h: def.h, autoPosition: true };
    const titleId = newId("wt");
    const titleEl = h("h3", { id: titleId, class: "widget-title", text: t(def.title) });
    const view = new WidgetView(def, () => t(def.title));
    const menu = menuButton({
      label: t("widgetMenu", { title: t(def.title) }), text: "⋮",
      items: () => this.menuItems(def.id),
    });
    const section = h("section", { class: "widget", "aria-labelledby": titleId, "data-widget": def.id },
      h("header", { class: "widget-head" }, titleEl, menu), view.body);
    const item = h("div", { class: "grid-stack-item" }, h("div", { class: "grid-stack-item-content" }, section));
    this.el.append(item);
    this.grid.makeWidget(item, { id: def.id, x: pos.x, y: pos.y, w: pos.w ?? def.w, h: pos.h ?? def.h, autoPosition: pos.x === undefined, minW: 2, minH: 2 });
    this.placed.set(def.id, { def, item, view, titleEl });
  }

  private unplace(id: string): void {
    const p = this.placed.get(id);
    if (!p) return;
    p.view.dispose();
    this.grid.removeWidget(p.item, true, false);
    this.placed.delete(id);
  }

  private menuItems(id: string) {
    const p = this.placed.get(id)!;
    const node = (p.item as GridItemHTMLElement).gridstackNode as GridStackNode;
    const resize = (dw: number, dh: number) => () => {
      this.grid.batchUpdate();
      if (dw) this.resizeInRow(node, dw);
      else this.grid.update(p.item, { h: Math.max(2, (node.h ?? 1) + dh) });
      this.grid.compact();
      this.grid.batchUpdate(false);
      this.persist();
    };
    const items = [];
    if (p.view.hasChart()) {
      items.push({ label: p.view.showTable ? t("showChart") : t("showTable"), action: () => { p.view.showTable = !p.view.showTable; p.view.applyView(); } });
    }
    items.push({ label: t("downloadCsv"), action: () => download(this.hooks.csvName(id), p.view.csv(this.hooks.csvContext())) });
    // Phones show one column in board order: resizing would change nothing visible, only the desktop layout.
    if (!this.narrow.matches) {
      items.push(
        { label: t("wider"), action: resize(1, 0), disabled: (node.w ?? 0) >= COLUMNS },
        { label: t("narrower"), action: resize(-1, 0), disabled: (node.w ?? 0) <= 2 },
        { label: t("taller"), action: resize(0, 1) },
        { label: t("shorter"), action: resize(0, -1), disabled: (node.h ?? 0) <= 2 },
      );
    }
    items.push({ label: t("removeWidget"), action: () => this.remove(id) });
    return items;
  }

  /** One column wider or narrower without holes: the widget beside it in the row gives up (or takes) that column
   *  when it can, so the row stays full; otherwise the grid is compacted after the change. */
  private resizeInRow(node: GridStackNode, dw: number): void {
    const x = node.x ?? 0, w = node.w ?? 1, y = node.y ?? 0, hgt = node.h ?? 1;
    const w2 = Math.max(2, Math.min(COLUMNS, w + dw));
    if (w2 === w) return;
    const sameRow = (n: GridStackNode) => n !== node && (n.y ?? 0) < y + hgt && y < (n.y ?? 0) + (n.h ?? 1);
    const nodes = this.grid.engine.nodes;
    const right = nodes.find((n) => sameRow(n) && n.x === x + w);
    const left = nodes.find((n) => sameRow(n) && (n.x ?? 0) + (n.w ?? 1) === x);
    const neighbour = right ?? left;
    const fits = neighbour && (dw < 0 || (neighbour.w ?? 1) > 2);
    if (neighbour?.el && fits) {
      if (neighbour === right) {
        // shrink first when growing (so nothing overlaps), grow last when shrinking
        if (dw > 0) this.grid.update(neighbour.el, { x: (neighbour.x ?? 0) + dw, w: (neighbour.w ?? 1) - dw });
        this.grid.update(node.el!, { w: w2 });
        if (dw < 0) this.grid.update(neighbour.el, { x: (neighbour.x ?? 0) + dw, w: (neighbour.w ?? 1) - dw });
      } else {
        if (dw > 0) this.grid.update(neighbour.el, { w: (neighbour.w ?? 1) - dw });
        this.grid.update(node.el!, { x: x - dw, w: w2 });
        if (dw < 0) this.grid.update(neighbour.el, { w: (neighbour.w ?? 1) - dw });
      }
      return;
    }
    this.grid.update(node.el!, { w: w2 });
  }

  remove(id: string): void {
    const title = t(this.placed.get(id)!.def.title);
    this.persist();
    this.saved.removed = [...new Set([...this.saved.removed, id])];
    this.unplace(id);
    this.grid.compact();
    this.persist();
    this.hooks.announce(t("widgetRemoved", { title }));
    (document.querySelector(".add-widget .menu-btn, .add-widget button") as HTMLElement | null)?.focus();
  }

  /** Widgets the marketer removed (that can be added back). */
  removedWidgets(): WidgetDef[] {
    return this.defs.filter((d) => this.saved.removed.includes(d.id));
  }

  addBack(id: string): void {
    this.saved.removed = this.saved.removed.filter((x) => x !== id);
    this.saved.items = this.saved.items.filter((i) => i.id !== id); // place it where there is room
    if (this.doc) this.sync(this.doc);
    this.persist();
    const def = this.defs.find((d) => d.id === id)!;
    this.hooks.announce(t("widgetAdded", { title: t(def.title) }));
    this.placed.get(id)?.item.querySelector<HTMLElement>(".menu-btn")?.focus();
  }

  reset(): void {
    localStorage.removeItem(this.key);
    for (const id of [...this.placed.keys()]) this.unplace(id);
    this.saved = { items: defaultLayout(this.defs), removed: [] };
    if (this.doc) this.sync(this.doc, true);
    this.hooks.announce(t("layoutReset"));
  }

  relabel(): void { if (this.doc) this.sync(this.doc, true); }

  destroy(): void {
    this.narrow.removeEventListener("change", this.onNarrow);
    for (const p of this.placed.values()) p.view.dispose();
    this.placed.clear();
    this.grid.destroy(true);
  }
}
