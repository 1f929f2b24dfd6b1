// The page: sign-in, toolbar, tabs, the board of the current tab, the refresh loop and its states.
import { adminText, isAdmin, renderAdmin } from "./admin";
import { AlertsUi } from "./alerts";
import { api, ApiError, type CampaignSummary, type Doc, getLiveRefreshSeconds, getSafetySeconds, getSocketUrl } from "./api";
import { Board, layoutKey } from "./board";
import { campaignPicker, labelled, scrollCue, tabList } from "./controls";
import { clear, h } from "./dom";
import { fmtDateTime, getLang, setLang, setTimeZone, t, timeZones } from "./i18n";
import type { Lang } from "./messages";
import { LiveSocket } from "./live";
import { Poller } from "./refresh";
import { Loading } from "./loading";
import { GLOBAL_TABS, loadPrefs, savePrefs, type State, type Tab, TABS, viewFromUrl, viewKey, writeUrl } from "./state";
import { latestText, periodSpan, periodText } from "./status";
import { identityBlock, notMemberNote, noWorkspaceNote } from "./identity";
import { invitationsBlock } from "./invitations";
import { LinkContext, noReportNote, tzNote } from "./links";
import { endSession, isUser, type Me, onSignedOutElsewhere, refreshSession, resume, whoAmI, type Workspace } from "./session";
import { SignIn } from "./signin";
import { renderToolbar, showRangeError } from "./toolbar";
import { widgetsFor } from "./widgets/defs";
import { ExperimentTab, experimentChannels } from "./experiment";
import { EXPERIMENT_WIDGETS, type ExperimentDoc } from "./widgets/experiment";

const PANEL_ID = "tab-panel";

export class App {
  private state: State;
  private campaigns: CampaignSummary[] = [];
  private board: Board | null = null;
  private doc: Doc | null = null;
  private available: (string | null)[] = [];
  private withData = new Set<string>();
  private lastUpdated = 0;
  private manage = false; // the caller may create and list email reports
  private joinedMessage = ""; // "You joined …", said once the workspace just joined is drawn
  private me: Me | null = null; // who is signed in (GET /v1/me)
  private workspace: Workspace | null = null; // the workspace the page acts in, with the caller's role and scopes
  private previous: { view: string; at: number; doc: Doc | null } = { view: "", at: 0, doc: null };
  private loading = new Loading(() => this.els.main?.querySelector("[role=tabpanel]") ?? null, () => this.els.boardSlot);
  private shownRange = { from: "", to: "" }; // the global range the board shows (restored when a new one fails)
  private csvPeriod = ""; // the period the board shows, for CSV files (no label, no comparison)
  private generation = 0;
  private refreshes = 0;
  private poller: Poller;
  private live: LiveSocket; // says when a fold changed the campaign shown (the poll slows down meanwhile)
  private refreshMs: number;
  private root: HTMLElement;
  private urlNamedTab = false;
  private links: LinkContext; // the person's own zone, what the address named, a workspace switch under way
  private els: Record<string, HTMLElement> = {};
  private exp = new ExperimentTab({
    state: () => this.state, campaign: () => this.current(), board: () => this.board,
    canManage: () => !!this.workspace?.scopes.includes("manage"),
    changed: (push) => { this.navigated(push); this.poller.now(); },
    announce: (m) => { this.els.announcer.textContent = m; },
  });
  private alerts = new AlertsUi(() => ({ campaign: this.state.campaign, tab: this.state.tab,
    channels: this.campaigns.find((c) => c.campaign_id === this.state.campaign)?.channels ?? [] }));

  constructor(root: HTMLElement, refreshMs: number) {
    this.root = root;
    const prefs = loadPrefs();
    this.links = new LinkContext(prefs.tz);
    this.state = {
      ws: null, campaign: prefs.campaign ?? null, tab: (TABS as readonly string[]).includes(prefs.tab ?? "") ? prefs.tab as Tab : "campaign",
      mode: prefs.mode === "global" ? "global" : "live", window: prefs.window === "1h" ? "1h" : "24h",
      executions: null, from: "", to: "", lang: prefs.lang === "fr" ? "fr" : (prefs.lang === "en" ? "en" : (navigator.language.startsWith("fr") ? "fr" : "en")),
      tz: this.links.ownTz, machine: prefs.machine === true,
    };
    const fromUrl = viewFromUrl();
    this.urlNamedTab = !!fromUrl.tab;
    this.links.apply(this.state, fromUrl);
    window.addEventListener("popstate", () => this.walked());
    setLang(this.state.lang);
    this.poller = new Poller(() => this.refresh(), refreshMs, {
      onUnreachable: (ms) => this.showUnreachable(ms),
      onError: (e) => this.showError(e),
      onPause: () => this.tickStatus(),
    }, () => (this.state.campaign ? api.stamp(this.state.campaign) : Promise.resolve(null)));
    this.refreshMs = refreshMs;
    this.live = new LiveSocket(getSocketUrl(), {
      changed: (_campaign, stamp) => this.poller.now(stamp),
      state: () => { this.cadence(); this.tickStatus(); },
    });
    document.addEventListener("visibilitychange", () => { if (document.hidden) this.live.close(); });
    window.setInterval(() => this.tickStatus(), 1000);
  }

  async start(): Promise<void> {
    onSignedOutElsewhere(() => this.signedOut(t("signedOutElsewhere")));
    const who = await resume();
    if (who === "user" || who === "key") void this.enter(); else this.renderSignIn(who === "expired" ? t("sessionExpired") : "");
  }

  // ---------- sign-in ----------
  private renderSignIn(message = "", note = ""): void {
    this.stopRefresh();
    this.board?.destroy();
    this.board = null;
    this.me = null;
    clear(this.root);
    const main = h("main", { id: "main" });
    this.root.append(main);
    new SignIn(main, { message, langSelect: () => this.langSelect(), onSignedIn: () => void this.enter() })
      .show(undefined, note);
  }

  /** Signed out: the next person to sign in lands in a workspace of their own, not the one left in the address. */
  private signedOut(note: string): void {
    this.doc = null;
    this.state.ws = null;
    writeUrl(this.state, false);
    this.renderSignIn("", note);
  }

  private async signOut(): Promise<void> {
    this.stopRefresh();
    this.me = null; // a report still in flight must not answer (with a 401) for a page that signed out
    await endSession();
    this.signedOut(t("signedOut"));
  }

  /** Back/forward (and a pasted link in the same tab) restore the view the address names, workspace included. */
  private walked(): void {
    const ws = this.state.ws;
    Object.assign(this.state, { executions: null, from: "", to: "" });
    const v = viewFromUrl();
    this.links.apply(this.state, v);
    this.doc = null;
    this.available = [];
    if (!this.me) return;
    if (!this.workspace || (v.ws && v.ws !== ws)) { this.stopRefresh(); void this.enter(); return; }
    if (this.els.main) { this.renderShell(); this.wake(); }
  }

  /** Into the workspace the address names (else the one kept): a refused one is said, never read;
   *  `push`: a new history entry (a workspace chosen on the page). */
  private async enter(push = false): Promise<void> {
    this.generation += 1; // a report of the workspace left behind, still in flight, is not drawn
    let refused: string | null = null;
    try {
      const who = await whoAmI(this.state.ws);
      ({ me: this.me, workspace: this.workspace, refused } = who);
      this.campaigns = !this.workspace ? [] : who.campaigns ?? (this.workspace.scopes.includes("read") ? await api.campaigns() : []);
      if (this.workspace && !this.workspace.scopes.includes("read")) this.state.view = "admin"; // an admin-only key
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        const user = isUser();
        await endSession();
        this.renderSignIn(user ? t("sessionExpired") : t("badKey"));
        return;
      }
    }
    if (this.me && refused) { this.renderNotMember(this.me, refused); return; }
    if (this.me && !this.workspace) { this.renderNoWorkspace(this.me); return; }
    this.state.ws = this.workspace?.workspace ?? null;
    const said = this.links.pick(this.state, this.campaigns);
    if (!this.urlNamedTab) this.landOnData();
    writeUrl(this.state, push);
    this.manage = !!this.workspace?.scopes.includes("subscriptions");
    this.renderShell();
    if (said) this.els.announcer.textContent = said;
    if (this.joinedMessage) { this.els.announcer.textContent = this.joinedMessage; this.joinedMessage = ""; }
    this.wake();
  }

  private renderNoWorkspace(me: Me): void {
    clear(this.root);
    const note = noWorkspaceNote(me, () => void this.signOut());
    const invitations = this.invitations(me);
    if (invitations) note.querySelector("p")?.replaceWith(invitations); // invited: the answer, not "ask an admin"
    this.root.append(h("main", { id: "main", class: "signin-page" }, note));
    (note.querySelector(".invitation-accept") as HTMLElement | null)?.focus();
  }

  /** The person's pending invitations (Accept / Decline), or null. Accepting switches to the workspace with
   *  a fresh token (the API trusts a token's rights for a minute); declining redraws what is left. */
  private invitations(me: Me): HTMLElement | null {
    return invitationsBlock(me, {
      joined: (workspace, message) => void refreshSession().then(() => {
        this.joinedMessage = message; // said once the new workspace is drawn
        this.switchWorkspace(workspace);
      }),
      declined: (after, message) => {
        this.me = after;
        if (this.workspace) { this.renderShell(); this.wake(); this.els.announcer.textContent = message; return; }
        if (after.workspaces.length) { this.joinedMessage = message; this.switchWorkspace(after.workspaces[0].workspace); return; }
        this.renderNoWorkspace(after);
      },
    });
  }

  /** A link to a workspace the caller is not in: nothing of it is read; the caller's own workspaces are offered. */
  private renderNotMember(me: Me, ws: string): void {
    this.stopRefresh();
    this.board?.destroy();
    this.board = null;
    this.workspace = null;
    this.els = {};
    clear(this.root);
    const note = notMemberNote(me, ws, (w) => this.switchWorkspace(w), () => void this.signOut());
    // the invitation's own link, opened before accepting: the invitation to answer, not a refusal
    const invited = (me.invitations ?? []).some((i) => i.workspace === ws) ? this.invitations(me) : null;
    if (invited) {
      note.querySelector("p.error")?.replaceWith(invited);
      const help = note.querySelector(":scope > p");
      if (help && me.workspaces.length) help.textContent = t("invitedOrOpen"); else help?.remove();
    }
    this.root.append(h("main", { id: "main", class: "signin-page" }, note));
    (note.querySelector(".invitation-accept") as HTMLElement | null)?.focus();
  }

  /** Another workspace (the header's chooser, or "Open …"): the same campaign if it has one of that id, else
   *  none, said so; never another campaign silently. A history entry, so back returns to the workspace left. */
  private switchWorkspace(ws: string): void {
    this.stopRefresh();
    Object.assign(this.state, { ws, executions: null });
    this.links.switching = true;
    this.doc = null;
    this.available = [];
    void this.enter(true);
  }

  // ---------- shell ----------
  private langSelect(): HTMLElement {
    const sel = h("select", { id: "lang" });
    for (const [v, name] of [["en", "English"], ["fr", "Français"]]) sel.append(h("option", { value: v, selected: v === getLang(), text: name }));
    sel.addEventListener("change", () => {
      this.state.lang = sel.value as Lang;
      setLang(this.state.lang);
      this.remember();
      if (this.me && this.els.main) this.rerender(); // the board is drawn anew: fetch now (the live channel may not speak for minutes)
      else { const screen = this.root.querySelector("form.signin") as HTMLElement | null; if (screen) this.renderSignIn(); }
    });
    return labelled(t("language"), sel);
  }

  private renderShell(): void {
    this.loading = new Loading(() => this.els.main?.querySelector("[role=tabpanel]") ?? null, () => this.els.boardSlot);
    this.board?.destroy();
    this.board = null;
    clear(this.root);
    const tz = h("select", { id: "tz" });
    for (const z of timeZones()) tz.append(h("option", { value: z, selected: z === this.state.tz, text: z }));
    tz.addEventListener("change", () => { this.links.ownTz = tz.value; this.useZone(tz.value); });
    const signOut = h("button", { type: "button", class: "secondary signout", text: t("signOut") });
    signOut.addEventListener("click", () => void this.signOut());
    this.els.picker = h("div", { class: "picker-slot" });
    const header = h("header", { class: "topbar" },
      h("h1", { class: "brand", text: t("appTitle") }), this.els.picker,
      h("div", { class: "prefs" }, this.langSelect(), labelled(t("timeZone"), tz),
        identityBlock(this.me!, this.workspace!, (ws) => this.switchWorkspace(ws),
          (m) => { this.els.announcer.textContent = m; },
          (me, m) => { this.me = { ...this.me!, display_name: me.display_name }; this.renderShell(); this.wake(); this.els.announcer.textContent = m; }),
        signOut));
    this.mountAdminLink(header);
    const invitations = this.invitations(this.me!);
    if (this.state.view === "admin") { this.renderAdminPage(header); if (invitations) header.after(invitations); return; }

    this.els.controls = h("div", { class: "controls" });
    this.els.banner = h("div", { class: "banner", role: "alert", hidden: true });
    this.els.status = h("span", { class: "status", "aria-live": "off" });
    this.withData = this.dataTabs();
    this.els.tabs = tabList(this.state.tab, this.withData, PANEL_ID, (tab) => this.selectTab(tab),
      (tab) => tab !== "experiments" || this.withData.has(tab));
    this.els.empty = h("p", { class: "empty-tab", hidden: true });
    this.els.boardSlot = h("div", { class: "board-slot" });
    this.els.period = h("p", { class: "period muted", "aria-live": "off" });
    const zone = tzNote(this.state.tz, this.links.ownTz, this.links.badTz, () => this.useZone(this.links.ownTz));
    this.els.main = h("main", { id: "main", class: "main", "data-ws": this.state.ws ?? "" },
      h("div", { id: PANEL_ID, role: "tabpanel", "aria-labelledby": `tab-${this.state.tab}`, tabindex: "-1" }, zone, this.loading.note,
        this.els.period, this.exp.mount(), this.els.empty, this.els.boardSlot));
    this.els.announcer = h("div", { class: "sr-only", "aria-live": "polite", role: "status" });
    const tabsScroll = scrollCue(this.els.tabs);
    this.root.append(header, this.els.banner, h("nav", { class: "tabs-bar", "aria-label": t("tabsLabel") }, tabsScroll, this.els.controls), this.els.main, this.els.announcer);
    if (invitations) header.after(invitations);
    this.renderPicker();
    this.renderControls();
    this.alerts.mount(header, this.els.tabs);
    this.mountBoard();
    if (this.doc) this.show(this.doc);
  }

  private rerender(): void { this.renderShell(); this.poller.now(); }

  /** Read dates in `tz` (the header's chooser, or "Use my time zone"): a global range is asked again in it. */
  private useZone(tz: string): void {
    this.state.tz = tz;
    this.links.badTz = null;
    setTimeZone(tz);
    this.navigated(false);
    this.previous = { view: "", at: 0, doc: null };
    this.doc = null;
    this.rerender();
    this.els.announcer.textContent = t("tzSwitched", { tz });
  }

  /** Preferences keep the person's own zone, never one a link brought. */
  private remember(): void { savePrefs({ ...this.state, tz: this.links.ownTz }); }

  // ---------- the admin page (?view=admin, admin.ts) ----------
  /** The header's "Admin" button, for admins, on the reports only. */
  private mountAdminLink(header: HTMLElement): void {
    if (this.state.view === "admin" || !isAdmin(this.me, this.workspace?.workspace)) return;
    const link = h("button", { type: "button", class: "secondary admin-link", text: adminText("admin") });
    link.addEventListener("click", () => this.switchView("admin"));
    (header.querySelector(".prefs") ?? header).prepend(link);
  }

  /** The admin page in place of the tabs and the board; the report's refresh loop sleeps meanwhile. */
  private renderAdminPage(header: HTMLElement): void {
    this.stopRefresh();
    this.generation += 1; // a report still in flight is not drawn
    const back = h("button", { type: "button", class: "secondary reports-link", text: adminText("back") });
    back.addEventListener("click", () => this.switchView("reports"));
    const slot = h("div", { class: "admin-slot" });
    this.els.main = h("main", { id: "main", class: "main admin-main" }, h("div", { class: "admin-nav" }, back), slot);
    this.els.announcer = h("div", { class: "sr-only", "aria-live": "polite", role: "status" });
    this.root.append(header, this.els.main, this.els.announcer);
    renderAdmin(slot, { workspace: this.workspace?.workspace ?? "", me: this.me!,
      announce: (m) => { this.els.announcer.textContent = m; } });
  }

  /** Reports ⇄ admin page: a new history entry, then the new view. */
  private switchView(view: "reports" | "admin"): void {
    this.state.view = view;
    writeUrl(this.state, true);
    this.doc = null;
    this.renderShell();
    this.wake();
    this.els.main.querySelector<HTMLElement>(".admin-title, [role=tabpanel]")?.focus(); // where the new view starts
  }

  /** The report's refresh loop runs while the reports are shown. */
  private stopRefresh(): void { this.poller.stop(); this.live.close(); }

  /** While the live channel is open the report is fetched when a fold changed it, and at the latest every
   *  liveRefreshSeconds (every minute for the hour's minute chart: the window slides); the stamp is checked
   *  every safetySeconds as a safety net. Without it, the stamp is asked for every second, as before. */
  private cadence(): void {
    if (this.live.state === "live") {
      const full = Math.min(getLiveRefreshSeconds(), this.state.window === "1h" ? 60 : Infinity) * 1000;
      this.poller.setCadence(Math.min(getSafetySeconds() * 1000, full), full);
    } else {
      this.poller.setCadence(1000, this.refreshMs);
    }
  }

  private followLive(): void {
    const shown = !document.hidden && this.state.view !== "admin" && this.state.campaign && this.current();
    this.live.follow(shown ? this.state.campaign : null, this.state.ws);
    this.cadence();
  }

  private wake(): void { if (this.state.view !== "admin") this.poller.start(); }

  private current(): CampaignSummary | undefined {
    return this.campaigns.find((c) => c.campaign_id === this.state.campaign);
  }

  /** Tabs with data, known as soon as a campaign is chosen: its channel list (plus the campaign tab). */
  private dataTabs(): Set<string> {
    const channels = this.current()?.channels ?? [];
    const experiments = experimentChannels(this.current()).length ? ["experiments"] : [];
    return new Set(channels.length ? ["campaign", ...channels, ...experiments] : []);
  }

  /** Stay on the tab if it has data, else the first tab that has (a web-only campaign lands on Web). */
  private landOnData(): void {
    const tabs = this.dataTabs();
    if (!tabs.size || tabs.has(this.state.tab)) return;
    const first = TABS.find((x) => x !== "campaign" && tabs.has(x));
    this.state.tab = first ?? "campaign";
    if (this.state.mode === "global" && !GLOBAL_TABS.includes(this.state.tab)) this.state.mode = "live";
  }

  /** A new view: remembered in preferences and in the address (a history entry when `push`). */
  private navigated(push = true): void {
    this.remember();
    writeUrl(this.state, push);
  }

  private renderPicker(): void {
    clear(this.els.picker);
    this.els.picker.append(campaignPicker(this.state.campaign, this.campaigns, (id) => {
      this.state.campaign = id;
      this.links.chosen();
      this.state.executions = null;
      Object.assign(this.state, { xchannel: null, xmetric: null }); // another campaign's experiments
      this.exp.reset();
      this.available = [];
      this.landOnData();
      this.navigated();
      this.doc = null;
      this.renderShell();
      this.poller.now();
    }));
  }

  private renderControls(): void {
    if (this.state.tab === "experiments") { // its own toolbar: channel, metric, settings (no report kind or window)
      this.els.latest = this.exp.toolbar(this.els.controls, this.els.status);
      this.renderLatest();
      this.tickStatus();
      return;
    }
    this.els.latest = renderToolbar(this.els.controls, this.state, {
      setMode: (m) => this.setMode(m),
      changed: (push) => { this.navigated(push); this.loading.start(viewKey(this.state)); this.tickStatus(); this.poller.now(); },
      redraw: () => this.renderControls(),
      board: () => this.board,
      announce: (m) => { this.els.announcer.textContent = m; },
      canSubscribe: this.manage, available: this.available, status: this.els.status,
      myEmail: this.me?.kind === "user" ? this.me.email : "",
      machineChanged: () => {
        this.navigated(false);
        this.board?.rebuild();
        this.els.announcer.textContent = t(this.state.machine ? "machineOn" : "machineOff");
      },
    });
    this.renderLatest();
    this.tickStatus();
  }

  private setMode(m: State["mode"]): void {
    if (m === this.state.mode) return;
    this.state.mode = m;
    this.navigated();
    this.doc = null;
    this.renderShell();
    this.poller.now();
  }

  private mountBoard(): void {
    const { tab } = this.state;
    const experiments = tab === "experiments";
    const mode = experiments ? "live" : this.state.mode; // an experiment reads from its start, whatever the report kind
    const defs = experiments ? EXPERIMENT_WIDGETS : mode === "global" && !GLOBAL_TABS.includes(tab) ? [] : widgetsFor(tab, mode);
    const state = this.state;
    this.board = new Board(this.els.boardSlot, layoutKey(tab, mode), defs, { tab, mode, get machine() { return !!state.machine; } }, {
      announce: (m) => { this.els.announcer.textContent = m; },
      csvName: (id) => (experiments ? `${this.state.campaign}-experiment-${this.state.xchannel}-${this.state.xmetric}-${id}.csv`
        : `${this.state.campaign}-${tab}-${mode}-${id}.csv`),
      csvContext: () => ({ workspace: this.state.ws ?? "", campaign: this.state.campaign ?? "", tab: t(`tab_${tab}` as never),
        period: this.csvPeriod, timeZone: this.state.tz,
        executions: this.state.executions && !experiments ? this.state.executions.map((e) => e ?? t("noExecution")).join(", ") : t("allExecutions"),
        extra: experiments ? this.exp.csvExtra() : undefined }),
    });
  }

  private selectTab(tab: Tab): void {
    if (tab === this.state.tab) return;
    this.state.tab = tab;
    this.exp.reset();
    if (tab === "experiments") this.exp.resolve();
    this.navigated();
    this.doc = null;
    for (const b of this.els.tabs.querySelectorAll<HTMLButtonElement>("[role=tab]")) {
      const on = b.dataset.tab === tab;
      b.setAttribute("aria-selected", on ? "true" : "false");
      b.tabIndex = on ? 0 : -1;
    }
    this.els.main.querySelector("[role=tabpanel]")!.setAttribute("aria-labelledby", `tab-${tab}`);
    this.board?.destroy();
    clear(this.els.boardSlot);
    this.mountBoard();
    this.renderControls();
    this.els.empty.hidden = true;
    this.els.boardSlot.classList.add("loading");
    this.poller.now();
  }

  // ---------- data ----------
  private async refresh(): Promise<void> {
    const gen = ++this.generation;
    const { campaign, tab, mode, executions, ws } = this.state;
    void this.alerts.poll();
    this.followLive();
    if (!campaign || !this.current()) { await this.noReport(gen); return; }
    if (tab === "experiments") { await this.refreshExperiment(gen); return; }
    if (mode === "global" && !GLOBAL_TABS.includes(tab)) { this.showNote(t("globalOnly")); this.markUpdated(); return; }
    // The previous equal period doubles a report's reads: asked for at most once a minute per view.
    const view = viewKey(this.state);
    const compare = this.previous.view !== view || Date.now() - this.previous.at > 60000;
    const doc = mode === "global"
      ? await api.global(campaign, tab, this.state.from, this.state.to, this.state.tz, executions, compare)
      : await api.live(campaign, tab, executions, this.state.window, compare);
    // A view changed meanwhile (a new range or filter): its own request follows; this one is not drawn.
    if (gen !== this.generation || view !== viewKey(this.state)) return;
    if (compare) this.previous = { view, at: Date.now(), doc: (doc.previous as Doc | null) ?? null };
    else doc.previous = this.previous.doc;
    this.drawn(doc, view);
  }

  private drawn(doc: Doc, view: string): void {
    const ws = this.state.ws;
    this.doc = doc;
    this.refreshes += 1;
    if (this.state.mode === "global") this.shownRange = { from: this.state.from, to: this.state.to };
    this.show(doc);
    this.loading.drawn(view);
    this.markUpdated();
    if (this.refreshes % 3 === 0) {
      void api.campaigns().then((list) => {
        if (ws !== this.state.ws) return;
        this.campaigns = list;
        this.renderLatest();
        this.syncExperimentTab();
      }).catch(() => undefined);
    }
  }

  /** The Experimentation tab: the experiment of the channel shown (its success metric, else the one set). */
  private async refreshExperiment(gen: number): Promise<void> {
    this.exp.resolve();
    if (!experimentChannels(this.current()).length) { this.showNote(t("x_none"), "no-experiment"); this.markUpdated(); return; }
    const { campaign, ws, xchannel, xmetric } = this.state;
    const doc = await this.exp.load();
    const s = this.state;
    if (gen !== this.generation || ws !== s.ws || s.tab !== "experiments" || campaign !== s.campaign
        || xchannel !== s.xchannel || xmetric !== s.xmetric) return; // the view changed meanwhile: its own request follows
    this.drawn(doc as unknown as Doc, viewKey(this.state));
  }

  /** A campaign whose first variants arrive gets its Experimentation tab without a reload (and loses it never). */
  private syncExperimentTab(): void {
    const has = experimentChannels(this.current()).length > 0;
    const tab = this.els.tabs?.querySelector<HTMLElement>("[data-tab=experiments]");
    if (!tab) return;
    if (has) this.withData.add("experiments");
    tab.hidden = !has && this.state.tab !== "experiments";
    tab.classList.toggle("has-data", has);
  }

  /** No report to draw: the campaign named has no events in this workspace, none is chosen, or the workspace
   *  has none. Each says so (never "Loading…" forever); the list is asked again each time, so a campaign whose
   *  first events arrive shows without a reload. */
  private async noReport(gen: number): Promise<void> {
    const { campaign, ws } = this.state;
    const list = await api.campaigns();
    if (gen !== this.generation || ws !== this.state.ws || campaign !== this.state.campaign) return;
    const changed = list.map((c) => c.campaign_id).join() !== this.campaigns.map((c) => c.campaign_id).join();
    this.campaigns = list;
    if (!campaign) this.state.campaign = this.links.first(list);
    if (this.state.campaign && this.current()) {
      this.landOnData();
      writeUrl(this.state, false);
      this.renderShell();
      this.poller.now();
      return;
    }
    if (changed) this.renderPicker();
    this.showNoReport();
    this.markUpdated();
  }

  private showNoReport(): void {
    const { campaign, ws } = this.state;
    const again = () => { if (ws === this.state.ws && campaign === this.state.campaign && this.els.empty?.dataset.note === "campaign-missing") this.showNoReport(); };
    const [text, kind, extra] = noReportNote({ ws: ws ?? "", campaign, any: this.campaigns.length > 0,
      elsewhere: campaign ? this.links.elsewhereOf(this.me, ws ?? "", campaign, again) : [],
      openPicker: () => { const d = this.els.picker.querySelector("details"); if (d) { d.open = true; } },
      openIn: (w) => this.switchWorkspace(w) });
    this.showNote(text, kind, extra);
  }

  private show(doc: Doc): void {
    if (this.state.tab === "experiments") { this.showExperiment(doc as unknown as ExperimentDoc); return; }
    const avail = (doc.available_executions ?? []) as (string | null)[];
    if (JSON.stringify(avail) !== JSON.stringify(this.available)) {
      const open = (this.els.controls.querySelector(".exec-filter") as HTMLDetailsElement | null)?.open;
      this.available = avail;
      this.renderControls();
      if (open) (this.els.controls.querySelector(".exec-filter") as HTMLDetailsElement).open = true;
    }
    const tabBtn = this.els.tabs.querySelector(`[data-tab="${this.state.tab}"]`);
    tabBtn?.classList.toggle("has-data", !!doc.has_data);
    this.els.boardSlot.classList.remove("loading");
    this.renderPeriod(doc);
    if (!doc.has_data) {
      this.showNote(this.state.mode === "global" ? t("noDataGlobal") : t("noDataTab", { tab: t(`tab_${this.state.tab}` as never) }));
      return;
    }
    this.els.empty.hidden = true;
    this.els.boardSlot.hidden = false;
    this.board?.sync(doc);
  }

  private showExperiment(x: ExperimentDoc): void {
    this.exp.show(x);
    writeUrl(this.state, false); // the address names the channel and metric shown
    this.els.tabs.querySelector("[data-tab=experiments]")?.classList.toggle("has-data", x.variants.length > 0);
    this.els.boardSlot.classList.remove("loading");
    const period = this.exp.period(this.state.tz);
    if (this.els.period.textContent !== period) this.els.period.textContent = period;
    this.els.empty.hidden = true;
    this.els.boardSlot.hidden = !x.variants.length; // the summary says no one was sent a variant yet
    this.board?.sync(x as unknown as Doc);
  }

  private renderPeriod(doc: Doc): void {
    const text = periodText(doc, this.state.tz);
    if (this.els.period.textContent !== text) this.els.period.textContent = text;
    this.csvPeriod = periodSpan(doc, this.state.tz);
  }

  private renderLatest(): void {
    const el = this.els.latest;
    if (!el) return;
    const shown = this.current(); // no campaign shown (none chosen, or not in this workspace): nothing to date
    const [text, title] = shown ? latestText(shown.last_event) : ["", ""];
    if (el.textContent !== text) el.textContent = text;
    el.title = title;
  }

  private showNote(text: string, kind = "", extra: HTMLElement[] = []): void {
    this.els.empty.replaceChildren(text, ...extra);
    this.els.empty.dataset.note = kind;
    this.els.empty.hidden = false;
    this.els.boardSlot.hidden = true;
    this.els.boardSlot.classList.remove("loading");
  }

  private markUpdated(): void {
    this.lastUpdated = Date.now();
    // For tests and tools: which view the page last drew, and how many refreshes it has drawn.
    this.els.main.dataset.loaded = `${this.state.campaign}:${this.state.tab}:${this.state.mode}`;
    this.els.main.dataset.ws = this.state.ws ?? "";
    this.els.main.dataset.refreshes = String(this.refreshes);
    this.els.banner.hidden = true;
    this.els.banner.dataset.state = "ok";
    this.tickStatus();
  }

  private tickStatus(): void {
    const s = this.els.status;
    if (!s) return;
    let text = t("updating");
    if (document.hidden) text = t("paused");
    else if (this.lastUpdated && !this.loading.pending) text = t("updatedAgo", { n: Math.max(0, Math.round((Date.now() - this.lastUpdated) / 1000)) });
    const live = this.live.state;
    if (!document.hidden && !this.loading.pending && live !== "off" && live !== "connecting") {
      const n = Math.max(1, Math.ceil((this.live.retryAt - Date.now()) / 1000));
      text += ` · ${live === "live" ? t("liveOn") : t(live === "retrying" ? "liveRetrying" : "liveUnavailable", { n })}`;
    }
    s.dataset.live = live;
    if (s.textContent !== text) s.textContent = text;
    this.renderLatest();
    if (!this.els.banner.hidden && this.els.banner.dataset.state === "unreachable") this.renderUnreachable();
  }

  private showUnreachable(_ms: number): void {
    this.els.banner.dataset.state = "unreachable";
    this.els.banner.hidden = false;
    this.renderUnreachable();
  }

  private renderUnreachable(): void {
    const b = this.els.banner;
    const n = Math.max(0, Math.ceil((this.poller.nextAt - Date.now()) / 1000));
    const msg = t("unreachable", { time: this.lastUpdated ? fmtDateTime(this.lastUpdated, false) : "—", n });
    let span = b.querySelector<HTMLElement>(".banner-text");
    if (!span) {
      span = h("span", { class: "banner-text" });
      const retry = h("button", { type: "button", class: "secondary", text: t("retryNow") });
      retry.addEventListener("click", () => this.poller.now());
      b.replaceChildren(span, retry);
    }
    if (span.textContent !== msg) span.textContent = msg;
  }

  private showError(e: unknown): void {
    if (e instanceof ApiError && e.status === 401) {
      if (!this.me) return; // signed out meanwhile: the sign-in screen is already there
      const user = isUser();
      void endSession().then(() => this.renderSignIn(user ? t("sessionExpired") : t("badKey")));
      return;
    }
    const newRange = this.state.from !== this.shownRange.from || this.state.to !== this.shownRange.to;
    if (e instanceof ApiError && e.status === 400 && this.state.mode === "global" && newRange && /^(from|to|tz):/.test(e.message)) {
      // A range the API refused: said by the fields in the page's words, and the range shown comes back.
      const reason = /^to: must be after from/.test(e.message) ? t("rangeOrder") : t("rangeFailed", { reason: e.message });
      Object.assign(this.state, this.shownRange);
      writeUrl(this.state, false);
      showRangeError(this.els.controls, reason, this.state);
      this.loading.stop();
      this.tickStatus();
      this.poller.now();
      return;
    }
    this.els.banner.dataset.state = "error";
    this.els.banner.hidden = false;
    this.els.banner.replaceChildren(h("span", { class: "banner-text", text: t("apiError", { message: e instanceof Error ? e.message : String(e) }) }));
    this.loading.stop();
    this.tickStatus();
  }
}
