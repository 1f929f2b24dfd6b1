// The admin page's webhook sources (issue 17): create one (platform, default campaign, the platform's
// credentials), copy its URL, send a signed test event through the real verification path, and watch
// each source's health — last received, accepted, refused by reason, unmapped event types — beside the
// platform's setup steps. Labels, campaign ids and event types are callers' text: textContent only.
import type { AdminContext } from "./admin";
import { ApiError, call } from "./api";
import { button, copyText, section, when, type Section } from "./adminTables";
import { labelled } from "./controls";
import { h } from "./dom";
import { fmtInt, getLang, wording } from "./i18n";

export interface Health {
  requests: number; last_received_at: number | null; last_accepted_at: number | null; accepted_requests: number;
  events_accepted: number; events_rejected: number; redeliveries: number; refused: Record<string, number>;
  last_refused_at: number | null; last_refusal: string | null; last_outcome: string | null; unmapped: Record<string, number>; tests_sent: number;
}
export interface Source { id: string; platform: string; channel: string; default_campaign: string; label: string; created_at: number | string; url?: string; health?: Health }
/** admin.ts's section plumbing (a list loader with stale-answer protection, an action runner, error wording). */
export interface SectionTools {
  loader: <T>(s: Section, fetch: () => Promise<T>, draw: (data: T) => void) => () => Promise<void>;
  act: (s: Section, ctx: AdminContext, work: () => Promise<string>, after: () => void) => Promise<boolean>;
  errorText: (e: unknown) => string;
}

const PLATFORMS = ["ses", "sendgrid", "mailgun", "twilio", "postmark"] as const;
type Platform = typeof PLATFORMS[number];
const NAMES: Record<Platform, string> = { ses: "Amazon SES", sendgrid: "SendGrid", mailgun: "Mailgun", twilio: "Twilio", postmark: "Postmark" };
/** SES and SendGrid sign with keys only they hold: their own test button is the way. */
const OWN_TEST: Platform[] = ["ses", "sendgrid"];
const REASONS = ["bad_signature", "stale_timestamp", "replay", "malformed"] as const;

const TEXT = {
  en: {
    sources: "Webhook sources", hint: "A source receives one sending platform's webhooks: create it here, paste its URL into the platform, then send a test event.",
    noSources: "No webhook source yet.", newSource: "New webhook source", platform: "Platform", label: "Label (optional)",
    defaultCampaign: "Default campaign (events without campaign_id)", create: "Create source", created: "Source created: paste its URL into {platform}.",
    cred_topic_arns: "SNS topic ARNs (one per line)", cred_public_key: "Verification key (SendGrid → Event Webhook → Signature verification)",
    cred_signing_key: "HTTP webhook signing key", cred_auth_token: "Auth Token", cred_username: "Username (basic auth)", cred_password: "Password (basic auth)",
    url: "Webhook URL", urlOf: "Webhook URL of source {id}", copy: "Copy URL", copied: "Copied.", copyFailed: "Select the URL and copy it.",
    channel: "Channel {channel}", campaign: "Default campaign {campaign}", created_at: "Created",
    test: "Send a test event", testOf: "Send a test event to source {id}", testOk: "Test event received by {platform} source {id} and counted in campaign “{campaign}”.",
    testRefused: "The test event was refused ({reason}): the credentials stored for this source do not match. Remove it and create it again with the platform's values.",
    ownTest_ses: "To test: send to success@simulator.amazonses.com with the configuration set; the event shows below.",
    ownTest_sendgrid: "To test: SendGrid → Event Webhook → “Test Your Integration”; the batch shows below.",
    remove: "Remove", removeSource: "Remove source {id}", confirmRemove: "Remove the {platform} source {id}? Webhooks sent to its URL will be refused.", removed: "Source {id} removed.",
    refresh: "Refresh", health: "Health", waiting: "Waiting for a first request", receiving: "Receiving", refusing: "Last request refused: {reason}",
    lastReceived: "Last received", accepted: "Accepted requests", events: "Events counted", rejected: "Events rejected by validation",
    redeliveries: "Redeliveries (counted once)", refused: "Refused requests", unmapped: "Unmapped event types", none: "none", testsSent: "Test events sent",
    bad_signature: "bad signature", stale_timestamp: "stale timestamp", replay: "replay", malformed: "malformed request",
    setup: "Set up in {platform}",
  },
  fr: {
    sources: "Sources de webhooks", hint: "Une source reçoit les webhooks d’une plateforme d’envoi : créez-la ici, collez son URL dans la plateforme, puis envoyez un événement de test.",
    noSources: "Aucune source de webhooks pour l’instant.", newSource: "Nouvelle source de webhooks", platform: "Plateforme", label: "Libellé (facultatif)",
    defaultCampaign: "Campagne par défaut (événements sans campaign_id)", create: "Créer la source", created: "Source créée : collez son URL dans {platform}.",
    cred_topic_arns: "ARN des sujets SNS (un par ligne)", cred_public_key: "Clé de vérification (SendGrid → Event Webhook → Signature verification)",
    cred_signing_key: "Clé de signature des webhooks HTTP", cred_auth_token: "Auth Token", cred_username: "Identifiant (basic auth)", cred_password: "Mot de passe (basic auth)",
    url: "URL du webhook", urlOf: "URL du webhook de la source {id}", copy: "Copier l’URL", copied: "Copiée.", copyFailed: "Sélectionnez l’URL et copiez-la.",
    channel: "Canal {channel}", campaign: "Campagne par défaut {campaign}", created_at: "Créée",
    test: "Envoyer un événement de test", testOf: "Envoyer un événement de test à la source {id}", testOk: "Événement de test reçu par la source {platform} {id} et compté dans la campagne « {campaign} ».",
    testRefused: "L’événement de test a été refusé ({reason}) : les identifiants enregistrés pour cette source ne correspondent pas. Retirez-la et recréez-la avec les valeurs de la plateforme.",
    ownTest_ses: "Pour tester : envoyez à success@simulator.amazonses.com avec le jeu de configuration ; l’événement apparaît ci-dessous.",
    ownTest_sendgrid: "Pour tester : SendGrid → Event Webhook → « Test Your Integration » ; le lot apparaît ci-dessous.",
    remove: "Retirer", removeSource: "Retirer la source {id}", confirmRemove: "Retirer la source {platform} {id} ? Les webhooks envoyés à son URL seront refusés.", removed: "Source {id} retirée.",
    refresh: "Actualiser", health: "État", waiting: "En attente d’une première requête", receiving: "Reçoit des événements", refusing: "Dernière requête refusée : {reason}",
    lastReceived: "Dernière réception", accepted: "Requêtes acceptées", events: "Événements comptés", rejected: "Événements refusés à la validation",
    redeliveries: "Renvois (comptés une fois)", refused: "Requêtes refusées", unmapped: "Types d’événements non pris en compte", none: "aucun", testsSent: "Événements de test envoyés",
    bad_signature: "signature invalide", stale_timestamp: "horodatage périmé", replay: "rejeu", malformed: "requête mal formée",
    setup: "Configurer dans {platform}",
  },
};
type Key = keyof typeof TEXT.en;
const tx = wording<Key>(TEXT);

/** The platform's setup steps, short (docs/webhooks.md has the long form). */
const STEPS: Record<"en" | "fr", Record<Platform, string[]>> = {
  en: {
    ses: ["Create an SNS topic in your SES region and put its ARN in the source.", "Subscribe the URL to the topic (HTTPS, raw message delivery off); the subscription confirms itself.",
      "SES → Configuration sets → Event destinations → Amazon SNS → the topic; send with that set.", "Tag messages campaign_id and profile_id (X-SES-MESSAGE-TAGS or EmailTags)."],
    sendgrid: ["Settings → Mail Settings → Event Webhooks: turn Signature verification on and copy the Verification Key into the source.",
      "Paste the URL as the Post URL, select the events, save.", "Send campaign_id and profile_id as custom_args."],
    mailgun: ["Copy the HTTP webhook signing key (Settings → Webhook signing key) into the source.", "Sending → Webhooks: add the URL for each event type.",
      "Send campaign_id and profile_id as user variables (v:campaign_id)."],
    twilio: ["Copy the primary Auth Token (Console → Account → API keys & tokens) into the source.",
      "Use the URL as StatusCallback, with ?campaign_id=…&profile_id=… in its query (the signature covers it).", "Keep the URL exactly as shown: scheme, host, path."],
    postmark: ["Choose a username and a long random password for the source.", "Servers → stream → Webhooks → Add webhook: the URL, with those basic auth credentials.",
      "Select Delivery, Bounce, Spam Complaint, Open, Link Click, Subscription Change; put campaign_id in Metadata."],
  },
  fr: {
    ses: ["Créez un sujet SNS dans la région SES et mettez son ARN dans la source.", "Abonnez l’URL au sujet (HTTPS, raw message delivery désactivé) ; l’abonnement se confirme seul.",
      "SES → Configuration sets → Event destinations → Amazon SNS → le sujet ; envoyez avec ce jeu.", "Étiquetez les messages campaign_id et profile_id (X-SES-MESSAGE-TAGS ou EmailTags)."],
    sendgrid: ["Settings → Mail Settings → Event Webhooks : activez Signature verification et copiez la Verification Key dans la source.",
      "Collez l’URL comme Post URL, choisissez les événements, enregistrez.", "Envoyez campaign_id et profile_id en custom_args."],
    mailgun: ["Copiez la clé de signature des webhooks HTTP (Settings → Webhook signing key) dans la source.", "Sending → Webhooks : ajoutez l’URL pour chaque type d’événement.",
      "Envoyez campaign_id et profile_id en variables utilisateur (v:campaign_id)."],
    twilio: ["Copiez l’Auth Token principal (Console → Account → API keys & tokens) dans la source.",
      "Utilisez l’URL comme StatusCallback, avec ?campaign_id=…&profile_id=… (la signature la couvre).", "Gardez l’URL telle quelle : schéma, hôte, chemin."],
    postmark: ["Choisissez un identifiant et un long mot de passe aléatoire pour la source.", "Servers → flux → Webhooks → Add webhook : l’URL, avec ces identifiants basic auth.",
      "Cochez Delivery, Bounce, Spam Complaint, Open, Link Click, Subscription Change ; mettez campaign_id dans Metadata."],
  },
};
const CREDENTIALS: Record<Platform, { name: string; kind: "textarea" | "password" | "text" }[]> = {
  ses: [{ name: "topic_arns", kind: "textarea" }], sendgrid: [{ name: "public_key", kind: "textarea" }],
  mailgun: [{ name: "signing_key", kind: "password" }], twilio: [{ name: "auth_token", kind: "password" }],
  postmark: [{ name: "username", kind: "text" }, { name: "password", kind: "password" }],
};
const enc = encodeURIComponent;
const lang = (): "en" | "fr" => (getLang() === "fr" ? "fr" : "en");
const nameOf = (p: string) => NAMES[p as Platform] ?? p;

function healthBlock(src: Source): HTMLElement {
  const hh = src.health;
  const box = h("div", { class: "source-health", "aria-label": tx("health") });
  if (!hh || !hh.requests) {
    box.append(h("p", { class: "source-status waiting", "data-status": "waiting", text: tx("waiting") }));
    return box;
  }
  const refusing = !!hh.last_outcome && hh.last_outcome !== "accepted";
  box.append(refusing
    ? h("p", { class: "source-status refusing", "data-status": "refusing", text: tx("refusing", { reason: tx((hh.last_outcome ?? "malformed") as Key) }) })
    : h("p", { class: "source-status receiving", "data-status": "receiving", text: tx("receiving") }));
  const refusedTotal = REASONS.reduce((n, r) => n + (hh.refused[r] ?? 0), 0);
  const byReason = REASONS.filter((r) => hh.refused[r]).map((r) => `${tx(r)} ${fmtInt(hh.refused[r])}`).join(" · ");
  const unmapped = Object.entries(hh.unmapped);
  const rows: [string, Node | string, string][] = [
    [tx("lastReceived"), when(hh.last_received_at), "last"],
    [tx("accepted"), fmtInt(hh.accepted_requests), "accepted"],
    [tx("events"), fmtInt(hh.events_accepted), "events"],
    [tx("refused"), refusedTotal ? `${fmtInt(refusedTotal)} (${byReason})` : "0", "refused"],
  ];
  if (hh.events_rejected) rows.push([tx("rejected"), fmtInt(hh.events_rejected), "rejected"]);
  if (hh.redeliveries) rows.push([tx("redeliveries"), fmtInt(hh.redeliveries), "redeliveries"]);
  if (hh.tests_sent) rows.push([tx("testsSent"), fmtInt(hh.tests_sent), "tests"]);
  rows.push([tx("unmapped"), unmapped.length ? unmapped.map(([k, n]) => `${k} ×${fmtInt(n)}`).join(", ") : tx("none"), "unmapped"]);
  box.append(h("dl", { class: "source-counters" }, ...rows.flatMap(([k, v, key]) => [h("dt", { text: k }), h("dd", { "data-health": key }, v)])));
  return box;
}

function setupSteps(platform: string): HTMLElement | null {
  const steps = STEPS[lang()][platform as Platform];
  if (!steps) return null;
  return h("details", { class: "source-setup" }, h("summary", { text: tx("setup", { platform: nameOf(platform) }) }),
    h("ol", {}, ...steps.map((s) => h("li", { text: s }))));
}

export function sourcesSection(ctx: AdminContext, changed: () => void, tools: SectionTools): HTMLElement {
  const s = section("sources", tx("sources"), h("p", { class: "muted small admin-hint", text: tx("hint") }));
  let focusId = "";
  const load = tools.loader(s, () => call<{ sources: Source[] }>("GET", "/v1/sources"), ({ sources }) => {
    s.body.replaceChildren(sources.length ? h("div", { class: "source-list" }, ...sources.map(card)) : h("p", { class: "muted", text: tx("noSources") }));
    if (focusId) s.body.querySelector<HTMLElement>(`[data-source-id="${CSS.escape(focusId)}"] .source-url`)?.focus();
    focusId = "";
  });
  const card = (src: Source): HTMLElement => {
    const url = h("input", { type: "text", readonly: true, value: src.url ?? "", class: "source-url", spellcheck: "false", "aria-label": tx("urlOf", { id: src.id }) });
    const copied = h("span", { class: "small", role: "status" });
    const actions = h("div", { class: "row source-actions" });
    if (OWN_TEST.includes(src.platform as Platform)) {
      actions.append(h("p", { class: "muted small source-own-test", text: tx(`ownTest_${src.platform}` as Key) }));
    } else {
      actions.append(button(tx("test"), "primary small source-test", tx("testOf", { id: src.id }), () => {
        void tools.act(s, ctx, async () => {
          const r = await call<{ ok: boolean; reason?: string; campaign_id: string }>("POST", `/v1/sources/${enc(src.id)}/test`);
          if (!r.ok) throw new ApiError(401, "test_refused", tx("testRefused", { reason: tx((r.reason ?? "bad_signature") as Key) }));
          return tx("testOk", { platform: nameOf(src.platform), id: src.id, campaign: r.campaign_id });
        }, () => { focusId = src.id; void load(); });
      }));
    }
    actions.append(button(tx("refresh"), "secondary small source-refresh", null, () => void load()),
      button(tx("remove"), "secondary small admin-remove", tx("removeSource", { id: src.id }), () => {
        if (!window.confirm(tx("confirmRemove", { platform: nameOf(src.platform), id: src.id }))) return;
        void tools.act(s, ctx, async () => {
          await call("DELETE", `/v1/sources/${enc(src.id)}`);
          return tx("removed", { id: src.id });
        }, () => { void load(); changed(); });
      }));
    return h("article", { class: "source-card", "data-source-id": src.id, "data-platform": src.platform },
      h("header", { class: "source-head" }, h("strong", { text: nameOf(src.platform) }), src.label ? h("span", { class: "source-label", text: src.label }) : null,
        h("code", { class: "source-id", text: src.id })),
      h("p", { class: "muted small source-meta" }, `${tx("channel", { channel: src.channel })} · ${tx("campaign", { campaign: src.default_campaign })} · ${tx("created_at")} `, when(src.created_at)),
      h("div", { class: "row source-url-row" }, labelled(tx("url"), url, "grow"),
        button(tx("copy"), "secondary small source-copy", null, async () => { copied.textContent = tx(await copyText(url) ? "copied" : "copyFailed"); }), copied),
      healthBlock(src), actions, setupSteps(src.platform));
  };
  s.el.append(createForm(s, ctx, tools, (id) => { focusId = id; void load(); changed(); }));
  void load();
  return s.el;
}

function createForm(s: Section, ctx: AdminContext, tools: SectionTools, created: (id: string) => void): HTMLElement {
  const platform = h("select", { name: "platform" }, ...PLATFORMS.map((p) => h("option", { value: p, text: NAMES[p] })));
  platform.value = "mailgun";
  const label = h("input", { type: "text", name: "label", maxlength: 100, autocomplete: "off" });
  const campaign = h("input", { type: "text", name: "default_campaign", maxlength: 128, autocomplete: "off", spellcheck: "false", placeholder: "unattributed", pattern: "[A-Za-z0-9._:@+\\-]{1,128}" });
  const creds = h("div", { class: "source-credentials" });
  const steps = h("div", { class: "source-form-steps" });
  const controls = new Map<string, HTMLInputElement | HTMLTextAreaElement>();
  const drawCredentials = () => {
    controls.clear();
    const p = platform.value as Platform;
    creds.replaceChildren(...CREDENTIALS[p].map(({ name, kind }) => {
      const c = kind === "textarea"
        ? h("textarea", { name, rows: 3, required: true, spellcheck: "false", autocomplete: "off" })
        : h("input", { type: kind, name, required: true, autocomplete: kind === "password" ? "new-password" : "off", spellcheck: "false" });
      controls.set(name, c);
      return labelled(tx(`cred_${name}` as Key), c, "grow");
    }));
    steps.replaceChildren(setupSteps(p) ?? "");
  };
  platform.addEventListener("change", drawCredentials);
  drawCredentials();
  const error = h("p", { class: "error admin-form-error", role: "alert" });
  const form = h("form", { class: "admin-form source-form", "aria-label": tx("newSource") },
    h("h4", { text: tx("newSource") }),
    h("div", { class: "row" }, labelled(tx("platform"), platform), labelled(tx("label"), label, "grow"), labelled(tx("defaultCampaign"), campaign, "grow")),
    creds, steps, error, h("div", { class: "row" }, h("button", { type: "submit", class: "primary", text: tx("create") })));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const p = platform.value as Platform;
    const credentials: Record<string, unknown> = {};
    for (const [name, c] of controls) credentials[name] = name === "topic_arns" ? c.value.split(/\s+/).filter(Boolean) : c.value.trim();
    const body = { platform: p, credentials, ...(label.value.trim() ? { label: label.value.trim() } : {}),
      ...(campaign.value.trim() ? { default_campaign: campaign.value.trim() } : {}) };
    for (const el of [error, s.error, s.note]) el.textContent = "";
    void (async () => {
      try {
        const src = await call<Source>("POST", "/v1/sources", body);
        form.reset();
        platform.value = p;
        drawCredentials();
        s.note.textContent = tx("created", { platform: NAMES[p] });
        ctx.announce(s.note.textContent);
        created(src.id);
      } catch (err) {
        error.textContent = tools.errorText(err); // the API names the field (credentials.signing_key, default_campaign…)
      }
    })();
  });
  return form;
}
