import "gridstack/dist/gridstack.min.css";
import "./style.css";
import { api, getRefreshSeconds, loadConfig } from "./api";
import { App } from "./app";
import { h } from "./dom";
import { setCatalogue } from "./i18n";

async function boot(): Promise<void> {
  const root = document.getElementById("app")!;
  try {
    await loadConfig();
  } catch (e) {
    root.append(h("p", { class: "error", role: "alert", text: `config.json: ${String(e)}` }));
    return;
  }
  // The catalogue gives every metric label (EN/FR); retry until the API answers.
  for (let delay = 1000; ; delay = Math.min(delay * 2, 15000)) {
    try {
      setCatalogue(await api.catalogue());
      break;
    } catch {
      root.replaceChildren(h("p", { class: "banner", role: "alert", text: "The API is unreachable; retrying… / L’API est injoignable ; nouvel essai…" }));
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  root.replaceChildren();
  void new App(root, Math.max(1, getRefreshSeconds()) * 1000).start();
}

void boot();
