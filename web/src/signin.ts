// The sign-in screens: email and password, a first sign-in's new password, a TOTP code, a forgotten
// password (code by email), and, behind a link, a development API key.
import { ApiError, call, getApiUrl, getCognitoConfig } from "./api";
import { labelled } from "./controls";
import { clear, h } from "./dom";
import { t } from "./i18n";
import type { MessageKey } from "./messages";
import {
  answerChallenge, endSession, finishPasswordReset, type NextStep, signInWithKey, signInWithPassword, startPasswordReset,
} from "./session";

export interface SignInOptions {
  message?: string;
  langSelect: () => HTMLElement;
  onSignedIn: () => void;
}

type Screen = "password" | "newPassword" | "totp" | "forgot" | "reset" | "key";

/** What Cognito's error names mean to the person at the form (the service's own message otherwise). */
export function explain(e: unknown): string {
  const err = e as { name?: string; message?: string };
  const known: Record<string, MessageKey> = {
    NotAuthorizedException: "authWrongPassword", UserNotFoundException: "authWrongPassword",
    InvalidPasswordException: "authWeakPassword", CodeMismatchException: "authBadCode", ExpiredCodeException: "authExpiredCode",
    LimitExceededException: "authTooMany", TooManyRequestsException: "authTooMany", TooManyFailedAttemptsException: "authTooMany",
    EmptySignInUsername: "authEmailNeeded", EmptySignInPassword: "authPasswordNeeded",
  };
  const key = err?.name ? known[err.name] : undefined;
  if (key === "authWrongPassword" && /temporary password has expired/i.test(err.message ?? "")) return t("authTempExpired");
  if (key) return t(key);
  if (err?.name === "NetworkError" || err instanceof TypeError) return t("cannotReach", { url: getCognitoConfig()?.endpoint ?? "Cognito" });
  return err?.message || String(e);
}

export class SignIn {
  private email = "";
  private form!: HTMLFormElement;
  private error!: HTMLElement;

  constructor(private main: HTMLElement, private opts: SignInOptions) {}

  show(screen: Screen = getCognitoConfig() ? "password" : "key", note = ""): void {
    clear(this.main);
    this.main.className = "signin-page";
    this.error = h("p", { class: "error", role: "alert", text: note ? "" : this.opts.message ?? "" });
    this.opts.message = "";
    const info = h("p", { class: "notice", role: "status", text: note });
    info.hidden = !note;
    this.form = h("form", { class: "signin", "aria-labelledby": "signin-title", "data-screen": screen },
      h("h1", { id: "signin-title", text: t("appTitle") }));
    const build: Record<Screen, () => HTMLElement[]> = {
      password: () => this.passwordScreen(), newPassword: () => this.newPasswordScreen(), totp: () => this.totpScreen(),
      forgot: () => this.forgotScreen(), reset: () => this.resetScreen(), key: () => this.keyScreen(),
    };
    this.form.append(info, ...build[screen](), this.error);
    this.main.append(this.form);
    (this.form.querySelector("input:not([type=hidden])") as HTMLInputElement | null)?.focus();
  }

  private input(id: string, type: string, autocomplete: string, value = ""): HTMLInputElement {
    return h("input", { id, type, autocomplete, required: true, spellcheck: "false", value });
  }

  private link(text: string, go: () => void, cls = ""): HTMLElement {
    const b = h("button", { type: "button", class: `link-btn ${cls}`.trim(), text });
    b.addEventListener("click", go);
    return b;
  }

  /** Runs a step with the button disabled and the error shown in place. */
  private onSubmit(step: () => Promise<void>): void {
    this.form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const button = this.form.querySelector("button[type=submit]") as HTMLButtonElement;
      button.disabled = true;
      this.form.setAttribute("aria-busy", "true");
      this.error.textContent = "";
      try {
        await step();
      } catch (err) {
        this.error.textContent = explain(err);
        (this.form.querySelector("input[aria-invalid=true], input") as HTMLInputElement | null)?.focus();
      } finally {
        button.disabled = false;
        this.form.removeAttribute("aria-busy");
      }
    });
  }

  private next(step: NextStep): void {
    if (step === "done") { this.opts.onSignedIn(); return; }
    if (step === "resetPassword") { void startPasswordReset(this.email).then(() => this.show("reset", t("authCodeSent"))); return; }
    this.show(step);
  }

  private passwordScreen(): HTMLElement[] {
    const email = this.input("email", "email", "username", this.email);
    const password = this.input("password", "password", "current-password");
    this.onSubmit(async () => {
      this.email = email.value.trim();
      this.next(await signInWithPassword(this.email, password.value));
    });
    return [h("h2", { text: t("signInTitle") }), labelled(t("email"), email), labelled(t("password"), password),
      h("div", { class: "row" }, h("button", { type: "submit", class: "primary", text: t("signIn") }), this.opts.langSelect()),
      h("div", { class: "row links" }, this.link(t("forgotPassword"), () => { this.email = email.value.trim(); this.show("forgot"); }, "forgot"),
        this.link(t("useKey"), () => this.show("key"), "use-key"))];
  }

  private passwordPair(): [HTMLInputElement, HTMLInputElement, HTMLElement[]] {
    const first = this.input("new-password", "password", "new-password");
    const second = this.input("confirm-password", "password", "new-password");
    first.setAttribute("aria-describedby", "password-rules");
    return [first, second, [labelled(t("newPassword"), first), labelled(t("confirmPassword"), second),
      h("p", { id: "password-rules", class: "muted", text: t("passwordRules") })]];
  }

  private checkPair(first: HTMLInputElement, second: HTMLInputElement): void {
    second.setAttribute("aria-invalid", first.value === second.value ? "false" : "true");
    if (first.value !== second.value) throw Object.assign(new Error(t("passwordsDiffer")), { name: "PasswordsDiffer" });
  }

  private newPasswordScreen(): HTMLElement[] {
    const [first, second, fields] = this.passwordPair();
    this.onSubmit(async () => { this.checkPair(first, second); this.next(await answerChallenge(first.value)); });
    return [h("h2", { text: t("choosePassword") }), h("p", { class: "muted", text: t("choosePasswordHelp") }), ...fields,
      h("button", { type: "submit", class: "primary", text: t("savePassword") })];
  }

  private totpScreen(): HTMLElement[] {
    const code = this.input("totp", "text", "one-time-code");
    code.inputMode = "numeric";
    this.onSubmit(async () => this.next(await answerChallenge(code.value.trim())));
    return [h("h2", { text: t("totpTitle") }), labelled(t("totpCode"), code), h("button", { type: "submit", class: "primary", text: t("signIn") })];
  }

  private forgotScreen(): HTMLElement[] {
    const email = this.input("email", "email", "username", this.email);
    this.onSubmit(async () => {
      this.email = email.value.trim();
      const where = await startPasswordReset(this.email);
      this.show("reset", t("authCodeSentTo", { where: where || this.email }));
    });
    return [h("h2", { text: t("forgotPassword") }), h("p", { class: "muted", text: t("forgotHelp") }), labelled(t("email"), email),
      h("div", { class: "row" }, h("button", { type: "submit", class: "primary", text: t("sendCode") }),
        this.link(t("backToSignIn"), () => this.show("password")))];
  }

  private resetScreen(): HTMLElement[] {
    const code = this.input("reset-code", "text", "one-time-code");
    const [first, second, fields] = this.passwordPair();
    this.onSubmit(async () => {
      this.checkPair(first, second);
      await finishPasswordReset(this.email, code.value.trim(), first.value);
      this.show("password", t("passwordChanged"));
    });
    return [h("h2", { text: t("resetTitle") }), labelled(t("resetCode"), code), ...fields,
      h("div", { class: "row" }, h("button", { type: "submit", class: "primary", text: t("savePassword") }),
        this.link(t("backToSignIn"), () => this.show("password")))];
  }

  private keyScreen(): HTMLElement[] {
    const input = h("input", { id: "read-key", type: "password", autocomplete: "off", required: true, spellcheck: "false" });
    this.onSubmit(async () => {
      await endSession();
      signInWithKey(input.value.trim());
      try {
        await call("GET", "/v1/campaigns");
      } catch (err) {
        await endSession();
        throw new Error(err instanceof ApiError ? t("badKey") : t("cannotReach", { url: getApiUrl() }));
      }
      this.opts.onSignedIn();
    });
    const out: HTMLElement[] = [h("h2", { text: t("keySignInTitle") }), h("p", { class: "muted", text: t("signInHelp") }),
      labelled(t("readKey"), input),
      h("div", { class: "row" }, h("button", { type: "submit", class: "primary", text: t("signIn") }), this.opts.langSelect())];
    if (getCognitoConfig()) out.push(h("div", { class: "row links" }, this.link(t("backToSignIn"), () => this.show("password"), "use-password")));
    return out;
  }
}
