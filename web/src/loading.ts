// "Loading…" over the dimmed numbers while a new range, window or execution filter is on its way: the board
// keeps the numbers it shows (and the period line keeps naming them) until the new report is drawn.
import { h } from "./dom";
import { t } from "./i18n";

export class Loading {
  /** The view asked for and not drawn yet ("" when none). */
  pending = "";
  readonly note = h("p", { class: "loading-note", role: "status", hidden: true, text: t("loadingView") });

  constructor(private panel: () => Element | null, private board: () => HTMLElement | undefined) {}

  start(view: string): void {
    this.pending = view;
    this.board()?.classList.add("loading");
    this.panel()?.setAttribute("aria-busy", "true");
    this.note.hidden = false;
  }

  /** The view drawn: done if it is the one asked for. */
  drawn(view: string): void { if (this.pending === view) this.stop(); }

  stop(): void {
    this.pending = "";
    this.board()?.classList.remove("loading");
    this.panel()?.removeAttribute("aria-busy");
    this.note.hidden = true;
  }
}
