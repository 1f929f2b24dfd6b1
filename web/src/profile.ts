// "Your name…" in the account menu: the only way a display name changes (PATCH /v1/me). Admins can suggest a
// name when they invite someone new, never rename anyone. The name is free text: it only goes in as text.
import { ApiError, call } from "./api";
import { labelled } from "./controls";
import { h } from "./dom";
import { t } from "./i18n";
import type { Me } from "./session";

/** The dialog; `saved` receives the caller as the API now sees them. */
export function openNameDialog(me: Me, saved: (me: Me, message: string) => void): void {
  const dialog = h("dialog", { class: "name-dialog", "aria-labelledby": "name-title" });
  const input = h("input", { type: "text", id: "display-name", maxlength: 100, value: me.display_name, autocomplete: "name", spellcheck: "false" });
  const error = h("p", { class: "error", role: "alert" });
  const cancel = h("button", { type: "button", class: "secondary", text: t("close") });
  const form = h("form", { method: "dialog", class: "name-form" },
    h("h2", { id: "name-title", text: t("nameTitle") }), h("p", { class: "muted small", text: t("nameHelp") }),
    labelled(t("nameLabel"), input, "grow"), error,
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary", text: t("save") }), cancel));
  cancel.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => dialog.remove());
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    try {
      const after = await call<Me>("PATCH", "/v1/me", { display_name: input.value.trim() });
      dialog.close();
      saved(after, t("nameSaved", { name: after.display_name || after.email }));
    } catch (err) {
      error.textContent = err instanceof ApiError || err instanceof Error ? err.message : String(err);
      input.focus();
    }
  });
  dialog.append(form);
  document.body.append(dialog);
  dialog.showModal();
  input.focus();
  input.select();
}
