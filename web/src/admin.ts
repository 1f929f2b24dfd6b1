// The admin page of a workspace (?view=admin): members, API keys, webhook sources and the audit list.
// Each section loads its own list and shows its own error, so one failing call never blanks the others;
// every action refreshes the audit list. Names, emails, labels and audit details are the callers' text:
// they only ever go in as textContent (dom.h), never as HTML. API shapes: docs/accounts.md ("API").
import "./admin.css";
import { ApiError, call, Unreachable } from "./api";
import { sourcesSection } from "./adminSources";
import { button, copyText, detailText, row, section, table, when } from "./adminTables";
import { labelled } from "./controls";
import { h } from "./dom";
import { getLang, wording } from "./i18n";
import type { Me } from "./session";

/** The workspace the page manages, the caller (GET /v1/me) and the page's screen-reader announcer. */
export interface AdminContext { workspace: string; me: Me; announce: (msg: string) => void }
interface Member { user_id: string; email: string; display_name: string; role: string; added_at: number | string; added_by: string }
interface Invitation { invitation_id: string; email: string; role: string; display_name: string; invited_at: number; expires_at: number }
interface Key { key_id: string; scopes: string[]; label: string; created_at: number | string; revoked: boolean }
interface AuditEntry { id: string; at: number | string; actor: { kind: string; id: string; email: string }; action: string; target: string; detail: unknown }

const ROLES = ["viewer", "editor", "admin"] as const;
const KEY_SCOPES = ["ingest", "read", "manage", "admin"] as const;
const AUDIT_PAGE = 50;

const TEXT = {
  en: { admin: "Admin", back: "← Back to reports", title: "Administration — {ws}",
    intro: "Members, API keys, webhook sources and the audit list of this workspace.",
    denied: "You need the admin role in workspace “{ws}” to manage its members, API keys and webhook sources. Ask one of its admins.",
    loadFailed: "Could not load this list: {message}", unreachable: "the API cannot be reached; try again in a moment.",
    retry: "Retry", actions: "Actions", created: "Created", label: "Label",
    members: "Members", email: "Email", displayName: "Display name", role: "Role", added: "Added", you: "(you)",
    roleOf: "Role of {who}", remove: "Remove", removeWho: "Remove {who}", confirmRemove: "Remove {who} from the workspace?",
    removed: "{who} was removed from the workspace.", roleChanged: "{who} is now {role}.", noMembers: "No member yet.",
    invite: "Invite a member", displayNameOpt: "Display name (optional, for a new account)", inviteBtn: "Invite",
    invited: "Invitation sent to {who}: they join the workspace once they accept it.", emailLanguage: "Email language",
    invitations: "Pending invitations", expires: "Expires", cancel: "Cancel", cancelWho: "Cancel the invitation of {who}",
    confirmCancel: "Cancel the invitation of {who}? The link in their email will no longer let them join.",
    cancelled: "The invitation of {who} was cancelled.", noInvitations: "No pending invitation.",
    invitationsHint: "People join when they accept their invitation after signing in; it expires after 7 days.",
    role_viewer: "viewer", role_editor: "editor", role_admin: "admin",
    roles: "Viewers read reports; editors also manage alert rules and email reports; admins also manage members, keys and sources.",
    keys: "API keys", keyId: "Key id", scopes: "Scopes", status: "Status", active: "Active", revoked: "Revoked",
    revoke: "Revoke", revokeWho: "Revoke key {id}", confirmRevoke: "Revoke the key {id} ({label})? Programs using it are refused at once.",
    keyRevoked: "Key {id} revoked.", noKeys: "No API key yet.", noActiveKeys: "No active API key.", thisKey: "(this key)",
    ownKey: "It is the key this page is signed in with: the page stops working until you sign in with another one.",
    showRevoked: "Show the {n} revoked key(s)", hideRevoked: "Hide the revoked keys", newKey: "Create a key", scopesLegend: "Scopes (at least one)",
    scope_ingest: "post events (producers, relays)", scope_read: "read reports, campaigns and alerts",
    scope_manage: "alert rules, email reports and webhook sources", scope_admin: "members, API keys and the audit list",
    createKey: "Create key", needScope: "Choose at least one scope.", keyCreated: "Key {id} created: copy it now.",
    newKeyValue: "New key {id}", once: "Copy this key now: it will not be shown again.", copy: "Copy", copied: "Key copied to the clipboard.",
    copyFailed: "Could not copy: select the key and copy it yourself.", done: "Done",
    audit: "Audit", when: "When", who: "Who", action: "Action", target: "Target", detail: "Detail", loadMore: "Load more",
    noAudit: "No admin action yet.", keyActor: "key {id}", auditHint: "Admin actions of the workspace, newest first." },
  fr: { admin: "Admin", back: "← Retour aux rapports", title: "Administration — {ws}",
    intro: "Membres, clés d’API, sources de webhooks et journal d’audit de cet espace.",
    denied: "Il faut le rôle admin dans l’espace « {ws} » pour gérer ses membres, clés d’API et sources de webhooks. Demandez-le à l’un de ses admins.",
    loadFailed: "Impossible de charger cette liste : {message}", unreachable: "l’API est injoignable ; réessayez dans un instant.",
    retry: "Réessayer", actions: "Actions", created: "Créée le", label: "Libellé",
    members: "Membres", email: "E-mail", displayName: "Nom affiché", role: "Rôle", added: "Ajouté le", you: "(vous)",
    roleOf: "Rôle de {who}", remove: "Retirer", removeWho: "Retirer {who}", confirmRemove: "Retirer {who} de l’espace ?",
    removed: "{who} a été retiré(e) de l’espace.", roleChanged: "{who} est maintenant {role}.", noMembers: "Aucun membre pour l’instant.",
    invite: "Inviter un membre", displayNameOpt: "Nom affiché (facultatif, pour un nouveau compte)", inviteBtn: "Inviter",
    invited: "Invitation envoyée à {who} : la personne rejoint l’espace quand elle l’accepte.", emailLanguage: "Langue de l’e-mail",
    invitations: "Invitations en attente", expires: "Expire le", cancel: "Annuler", cancelWho: "Annuler l’invitation de {who}",
    confirmCancel: "Annuler l’invitation de {who} ? Son e-mail ne lui permettra plus de rejoindre l’espace.",
    cancelled: "L’invitation de {who} a été annulée.", noInvitations: "Aucune invitation en attente.",
    invitationsHint: "Les personnes rejoignent l’espace en acceptant leur invitation après connexion ; elle expire au bout de 7 jours.",
    role_viewer: "lecteur", role_editor: "éditeur", role_admin: "admin",
    roles: "Les lecteurs consultent les rapports ; les éditeurs gèrent aussi les alertes et les rapports par e-mail ; les admins gèrent aussi membres, clés et sources.",
    keys: "Clés d’API", keyId: "Identifiant", scopes: "Droits", status: "État", active: "Active", revoked: "Révoquée",
    revoke: "Révoquer", revokeWho: "Révoquer la clé {id}", confirmRevoke: "Révoquer la clé {id} ({label}) ? Les programmes qui l’utilisent sont refusés aussitôt.",
    keyRevoked: "Clé {id} révoquée.", noKeys: "Aucune clé d’API pour l’instant.", noActiveKeys: "Aucune clé d’API active.", thisKey: "(cette clé)",
    ownKey: "C’est la clé avec laquelle cette page est connectée : la page ne fonctionnera plus avant une connexion avec une autre clé.",
    showRevoked: "Afficher les {n} clé(s) révoquée(s)", hideRevoked: "Masquer les clés révoquées", newKey: "Créer une clé", scopesLegend: "Droits (au moins un)",
    scope_ingest: "envoyer des événements (producteurs, relais)", scope_read: "lire rapports, campagnes et alertes",
    scope_manage: "règles d’alerte, rapports par e-mail et sources de webhooks", scope_admin: "membres, clés d’API et journal d’audit",
    createKey: "Créer la clé", needScope: "Choisissez au moins un droit.", keyCreated: "Clé {id} créée : copiez-la maintenant.",
    newKeyValue: "Nouvelle clé {id}", once: "Copiez cette clé maintenant : elle ne sera plus jamais affichée.", copy: "Copier", copied: "Clé copiée dans le presse-papiers.",
    copyFailed: "Copie impossible : sélectionnez la clé et copiez-la vous-même.", done: "Terminé",
    audit: "Audit", when: "Quand", who: "Qui", action: "Action", target: "Cible", detail: "Détail", loadMore: "Afficher plus",
    noAudit: "Aucune action d’administration pour l’instant.", keyActor: "clé {id}", auditHint: "Actions d’administration de l’espace, les plus récentes d’abord." },
};
type TextKey = keyof typeof TEXT.en;
/** The admin page's wording in the current language. */
export const adminText = wording<TextKey>(TEXT);
const tx = adminText;
const enc = encodeURIComponent;

// ---------- who is calling ----------
/** Does the caller hold the `admin` scope in the workspace? */
export function isAdmin(me: Me | null, workspace: string | undefined): boolean {
  return !!me?.workspaces.some((w) => w.workspace === workspace && w.scopes.includes("admin"));
}

/** What a failed call says: the API's own message (it names the refusal: last admin, already a member, the bad field). */
function errorText(e: unknown): string {
  if (e instanceof Unreachable) return tx("unreachable");
  if (e instanceof ApiError) return e.message;
  return e instanceof Error ? e.message : String(e);
}
const roleLabel = (r: string) => (ROLES as readonly string[]).includes(r) ? tx(`role_${r}` as TextKey) : r;

function roleSelect(value: string, attrs: Record<string, string> = {}): HTMLSelectElement {
  const sel = h("select", attrs);
  for (const r of ROLES) sel.append(h("option", { value: r, text: roleLabel(r) }));
  sel.value = value;
  return sel;
}

/** Loads a list into a section: a generation counter drops answers overtaken by a newer load. */
function loader<T>(s: ReturnType<typeof section>, fetch: () => Promise<T>, draw: (data: T) => void): () => Promise<void> {
  let generation = 0;
  const load = async () => {
    const mine = ++generation;
    s.body.setAttribute("aria-busy", "true");
    try {
      const data = await fetch();
      if (mine === generation) draw(data);
    } catch (e) {
      if (mine !== generation) return;
      s.body.replaceChildren(h("p", { class: "error admin-load-error", role: "alert", text: tx("loadFailed", { message: errorText(e) }) }),
        button(tx("retry"), "secondary", null, () => void load()));
    } finally {
      if (mine === generation) s.body.removeAttribute("aria-busy");
    }
  };
  return load;
}

/** Empties a section's messages (its forms' too): only the last action's outcome stays on screen. */
function clearLines(s: ReturnType<typeof section>): void {
  for (const el of s.el.querySelectorAll(".admin-error, .admin-note, .admin-form-error, .admin-form-status")) el.textContent = "";
}

/** Runs an action of a section: clears its lines, shows the refusal, or confirms and refreshes. */
async function act(s: ReturnType<typeof section>, ctx: AdminContext, work: () => Promise<string>, after: () => void): Promise<boolean> {
  clearLines(s);
  try {
    const done = await work();
    s.note.textContent = done;
    ctx.announce(done);
    after();
    return true;
  } catch (e) {
    s.error.textContent = errorText(e);
    return false;
  }
}

// ---------- the page ----------
export function renderAdmin(slot: HTMLElement, ctx: AdminContext): void {
  const page = h("div", { class: "admin-page" }, h("h2", { class: "admin-title", tabindex: "-1", text: tx("title", { ws: ctx.workspace }) }));
  slot.replaceChildren(page);
  if (!isAdmin(ctx.me, ctx.workspace)) {
    page.append(h("p", { class: "admin-denied", role: "alert", text: tx("denied", { ws: ctx.workspace || "—" }) }));
    return;
  }
  page.append(h("p", { class: "muted admin-intro", text: tx("intro") }));
  const audit = auditSection();
  page.append(membersSection(ctx, audit.reload), keysSection(ctx, audit.reload),
    sourcesSection(ctx, audit.reload, { loader, act, errorText }), audit.el);
}

function membersSection(ctx: AdminContext, changed: () => void): DocumentFragment {
  const s = section("members", tx("members"), h("p", { class: "muted small", text: tx("roles") }));
  const load = loader(s, () => call<{ members: Member[] }>("GET", "/v1/members"), ({ members }) => {
    s.body.replaceChildren(table(tx("members"), [tx("email"), tx("displayName"), tx("role"), tx("added"), tx("actions")],
      members.map(memberRow), tx("noMembers")));
  });
  const memberRow = (m: Member): HTMLTableRowElement => {
    const you = !!ctx.me.user_id && ctx.me.user_id === m.user_id;
    const sel = roleSelect(m.role, { class: "role-select", "aria-label": tx("roleOf", { who: m.email }) });
    sel.addEventListener("change", async () => {
      const to = sel.value;
      sel.disabled = true;
      const ok = await act(s, ctx, async () => {
        m.role = (await call<Member>("PATCH", `/v1/members/${enc(m.user_id)}`, { role: to })).role;
        return tx("roleChanged", { who: m.email, role: roleLabel(m.role) });
      }, changed);
      if (!ok) sel.value = m.role; // refused (last admin…): the select says what is true
      sel.disabled = false;
    });
    const remove = button(tx("remove"), "secondary small admin-remove", tx("removeWho", { who: m.email }), () => {
      if (!window.confirm(tx("confirmRemove", { who: m.email }))) return;
      void act(s, ctx, async () => {
        await call("DELETE", `/v1/members/${enc(m.user_id)}`);
        return tx("removed", { who: m.email });
      }, () => { void load(); changed(); });
    });
    const email = h("span", { class: "admin-email" }, m.email, you ? h("strong", { class: "admin-you", text: ` ${tx("you")}` }) : null);
    return row({ "data-user": m.user_id, "data-email": m.email }, email, m.display_name, sel, when(m.added_at), remove);
  };
  // the invitation form; the API's refusal (409 already_member, 422 invalid) is shown beside it
  const email = h("input", { type: "email", name: "email", required: true, maxlength: 254, autocomplete: "off", spellcheck: "false" });
  const name = h("input", { type: "text", name: "display_name", maxlength: 100, autocomplete: "off" });
  const role = roleSelect("viewer", { name: "role" });
  // the invitee's language when the admin knows it; the admin's own by default
  const language = h("select", { name: "language" }, h("option", { value: "en", text: "English" }), h("option", { value: "fr", text: "Français" }));
  language.value = getLang();
  const error = h("p", { class: "error admin-form-error", role: "alert" });
  const status = h("p", { class: "admin-form-status", role: "status" });
  const form = h("form", { class: "admin-form invite-form", "aria-label": tx("invite") },
    h("h4", { text: tx("invite") }),
    h("div", { class: "row" }, labelled(tx("email"), email, "grow"), labelled(tx("displayNameOpt"), name, "grow"), labelled(tx("role"), role),
      labelled(tx("emailLanguage"), language), h("button", { type: "submit", class: "primary", text: tx("inviteBtn") })),
    error, status);
  const pending = invitationsList(ctx, changed);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearLines(s);
    const body: Record<string, string> = { email: email.value.trim(), role: role.value, language: language.value };
    if (name.value.trim()) body.display_name = name.value.trim();
    try {
      const inv = await call<Invitation>("POST", "/v1/members", body);
      status.textContent = tx("invited", { who: inv.email });
      ctx.announce(status.textContent);
      form.reset();
      language.value = getLang();
      void pending.load();
      changed();
    } catch (err) {
      error.textContent = errorText(err);
      email.focus();
    }
  });
  s.el.append(form);
  void load();
  const both = document.createDocumentFragment(); // the pending invitations follow the members, as their own section
  both.append(s.el, pending.el);
  return both;
}

/** Invitations nobody has answered yet, each with Cancel (GET/DELETE /v1/invitations). */
function invitationsList(ctx: AdminContext, changed: () => void): { el: HTMLElement; load: () => Promise<void> } {
  const s = section("invitations", tx("invitations"), h("p", { class: "muted small", text: tx("invitationsHint") }));
  const load = loader(s, () => call<{ invitations: Invitation[] }>("GET", "/v1/invitations"), ({ invitations }) => {
    s.body.replaceChildren(table(tx("invitations"), [tx("email"), tx("role"), tx("added"), tx("expires"), tx("actions")],
      invitations.map(invitationRow), tx("noInvitations")));
  });
  const invitationRow = (inv: Invitation): HTMLTableRowElement => {
    const cancel = button(tx("cancel"), "secondary small admin-cancel", tx("cancelWho", { who: inv.email }), () => {
      if (!window.confirm(tx("confirmCancel", { who: inv.email }))) return;
      void act(s, ctx, async () => {
        await call("DELETE", `/v1/invitations/${enc(inv.invitation_id)}`);
        return tx("cancelled", { who: inv.email });
      }, () => { void load(); changed(); });
    });
    return row({ "data-invitation": inv.invitation_id, "data-email": inv.email }, inv.email, roleLabel(inv.role),
      when(inv.invited_at), when(inv.expires_at), cancel);
  };
  void load();
  return { el: s.el, load };
}

function keysSection(ctx: AdminContext, changed: () => void): HTMLElement {
  const s = section("keys", tx("keys"));
  const reveal = h("div", { class: "key-reveal-slot" });
  s.body.before(reveal);
  // Revoked keys are kept (the audit names them) but folded away: the active ones are what an admin acts on.
  let keys: Key[] = [];
  let showRevoked = false;
  const draw = (): void => {
    const revoked = keys.filter((k) => k.revoked).length;
    const shown = keys.filter((k) => showRevoked || !k.revoked);
    const toggle = revoked ? button(tx(showRevoked ? "hideRevoked" : "showRevoked", { n: revoked }), "link-btn keys-revoked-toggle", null, () => {
      showRevoked = !showRevoked;
      draw();
      s.body.querySelector<HTMLElement>(".keys-revoked-toggle")?.focus();
    }) : null;
    toggle?.setAttribute("aria-expanded", String(showRevoked));
    s.body.replaceChildren(table(tx("keys"), [tx("label"), tx("keyId"), tx("scopes"), tx("created"), tx("status"), tx("actions")],
      shown.map(keyRow), tx(keys.length ? "noActiveKeys" : "noKeys")), toggle ?? "");
  };
  const load = loader(s, () => call<{ keys: Key[] }>("GET", "/v1/keys"), (body) => {
    keys = body.keys.sort((a, b) => Number(a.revoked) - Number(b.revoked) || Number(b.created_at) - Number(a.created_at));
    draw();
  });
  const keyRow = (k: Key): HTMLTableRowElement => {
    const own = ctx.me.kind === "key" && ctx.me.key_id === k.key_id;
    const revoke = k.revoked ? "" : button(tx("revoke"), "secondary small admin-revoke", tx("revokeWho", { id: k.key_id }), () => {
      const question = tx("confirmRevoke", { id: k.key_id, label: k.label || "—" });
      if (!window.confirm(own ? `${question}\n\n${tx("ownKey")}` : question)) return;
      void act(s, ctx, async () => {
        await call("DELETE", `/v1/keys/${enc(k.key_id)}`);
        return tx("keyRevoked", { id: k.key_id });
      }, () => { void load(); changed(); });
    });
    const label = h("span", {}, k.label, own ? h("strong", { class: "admin-you", text: ` ${tx("thisKey")}` }) : null);
    return row({ "data-key-id": k.key_id, "data-revoked": String(k.revoked) }, label, h("code", { text: k.key_id }), k.scopes.join(", "),
      when(k.created_at), h("span", { class: k.revoked ? "key-status revoked" : "key-status active", text: tx(k.revoked ? "revoked" : "active") }), revoke);
  };
  /** The new key, shown once: a read-only input with Copy, gone on "Done" or when the page redraws. */
  const showKey = (id: string, key: string) => {
    const input = h("input", { type: "text", readonly: true, value: key, class: "key-value", spellcheck: "false", autocomplete: "off" });
    const copied = h("span", { class: "small", role: "status" });
    const box = h("div", { class: "key-reveal", "data-key-id": id },
      h("p", { class: "key-warning", text: tx("once") }),
      h("div", { class: "row" }, labelled(tx("newKeyValue", { id }), input, "grow"),
        button(tx("copy"), "secondary key-copy", null, async () => { copied.textContent = tx(await copyText(input) ? "copied" : "copyFailed"); }),
        button(tx("done"), "secondary key-done", null, () => { reveal.replaceChildren(); form.querySelector<HTMLElement>("input")?.focus(); })),
      copied);
    reveal.replaceChildren(box);
    input.focus();
    input.select();
  };
  const label = h("input", { type: "text", name: "label", maxlength: 100, autocomplete: "off" });
  const boxes = KEY_SCOPES.map((sc) => h("input", { type: "checkbox", name: "scope", value: sc }));
  const scopes = h("fieldset", { class: "key-scopes" }, h("legend", { text: tx("scopesLegend") }),
    ...KEY_SCOPES.map((sc, i) => labelled(`${sc} — ${tx(`scope_${sc}` as TextKey)}`, boxes[i], "check")));
  const error = h("p", { class: "error admin-form-error", role: "alert" });
  const form = h("form", { class: "admin-form key-form", "aria-label": tx("newKey") },
    h("h4", { text: tx("newKey") }), labelled(tx("label"), label, "key-label"), scopes, error,
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary", text: tx("createKey") })));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearLines(s);
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    if (!chosen.length) { error.textContent = tx("needScope"); boxes[0].focus(); return; }
    try {
      const k = await call<Key & { key: string }>("POST", "/v1/keys", { scopes: chosen, ...(label.value.trim() ? { label: label.value.trim() } : {}) });
      form.reset();
      ctx.announce(tx("keyCreated", { id: k.key_id }));
      showKey(k.key_id, k.key);
      void load();
      changed();
    } catch (err) {
      error.textContent = errorText(err);
    }
  });
  s.el.append(form);
  void load();
  return s.el;
}

function auditSection(): { el: HTMLElement; reload: () => void } {
  const s = section("audit", tx("audit"), h("p", { class: "muted small", text: tx("auditHint") }));
  const rows: HTMLTableRowElement[] = [];
  let next: string | null = null;
  let before: string | null = null; // the page being asked for: null is the newest
  const entryRow = (e: AuditEntry): HTMLTableRowElement => {
    const who = e.actor.email || (e.actor.kind === "key" ? tx("keyActor", { id: e.actor.id }) : e.actor.id);
    return row({ "data-audit-id": e.id, "data-action": e.action }, when(e.at), h("span", { class: "audit-who", text: who }),
      h("code", { text: e.action }), h("code", { text: e.target }),
      h("span", { class: "audit-detail", text: detailText(e.detail) }));
  };
  const load = loader(s, () => {
    const q = new URLSearchParams({ limit: String(AUDIT_PAGE) });
    if (before) q.set("before", before);
    return call<{ entries: AuditEntry[]; next: string | null }>("GET", `/v1/audit?${q}`);
  }, (body) => {
    if (!before) rows.length = 0; // the newest page replaces the list, "Load more" appends
    rows.push(...body.entries.map(entryRow));
    next = body.next;
    more.hidden = !next;
    s.body.replaceChildren(table(tx("audit"), [tx("when"), tx("who"), tx("action"), tx("target"), tx("detail")], rows, tx("noAudit")), more);
  });
  const from = (cursor: string | null) => { before = cursor; void load(); };
  const more = button(tx("loadMore"), "secondary audit-more", null, () => from(next));
  from(null);
  return { el: s.el, reload: () => from(null) };
}
