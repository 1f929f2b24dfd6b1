// Two-step verification (TOTP) for the signed-in person: turn it on with an authenticator app
// (QR code or key, then a first code), or off. Cognito asks for a code at every sign-in once it is on.
import { fetchMFAPreference, setUpTOTP, updateMFAPreference, verifyTOTPSetup } from "@aws-amplify/auth";
import QRCode from "qrcode";
import { labelled } from "./controls";
import { clear, h } from "./dom";
import { t } from "./i18n";
import { explain } from "./signin";

const ISSUER = "Campaign live reports";

/** The dialog; `announce` tells screen readers what changed once it closes. */
export function openMfaDialog(email: string, announce: (message: string) => void): void {
  const dialog = h("dialog", { class: "mfa-dialog", "aria-labelledby": "mfa-title" });
  const body = h("div", { class: "mfa-body" });
  const error = h("p", { class: "error", role: "alert" });
  const close = h("button", { type: "button", class: "secondary", "data-close": "1", text: t("close") });
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => dialog.remove());
  dialog.append(h("h2", { id: "mfa-title", text: t("mfaTitle") }), body, error, h("div", { class: "row" }, close));
  document.body.append(dialog);
  dialog.showModal();

  const fail = (e: unknown) => { error.textContent = explain(e); };
  const showOn = () => {
    clear(body);
    const off = h("button", { type: "button", class: "secondary mfa-off", text: t("mfaTurnOff") });
    off.addEventListener("click", async () => {
      if (!window.confirm(t("mfaTurnOffConfirm"))) return;
      try {
        await updateMFAPreference({ totp: "DISABLED" });
        announce(t("mfaIsOff"));
        showOff();
      } catch (e) { fail(e); }
    });
    body.append(h("p", { class: "mfa-state", "data-state": "on", text: t("mfaIsOn") }), off);
  };
  const showOff = () => {
    clear(body);
    const start = h("button", { type: "button", class: "primary mfa-start", text: t("mfaTurnOn") });
    start.addEventListener("click", () => void enrol());
    body.append(h("p", { class: "mfa-state", "data-state": "off", text: t("mfaIsOffHelp") }), start);
  };
  const enrol = async () => {
    error.textContent = "";
    let secret: string, uri: string;
    try {
      const details = await setUpTOTP();
      secret = details.sharedSecret;
      uri = details.getSetupUri(ISSUER, email).toString();
    } catch (e) { fail(e); return; }
    clear(body);
    const canvas = h("canvas", { class: "mfa-qr", role: "img", "aria-label": t("mfaQrLabel") });
    void QRCode.toCanvas(canvas, uri, { width: 180, margin: 1 }).catch(() => { canvas.hidden = true; });
    const code = h("input", { id: "mfa-code", type: "text", inputmode: "numeric", autocomplete: "one-time-code", required: true,
      pattern: "[0-9]{6}", maxlength: "6", spellcheck: "false" });
    const form = h("form", { class: "mfa-verify" }, labelled(t("mfaFirstCode"), code),
      h("button", { type: "submit", class: "primary", text: t("mfaVerify") }));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      error.textContent = "";
      try {
        await verifyTOTPSetup({ code: code.value.trim() });
        await updateMFAPreference({ totp: "PREFERRED" });
        announce(t("mfaIsOn"));
        showOn();
      } catch (err) { fail(err); code.focus(); }
    });
    body.append(h("p", { text: t("mfaScan") }), canvas,
      h("p", { class: "muted", text: t("mfaKeyInstead") }),
      h("code", { class: "mfa-secret", text: secret.replace(/(.{4})/g, "$1 ").trim() }), form);
    code.focus();
  };

  void fetchMFAPreference()
    .then((pref) => (pref.enabled?.includes("TOTP") ? showOn() : showOff()))
    .catch((e) => { showOff(); fail(e); });
}
