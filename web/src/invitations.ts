// Invitations waiting for the signed-in person (GET /v1/me `invitations`): a banner above the reports, or the
// whole screen of someone in no workspace yet, with Accept / Decline each. Nobody joins a workspace without
// accepting here. Inviters' names are other people's text: they only go in as textContent (dom.h).
import { ApiError, call } from "./api";
import { h } from "./dom";
import { fmtDateTime, wording } from "./i18n";
import type { Invitation, Me } from "./session";

const TEXT = {
  en: { title: "Invitations", one: "{inviter} invited you to the workspace “{ws}” as {role}.",
    until: "Until {date}", accept: "Accept", decline: "Decline", acceptWs: "Accept the invitation to {ws}",
    declineWs: "Decline the invitation to {ws}", confirmDecline: "Decline the invitation to “{ws}”? An admin of it would have to invite you again.",
    joined: "You joined “{ws}”.", declined: "Invitation to “{ws}” declined.", failed: "That did not work: {message}",
    role_viewer: "viewer", role_editor: "editor", role_admin: "admin", someone: "An admin" },
  fr: { title: "Invitations", one: "{inviter} vous invite dans l’espace « {ws} » avec le rôle {role}.",
    until: "Jusqu’au {date}", accept: "Accepter", decline: "Refuser", acceptWs: "Accepter l’invitation à {ws}",
    declineWs: "Refuser l’invitation à {ws}", confirmDecline: "Refuser l’invitation à « {ws} » ? Un de ses admins devrait vous inviter à nouveau.",
    joined: "Vous avez rejoint « {ws} ».", declined: "Invitation à « {ws} » refusée.", failed: "Échec : {message}",
    role_viewer: "lecteur", role_editor: "éditeur", role_admin: "admin", someone: "Un admin" },
};
type Key = keyof typeof TEXT.en;
const tx = wording<Key>(TEXT);

export interface InvitationHandlers {
  /** The person joined `workspace`: the page switches to it (after refreshing the session's token). */
  joined: (workspace: string, message: string) => void;
  /** Declined: the page redraws with what is left. */
  declined: (me: Me, message: string) => void;
}

function roleText(role: string): string {
  return ["viewer", "editor", "admin"].includes(role) ? tx(`role_${role}` as Key) : role;
}

/** One row per invitation, with its two buttons; `null` when there is none. */
export function invitationsBlock(me: Me, handlers: InvitationHandlers): HTMLElement | null {
  const list = me.invitations ?? [];
  if (!list.length) return null;
  const error = h("p", { class: "error invitation-error", role: "alert" });
  const items = list.map((inv) => invitationItem(inv, error, handlers));
  return h("section", { class: "invitations", "aria-label": tx("title") },
    h("ul", { class: "invitation-list" }, ...items), error);
}

function invitationItem(inv: Invitation, error: HTMLElement, handlers: InvitationHandlers): HTMLElement {
  const ws = inv.workspace;
  const accept = h("button", { type: "button", class: "primary invitation-accept", "aria-label": tx("acceptWs", { ws }), text: tx("accept") });
  const decline = h("button", { type: "button", class: "secondary invitation-decline", "aria-label": tx("declineWs", { ws }), text: tx("decline") });
  const busy = (on: boolean) => { accept.disabled = on; decline.disabled = on; };
  const answer = async (verb: "accept" | "decline") => {
    error.textContent = "";
    busy(true);
    try {
      const me = await call<Me>("POST", `/v1/me/invitations/${encodeURIComponent(ws)}/${verb}`, {});
      if (verb === "accept") handlers.joined(ws, tx("joined", { ws }));
      else handlers.declined(me, tx("declined", { ws }));
    } catch (e) {
      error.textContent = tx("failed", { message: e instanceof ApiError || e instanceof Error ? e.message : String(e) });
      busy(false);
    }
  };
  accept.addEventListener("click", () => void answer("accept"));
  decline.addEventListener("click", () => { if (window.confirm(tx("confirmDecline", { ws }))) void answer("decline"); });
  return h("li", { class: "invitation", "data-workspace": ws },
    h("p", { class: "invitation-text", text: tx("one", { inviter: inv.inviter || tx("someone"), ws, role: roleText(inv.role) }) }),
    h("p", { class: "muted small", text: tx("until", { date: fmtDateTime(inv.expires_at * 1000) }) }),
    h("div", { class: "row" }, accept, decline));
}
