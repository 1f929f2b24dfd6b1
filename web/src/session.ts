// Who the page acts as: a person signed in to the Cognito user pool (Amplify Auth: SRP, refresh tokens,
// tokens in local storage so every tab shares the session), or a development API key (this tab only).
import { Amplify } from "@aws-amplify/core";
import {
  confirmResetPassword, confirmSignIn, fetchAuthSession, resetPassword, signIn, signOut, type SignInOutput,
} from "@aws-amplify/auth";
import { cognitoUserPoolsTokenProvider } from "@aws-amplify/auth/cognito";
import { api, call, type CampaignSummary, type CognitoConfig, getCognitoConfig, getKey, keyCredentials, setCredentialSource, setKey } from "./api";

const WORKSPACE_STORAGE = "clr.workspace";

export interface Workspace { workspace: string; role: "viewer" | "editor" | "admin" | null; scopes: string[] }
/** An invitation the signed-in person may accept or decline (GET /v1/me). */
export interface Invitation { workspace: string; role: string; inviter: string; invited_at: number; expires_at: number }
/** GET /v1/me: the caller, the workspaces it may act in and (people) the invitations waiting for an answer. */
export interface Me {
  kind: "user" | "key"; user_id?: string; key_id?: string; email: string; display_name: string; workspaces: Workspace[];
  invitations?: Invitation[];
}

/** What the sign-in form does next after a step of the Cognito flow. */
export type NextStep = "done" | "newPassword" | "totp" | "resetPassword";

let configured = false;
let userSignedIn = false;

/** Set up Amplify once, when config.json names a user pool. */
export function configureAccounts(): boolean {
  const cfg: CognitoConfig | null = getCognitoConfig();
  if (!cfg) return false;
  if (!configured) {
    const auth = { Cognito: { userPoolId: cfg.userPoolId, userPoolClientId: cfg.clientId,
      ...(cfg.endpoint ? { userPoolEndpoint: cfg.endpoint } : {}) } };
    // What aws-amplify's own configure does for the Auth category: the token provider keeps, refreshes and shares tokens.
    cognitoUserPoolsTokenProvider.setAuthConfig(auth);
    Amplify.configure({ Auth: auth }, { Auth: { tokenProvider: cognitoUserPoolsTokenProvider } });
    configured = true;
  }
  return true;
}

/** The access token, refreshed with the refresh token when it has expired; null when there is no live session. */
async function accessToken(): Promise<string | null> {
  if (!configured) return null;
  try {
    const session = await fetchAuthSession();
    return session.tokens?.accessToken?.toString() ?? null;
  } catch {
    return null; // refresh refused (revoked, expired): the session is over
  }
}

/** The email claim of the ID token (access tokens carry none). */
async function idTokenEmail(): Promise<string> {
  try {
    return String((await fetchAuthSession()).tokens?.idToken?.payload?.email ?? "");
  } catch {
    return "";
  }
}

/** New tokens now: the API caches what a token may do for a minute, so a workspace just joined
 *  is only usable at once with a fresh token. */
export async function refreshSession(): Promise<void> {
  if (!configured) return;
  try {
    await fetchAuthSession({ forceRefresh: true });
  } catch {
    // the next call finds out whether the session is still alive
  }
}

// The workspace this tab acts in lives in memory, so a link to another workspace opened in a second tab
// never changes what the first one reads; local storage only remembers the last choice for new tabs.
let active: string | null = null;
export function chosenWorkspace(): string | null { return active ?? localStorage.getItem(WORKSPACE_STORAGE); }
export function chooseWorkspace(ws: string): void { active = ws; localStorage.setItem(WORKSPACE_STORAGE, ws); }

/** Every API call of a signed-in person carries the access token and the chosen workspace. */
async function userCredentials(): Promise<Record<string, string>> {
  const headers: Record<string, string> = {};
  const token = await accessToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const ws = chosenWorkspace();
  if (ws) headers["X-Workspace"] = ws;
  return headers;
}

/** Does this browser hold a person's session (whether or not it can still be refreshed)? */
function storedSession(): boolean {
  return Object.keys(localStorage).some((k) => k.startsWith("CognitoIdentityServiceProvider.") && k.endsWith(".refreshToken"));
}

/** Is someone signed in (a person's live session in this browser, or a key in this tab)?
 *  "expired": a session was there but its refresh was refused; its leftovers are cleared. */
export async function resume(): Promise<"user" | "key" | "expired" | null> {
  if (getKey()) { setCredentialSource(keyCredentials); return "key"; }
  if (!configureAccounts()) return null;
  const had = storedSession();
  if (await accessToken()) {
    userSignedIn = true;
    setCredentialSource(userCredentials);
    return "user";
  }
  if (!had) return null;
  await signOut().catch(() => undefined);
  return "expired";
}

export function isUser(): boolean { return userSignedIn; }

function stepOf(out: SignInOutput): NextStep {
  switch (out.nextStep.signInStep) {
    case "DONE": return "done";
    case "CONFIRM_SIGN_IN_WITH_NEW_PASSWORD_REQUIRED": return "newPassword";
    case "CONFIRM_SIGN_IN_WITH_TOTP_CODE": return "totp";
    case "RESET_PASSWORD": return "resetPassword";
    default: throw new Error(`unsupported sign-in step ${out.nextStep.signInStep}`);
  }
}

function started(step: NextStep): NextStep {
  if (step === "done") { userSignedIn = true; setCredentialSource(userCredentials); }
  return step;
}

/** Email and password (SRP unless config.json says otherwise: the password never leaves the browser). */
export async function signInWithPassword(email: string, password: string): Promise<NextStep> {
  configureAccounts();
  setKey(null);
  const input = { username: email, password, options: { authFlowType: getCognitoConfig()?.authFlow ?? "USER_SRP_AUTH" } };
  try {
    return started(stepOf(await signIn(input)));
  } catch (e) {
    if ((e as Error).name !== "UserAlreadyAuthenticatedException") throw e;
    await signOut(); // a stale session of someone else in this browser
    return started(stepOf(await signIn(input)));
  }
}

/** The answer to the pending challenge: the new password of a first sign-in, or a TOTP code. */
export async function answerChallenge(response: string): Promise<NextStep> {
  return started(stepOf(await confirmSignIn({ challengeResponse: response })));
}

/** Sends a code to the user's email; where it went (masked) for the form to say. */
export async function startPasswordReset(email: string): Promise<string> {
  configureAccounts();
  const out = await resetPassword({ username: email });
  return out.nextStep.codeDeliveryDetails?.destination ?? "";
}

export async function finishPasswordReset(email: string, code: string, password: string): Promise<void> {
  await confirmResetPassword({ username: email, confirmationCode: code, newPassword: password });
}

export function signInWithKey(key: string): void {
  setKey(key);
  setCredentialSource(keyCredentials);
}

/** Ends the session: a key is forgotten; a person's refresh token is revoked (RevokeToken) and every tab's tokens cleared. */
export async function endSession(): Promise<void> {
  active = null;
  setKey(null);
  setCredentialSource(keyCredentials);
  if (userSignedIn || (configured && await accessToken())) {
    userSignedIn = false;
    await signOut().catch(() => undefined); // Amplify removes the tokens even when the revocation call fails
  }
}

/** Who is calling and where the page acts: `wanted` (a link's `ws`) when the caller is in it, else the
 *  workspace kept from last time (or, on a first visit, one with campaigns). `refused`: the link named a
 *  workspace the caller is not in (nothing of it was read); `campaigns`: the workspace's list when
 *  choosing it already fetched it (else null). */
export async function whoAmI(wanted: string | null = null): Promise<{
  me: Me; workspace: Workspace | null; campaigns: CampaignSummary[] | null; refused: string | null;
}> {
  const me = await call<Me>("GET", "/v1/me");
  if (me.kind === "user" && !me.email) me.email = await idTokenEmail(); // a non-member: the API knows no email for them
  if (wanted) {
    const named = me.workspaces.find((w) => w.workspace === wanted) ?? null;
    if (named && me.kind === "user") chooseWorkspace(named.workspace);
    return { me, workspace: named, campaigns: null, refused: named ? null : wanted };
  }
  const saved = chosenWorkspace();
  const kept = me.workspaces.find((w) => w.workspace === saved);
  if (kept || me.kind !== "user") {
    if (kept && me.kind === "user") chooseWorkspace(kept.workspace);
    return { me, workspace: kept ?? me.workspaces[0] ?? null, campaigns: null, refused: null };
  }
  const found = await firstWithCampaigns(me.workspaces);
  const workspace = found?.workspace ?? me.workspaces[0] ?? null;
  if (workspace) chooseWorkspace(workspace.workspace);
  return { me, workspace, campaigns: found?.campaigns ?? null, refused: null };
}

/** Which of the caller's other workspaces hold `campaign` (at most five asked): where a link without `ws`
 *  probably points. Asked with each workspace named explicitly, never by switching this tab. */
export async function workspacesWith(campaign: string, me: Me, current: string): Promise<string[]> {
  if (me.kind !== "user") return []; // a key sees one workspace
  const others = me.workspaces.filter((w) => w.workspace !== current && w.scopes.includes("read")).slice(0, 5);
  const hits = await Promise.all(others.map(async (w) => {
    try {
      const list = await call<{ campaigns: CampaignSummary[] }>("GET", "/v1/campaigns", undefined, true, 15000,
        { "X-Workspace": w.workspace });
      return list.campaigns.some((c) => c.campaign_id === campaign) ? w.workspace : null;
    } catch {
      return null;
    }
  }));
  return hits.filter((w): w is string => w !== null);
}

/** A first visit lands in a workspace that has something to show (of the first few), not an empty one. */
async function firstWithCampaigns(list: Workspace[]): Promise<{ workspace: Workspace; campaigns: CampaignSummary[] } | null> {
  if (list.length < 2) return null;
  for (const workspace of list.slice(0, 5).filter((w) => w.scopes.includes("read"))) {
    chooseWorkspace(workspace.workspace);
    try {
      const campaigns = await api.campaigns();
      if (campaigns.length) return { workspace, campaigns };
    } catch {
      // unreachable or refused: try the next
    }
  }
  return null;
}

/** Another tab signed out (Amplify's access token left local storage; a refresh only overwrites it):
 *  this one follows at once, before a report of its own can come back 401 for want of a token. */
export function onSignedOutElsewhere(handler: () => void): void {
  window.addEventListener("storage", (e) => {
    if (!userSignedIn || e.storageArea !== localStorage) return;
    if (e.key === null || (e.key.startsWith("CognitoIdentityServiceProvider.") && e.key.endsWith(".accessToken") && !e.newValue)) {
      userSignedIn = false;
      setCredentialSource(keyCredentials);
      handler();
    }
  });
}
