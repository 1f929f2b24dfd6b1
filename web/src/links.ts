// What the page says about the workspace and the time zone a link names: dates read in the link's zone
// (with a way back to the person's own), and why there is no report to draw (a campaign the workspace
// does not have, none chosen, an empty workspace), each with a way on.
import type { CampaignSummary } from "./api";
import { h } from "./dom";
import { setTimeZone, t } from "./i18n";
import { workspacesWith, type Me } from "./session";
import { knownZone, type LinkExtras, type State } from "./state";

/** How the page came to its view: the person's own zone (a link's never replaces it), a link's zone the
 *  browser does not know, whether the address named the campaign, a switch of workspace under way. */
export class LinkContext {
  ownTz: string;
  badTz: string | null = null;
  /** The person chose another workspace: a campaign it lacks is cleared, and said. */
  switching = false;
  private named = false; // the address named the campaign: a workspace without it says so, never shows another
  private noneChosen = false; // no campaign on purpose (cleared by a switch): none is picked for the person
  private elsewhere = { key: "", list: [] as string[] };

  constructor(savedTz: string | undefined) {
    this.ownTz = savedTz && knownZone(savedTz) ? savedTz : Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  }

  /** The view an address names, into `state`, read in its zone (else the person's own). */
  apply(state: State, v: Partial<State> & LinkExtras): void {
    const { badTz, ...view } = v;
    this.badTz = badTz ?? null;
    this.named = !!view.campaign;
    Object.assign(state, view, { tz: view.tz ?? this.ownTz });
    setTimeZone(state.tz);
  }

  /** The campaign the workspace shows: the one named when the workspace has it; a link's campaign it lacks stays
   *  named (the page then says it has no events there); after a switch, one it lacks is cleared; else (a first
   *  visit, preferences) its most recent. Returns what to announce. */
  pick(state: State, campaigns: CampaignSummary[]): string {
    const named = state.campaign, ws = state.ws ?? "";
    const has = !!named && campaigns.some((c) => c.campaign_id === named);
    const switched = this.switching;
    this.switching = false;
    this.noneChosen = false;
    if (switched) {
      if (named && has) return t("switchedKept", { ws, campaign: named });
      this.named = false;
      this.noneChosen = true;
      state.campaign = null;
      return named ? t("switchedCleared", { ws, campaign: named }) : t("noCampaignChosen", { ws });
    }
    if (!has && !(named && this.named)) state.campaign = campaigns[0]?.campaign_id ?? null;
    return "";
  }

  /** The person picked a campaign. */
  chosen(): void { this.noneChosen = false; }

  /** A workspace without campaigns got its first: shown, unless the person was left with none on purpose. */
  first(list: CampaignSummary[]): string | null { return !this.noneChosen && list.length ? list[0].campaign_id : null; }

  /** The person's other workspaces where `campaign` has events, asked once per (workspace, campaign);
   *  `found` runs when the answer brings some. */
  elsewhereOf(me: Me | null, ws: string, campaign: string, found: () => void): string[] {
    const key = `${ws}|${campaign}`;
    if (this.elsewhere.key === key) return this.elsewhere.list;
    this.elsewhere = { key, list: [] };
    if (me) {
      void workspacesWith(campaign, me, ws).then((list) => {
        if (this.elsewhere.key !== key || !list.length) return;
        this.elsewhere.list = list;
        found();
      });
    }
    return [];
  }
}

/** "Dates in Europe/Paris, the time zone of the link. [Use my time zone (America/New_York)]": shown while
 *  the page reads dates in another zone than the person's own; or why a link's zone was ignored. */
export function tzNote(tz: string, own: string, badTz: string | null, useMine: () => void): HTMLElement {
  const note = h("p", { class: "tz-note", "data-tz": tz });
  if (badTz) {
    note.append(t("tzBadLink", { bad: badTz, tz }));
  } else if (tz !== own) {
    note.append(t("tzFromLink", { tz }), " ",
      h("button", { type: "button", class: "link-btn tz-mine", "data-tz": own, text: t("tzUseMine", { tz: own }), onClick: useMine }));
  } else {
    note.hidden = true;
  }
  return note;
}

export interface NoReport {
  ws: string;
  campaign: string | null;
  /** The workspace has campaigns (when none is chosen). */
  any: boolean;
  /** Other workspaces of the person where the named campaign has events. */
  elsewhere: string[];
  openPicker: () => void;
  openIn: (ws: string) => void;
}

/** Why there is no report, as [text, kind, extra controls] for the page's note in place of the board. */
export function noReportNote(n: NoReport): [string, string, HTMLElement[]] {
  if (!n.campaign) {
    return n.any ? [t("noCampaignChosen", { ws: n.ws }), "no-campaign", []]
      : [t("noCampaignsInWorkspace", { ws: n.ws }), "empty-workspace", []];
  }
  const extra: HTMLElement[] = [h("span", { class: "note-help", text: ` ${t("campaignMissingHelp")} ` }),
    h("button", { type: "button", class: "secondary open-picker", text: t("chooseCampaign"), onClick: n.openPicker })];
  if (n.elsewhere.length) {
    const list = h("span", { class: "note-elsewhere" }, h("span", { text: t("campaignElsewhere") }));
    for (const ws of n.elsewhere) {
      list.append(" ", h("button", { type: "button", class: "secondary open-in", "data-workspace": ws,
        text: t("openCampaignIn", { campaign: n.campaign, ws }), onClick: () => n.openIn(ws) }));
    }
    extra.push(list);
  }
  return [t("campaignMissing", { campaign: n.campaign, ws: n.ws }), "campaign-missing", extra];
}
