// The header's "who am I": the signed-in person (or key), the workspace (a chooser when there are several) and the role.
import { labelled } from "./controls";
import { h } from "./dom";
import { t } from "./i18n";
import { menuButton } from "./menu";
import type { MessageKey } from "./messages";
import type { Me, Workspace } from "./session";

function roleLabel(ws: Workspace): string {
  return ws.role ? t(`role_${ws.role}` as MessageKey) : t("role_key");
}

export function identityBlock(me: Me, current: Workspace, switched: (ws: string) => void, announce: (m: string) => void,
  renamed: (me: Me, message: string) => void = () => undefined): HTMLElement {
  // A key has no person to name: its workspace and the "API key" badge say it all (the id is on hover).
  const who = me.kind === "user" ? (me.display_name || me.email) : `${t("role_key")} ${me.key_id ?? ""}`.trim();
  // A person's name opens their account menu (their name, two-step verification).
  const person = me.kind === "user" ? menuButton({ label: `${t("accountMenu")}: ${me.email || who}`, text: who, className: "who-name",
    items: () => [{ label: me.email, action: () => undefined, disabled: true },
      // loaded on first use: the QR code library is not part of every page load
      { label: t("nameMenu"), action: () => void import("./profile").then((m) => m.openNameDialog(me, renamed)) },
      { label: t("mfaMenu"), action: () => void import("./mfa").then((m) => m.openMfaDialog(me.email, announce)) }] }) : null;
  let place: HTMLElement;
  if (me.workspaces.length > 1) {
    const sel = h("select", { id: "workspace" });
    for (const ws of me.workspaces) sel.append(h("option", { value: ws.workspace, selected: ws.workspace === current.workspace, text: ws.workspace }));
    sel.addEventListener("change", () => switched(sel.value));
    place = labelled(t("workspace"), sel);
  } else {
    place = h("span", { class: "who-workspace", title: t("workspace"), text: current.workspace });
  }
  return h("div", { class: "who", "aria-label": t("signedInAs", { who }), role: "group", title: me.kind === "key" ? who : null },
    person, place, h("span", { class: `role-badge role-${current.role ?? "key"}`, "data-role": current.role ?? "key", text: roleLabel(current) }));
}

/** Signed in, but in no workspace: say so, and offer to sign out. */
export function noWorkspaceNote(me: Me, signOut: () => void): HTMLElement {
  const button = h("button", { type: "button", class: "secondary signout", text: t("signOut") });
  button.addEventListener("click", signOut);
  return h("div", { class: "signin no-workspace", role: "alert" },
    h("h1", { text: t("appTitle") }), h("p", { text: t("noWorkspace", { email: me.email }) }), button);
}

/** A link to a workspace the caller is not in: say which, and offer the caller's own workspaces
 *  (or signing out, to sign in as someone who is in it). Nothing of that workspace was read. */
export function notMemberNote(me: Me, wanted: string, open: (ws: string) => void, signOut: () => void): HTMLElement {
  const key = me.kind === "key";
  const list = h("ul", { class: "ws-choices" });
  for (const ws of me.workspaces) {
    const b = h("button", { type: "button", class: "secondary", "data-workspace": ws.workspace, text: t("openWorkspace", { ws: ws.workspace }) });
    b.addEventListener("click", () => open(ws.workspace));
    list.append(h("li", {}, b, " ", h("span", { class: "muted small", text: roleLabel(ws) })));
  }
  const out = h("button", { type: "button", class: "link-btn signout", text: t("signOut") });
  out.addEventListener("click", signOut);
  return h("div", { class: "signin not-member", "data-workspace": wanted },
    h("h1", { text: t("appTitle") }),
    h("p", { class: "error", role: "alert", text: key ? t("keyNotInWorkspace", { ws: wanted, own: me.workspaces[0]?.workspace ?? "" })
      : t("notMember", { ws: wanted }) }),
    h("p", { text: me.workspaces.length ? t(key ? "keyNotInHelp" : "notMemberHelp", { ws: wanted }) : t("noWorkspace", { email: me.email }) }),
    list, out);
}
