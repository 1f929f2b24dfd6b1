"""The admin page (?view=admin): members, API keys, webhook sources and the audit list, against the real
local stack (moto, chalice local, the local Cognito pool: inviting really creates a pool user).

Signed in with an admin key of a workspace of its own (`adminws`), so nothing here touches the other
tests' workspaces. `window.confirm` is answered yes by an init script (the shared `page` fixture
dismisses dialogs), and the questions asked are kept in `window.__confirms`.
"""
from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from .conftest import enter

HOSTILE = '<img src=x onerror="window.__pwned=1">'
WS = "adminws"
CONFIRM_YES = "window.__confirms = []; window.confirm = (m) => { window.__confirms.push(m); return true; };"


def api(stack, key: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(f"{stack.api_url}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else {})
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, (json.loads(raw) if raw else {})


@pytest.fixture(scope="module")
def admin_key(stack) -> str:
    _, key = stack.services.keys.create(WS, ["read", "manage", "admin"], "admin tests")
    return key


def accept_invitation(stack, email: str, workspace: str = WS) -> None:
    """What the invited person does after signing in (tested in the browser in test_accounts_page.py)."""
    import time

    from chalicelib.accounts.admin import AccountAdmin
    from chalicelib.accounts.audit import AuditLog
    from chalicelib.accounts.invitations import InvitationStore
    from chalicelib.accounts.members import MembershipStore
    client, table = stack.services.client, stack.services.config.table_name
    (inv,) = [i for i in InvitationStore(client, table).pending(workspace, time.time()) if i.email == email]
    AccountAdmin(MembershipStore(client, table), AuditLog(client, table), stack.services.keys, None).answer_invitation(
        inv.user_id, email, workspace, True, time.time())


def open_admin(page, stack, key: str, lang: str = "en") -> None:
    page.add_init_script(CONFIRM_YES)
    enter(page, stack, key, lang, "UTC")
    page.goto(f"{stack.web_url}?view=admin")
    for name in ("members", "keys", "audit"):
        page.wait_for_selector(f".admin-{name} .admin-body:not([aria-busy]) .admin-table-wrap")
    page.wait_for_selector(".admin-sources .admin-body:not([aria-busy]) > :is(.source-list, p)")


def audit_row(page, action: str):
    return page.locator(f".admin-audit tr[data-action='{action}']")


def members(stack, key) -> dict[str, dict]:
    return {m["email"]: m for m in api(stack, key, "GET", "/v1/members")[1]["members"]}


def test_members_invite_change_role_remove_and_refusals(page, stack, admin_key):
    open_admin(page, stack, admin_key)
    section = page.locator(".admin-members")
    # invite: pending until she accepts; the hostile display name (a suggestion) is stored as typed, shown as text
    page.fill(".invite-form input[name=email]", "ann.admin@example.org")
    page.fill(".invite-form input[name=display_name]", HOSTILE)
    page.click(".invite-form button[type=submit]")
    expect(page.locator(".invite-form .admin-form-status")).to_contain_text(
        "Invitation sent to ann.admin@example.org: they join the workspace once they accept it.")
    pending = page.locator(".admin-invitations tr[data-email='ann.admin@example.org']")
    pending.wait_for()
    expect(pending.locator("td").nth(1)).to_have_text("viewer")
    assert section.locator("tr[data-email='ann.admin@example.org']").count() == 0  # not a member before accepting
    accept_invitation(stack, "ann.admin@example.org")
    page.reload()
    ann = section.locator("tr[data-email='ann.admin@example.org']")
    ann.wait_for()
    expect(page.locator(".admin-invitations tbody td.empty")).to_have_text("No pending invitation.")
    expect(ann.locator("td").nth(1)).to_have_text(HOSTILE)
    assert ann.locator("td").nth(1).is_visible()
    expect(ann.locator("select.role-select")).to_have_value("viewer")
    expect(audit_row(page, "member.invited")).to_have_count(1)
    assert HOSTILE in audit_row(page, "member.invited").inner_text()  # the detail, as k: v text
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".admin-page img, .admin-page script").count() == 0
    assert members(stack, admin_key)["ann.admin@example.org"]["display_name"] == HOSTILE
    # inviting her again: the API's 409 beside the form
    page.wait_for_selector(".admin-members .admin-body:not([aria-busy]) .admin-table-wrap")
    page.fill(".invite-form input[name=email]", "ann.admin@example.org")
    page.click(".invite-form button[type=submit]")
    expect(page.locator(".invite-form .admin-form-error")).to_contain_text("already a member")
    # change her role
    ann.locator("select.role-select").select_option("editor")
    expect(section.locator(".admin-note")).to_have_text("ann.admin@example.org is now editor.")
    expect(page.locator("#main ~ [role=status]")).to_have_text("ann.admin@example.org is now editor.")
    expect(audit_row(page, "member.role_changed")).to_have_count(1)
    assert "from: viewer · to: editor" in audit_row(page, "member.role_changed").inner_text()
    assert members(stack, admin_key)["ann.admin@example.org"]["role"] == "editor"
    # the workspace's only admin can be neither demoted nor removed: the API's message, the select reverted
    page.fill(".invite-form input[name=email]", "bob.admin@example.org")
    page.select_option(".invite-form select[name=role]", "admin")
    page.click(".invite-form button[type=submit]")
    page.locator(".admin-invitations tr[data-email='bob.admin@example.org']").wait_for()
    accept_invitation(stack, "bob.admin@example.org")
    page.reload()
    bob = section.locator("tr[data-email='bob.admin@example.org']")
    expect(bob.locator("select.role-select")).to_have_value("admin")
    bob.locator("select.role-select").select_option("viewer")
    expect(section.locator(".admin-error")).to_contain_text("last admin cannot be demoted or removed")
    expect(bob.locator("select.role-select")).to_have_value("admin")
    bob.locator(".admin-remove").click()
    expect(section.locator(".admin-error")).to_contain_text("last admin")
    assert members(stack, admin_key)["bob.admin@example.org"]["role"] == "admin"
    # remove Ann (after a confirmation naming her)
    ann.locator(".admin-remove").click()
    expect(ann).to_have_count(0)
    assert page.evaluate("window.__confirms").count("Remove ann.admin@example.org from the workspace?") == 1
    expect(audit_row(page, "member.removed")).to_have_count(1)
    assert "ann.admin@example.org" not in members(stack, admin_key)
    # newest first
    actions = page.eval_on_selector_all(".admin-audit tbody tr[data-action]", "rs => rs.map(r => r.dataset.action)")
    assert actions[:4] == ["member.removed", "member.joined", "member.invited", "member.role_changed"], actions
    page.screenshot(path="/tmp/admin-members-1440.png", full_page=True)


def test_keys_create_shown_once_and_revoke(page, context, stack, admin_key):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.web_url.rstrip("/"))
    open_admin(page, stack, admin_key)
    form = page.locator(".key-form")
    # at least one scope
    form.locator("button[type=submit]").click()
    expect(form.locator(".admin-form-error")).to_have_text("Choose at least one scope.")
    # the scopes are explained on one line each
    assert form.locator(".key-scopes label").all_inner_texts() == [
        "ingest — post events (producers, relays)", "read — read reports, campaigns and alerts",
        "manage — alert rules, email reports and webhook sources", "admin — members, API keys and the audit list"]
    form.locator("input[name=label]").fill(HOSTILE)
    form.get_by_label("read — read reports").check()
    form.locator("button[type=submit]").click()
    reveal = page.locator(".key-reveal")
    reveal.wait_for()
    expect(reveal.locator(".key-warning")).to_have_text("Copy this key now: it will not be shown again.")
    key = reveal.locator("input.key-value").input_value()
    key_id = reveal.get_attribute("data-key-id")
    assert reveal.locator("input.key-value").get_attribute("readonly") is not None
    assert api(stack, key, "GET", "/v1/campaigns")[0] == 200  # a working key
    reveal.locator(".key-copy").click()
    expect(reveal.locator("[role=status]")).to_have_text("Key copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == key
    row = page.locator(f".admin-keys tr[data-key-id='{key_id}']")
    expect(row.locator("td").nth(0)).to_have_text(HOSTILE)
    expect(row.locator(".key-status")).to_have_text("Active")
    assert row.locator("td").nth(2).inner_text() == "read"
    expect(audit_row(page, "key.created").first).to_contain_text(key_id)
    assert page.evaluate("window.__pwned") is None and page.locator(".admin-page img").count() == 0
    # "Done": gone from the page
    reveal.locator(".key-done").click()
    expect(page.locator(".key-reveal")).to_have_count(0)
    assert key not in page.content()
    # a second key, then a reload: gone as well
    form.locator("input[name=label]").fill("second")
    form.get_by_label("ingest — post events").check()
    form.locator("button[type=submit]").click()
    second = page.locator(".key-reveal input.key-value").input_value()
    page.reload()
    page.wait_for_selector(".admin-keys .admin-body:not([aria-busy]) .admin-table-wrap")
    assert page.locator(".key-reveal").count() == 0 and second not in page.content()
    # the page's own key is marked, and revoking it would warn
    own = page.locator(".admin-keys tr", has_text="admin tests")
    expect(own.locator(".admin-you")).to_have_text(" (this key)")
    # revoke the first: the API refuses it at once; revoked keys are folded away until asked for
    page.locator(f".admin-keys tr[data-key-id='{key_id}'] .admin-revoke").click()
    expect(page.locator(".admin-keys .admin-note")).to_have_text(f"Key {key_id} revoked.")
    expect(page.locator(f".admin-keys tr[data-key-id='{key_id}']")).to_have_count(0)
    toggle = page.locator(".keys-revoked-toggle")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(page.locator(f".admin-keys tr[data-key-id='{key_id}'] .key-status")).to_have_text("Revoked")
    expect(page.locator(".keys-revoked-toggle")).to_be_focused()
    assert page.locator(f".admin-keys tr[data-key-id='{key_id}'] .admin-revoke").count() == 0
    assert any(key_id in m and "signed in with" not in m for m in page.evaluate("window.__confirms"))
    assert api(stack, key, "GET", "/v1/campaigns")[0] == 401
    expect(audit_row(page, "key.revoked")).to_contain_text(key_id)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.screenshot(path="/tmp/admin-keys-1440.png", full_page=True)


def post_webhook(url: str, body: bytes, headers: dict[str, str]) -> int:
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_sources_listed_and_removed(page, stack, admin_key):
    status, src = api(stack, admin_key, "POST", "/v1/sources", {
        "platform": "mailgun", "channel": "email", "default_campaign": "c1", "credentials": {"signing_key": "k"}})
    assert status == 201, src
    open_admin(page, stack, admin_key)
    section = page.locator(".admin-sources")
    card = section.locator(f"article[data-source-id='{src['id']}']")
    expect(card.locator(".source-head strong")).to_have_text("Mailgun")
    expect(card.locator(".source-meta")).to_contain_text("Default campaign c1")
    url = card.locator("input.source-url")
    assert url.input_value() == src["url"] and url.input_value().endswith(f"/v1/webhooks/mailgun/{src['id']}")
    assert url.get_attribute("readonly") is not None and section.locator("a").count() == 0
    expect(card.locator(".source-status")).to_have_text("Waiting for a first request")
    card.locator(".admin-remove").click()
    expect(card).to_have_count(0)
    assert src["id"] not in [s["id"] for s in api(stack, admin_key, "GET", "/v1/sources")[1]["sources"]]
    expect(audit_row(page, "source.deleted").first).to_contain_text(src["id"])


def test_create_a_source_send_a_test_event_and_watch_its_health(page, stack, admin_key):
    """The marketer's path: create the source in the page, paste its URL, send a test
    event and see it counted; a forged request then shows as refused, by reason."""
    open_admin(page, stack, admin_key)
    section = page.locator(".admin-sources")
    form = section.locator("form.source-form")
    # the credential fields follow the platform
    form.locator("select[name=platform]").select_option("twilio")
    expect(form.locator("[name=auth_token]")).to_have_count(1)
    expect(form.locator(".source-setup summary")).to_have_text("Set up in Twilio")
    form.locator("select[name=platform]").select_option("postmark")
    expect(form.locator("[name=auth_token]")).to_have_count(0)
    form.locator("[name=label]").fill(HOSTILE)
    form.locator("[name=default_campaign]").fill("spring-sale")
    form.locator("[name=username]").fill("hooks")
    form.locator("[name=password]").fill("a-long-random-password")
    form.locator("button[type=submit]").click()
    expect(section.locator(".admin-note")).to_have_text("Source created: paste its URL into Postmark.")
    card = section.locator("article[data-platform=postmark]").filter(has_text="spring-sale").last
    expect(card.locator(".source-label")).to_have_text(HOSTILE)
    expect(card.locator(".source-status")).to_have_text("Waiting for a first request")
    source_id = card.get_attribute("data-source-id")
    assert card.locator("input.source-url").evaluate("el => el === document.activeElement")
    # a wrong credential is refused: the form says which field
    form.locator("select[name=platform]").select_option("ses")
    form.locator("[name=topic_arns]").fill("not-an-arn")
    form.locator("button[type=submit]").click()
    expect(form.locator(".admin-form-error")).to_contain_text("credentials.topic_arns")
    # the test event goes through the real verification path and is counted
    card.locator(".source-test").click()
    expect(section.locator(".admin-note")).to_contain_text(f"Test event received by Postmark source {source_id}")
    card = section.locator(f"article[data-source-id='{source_id}']")
    expect(card.locator(".source-status")).to_have_text("Receiving")
    expect(card.locator("[data-health=events]")).to_have_text("1")
    expect(card.locator("[data-health=tests]")).to_have_text("1")
    expect(card.locator("[data-health=refused]")).to_have_text("0")
    # someone posts to the URL with the wrong password: refused, counted by reason
    url = card.locator("input.source-url").input_value()
    forged = post_webhook(url, json.dumps({"RecordType": "Delivery", "MessageID": "x"}).encode(), {
        "Content-Type": "application/json", "Authorization": "Basic " + base64.b64encode(b"hooks:guess").decode()})
    assert forged == 401
    card.locator(".source-refresh").click()
    expect(card.locator(".source-status")).to_have_text("Last request refused: bad signature")
    expect(card.locator("[data-health=refused]")).to_have_text("1 (bad signature 1)")
    # an authentic event type we do not count shows as unmapped
    change = {"RecordType": "SubscriptionChange", "SuppressSending": False, "Recipient": "a@x.example",
              "ChangedAt": "2026-01-01T00:00:00Z"}
    assert post_webhook(url, json.dumps(change).encode(), {
        "Content-Type": "application/json",
        "Authorization": "Basic " + base64.b64encode(b"hooks:a-long-random-password").decode()}) == 200
    card.locator(".source-refresh").click()
    expect(card.locator("[data-health=unmapped]")).to_have_text("postmark:SubscriptionChange ×1")
    expect(card.locator(".source-status")).to_have_text("Receiving")
    card.locator(".source-setup summary").click()
    expect(card.locator(".source-setup li")).to_have_count(3)
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".admin-page img, .admin-page script").count() == 0
    card.scroll_into_view_if_needed()
    page.screenshot(path="/tmp/admin-sources-1440.png", full_page=True)
    for s in api(stack, admin_key, "GET", "/v1/sources")[1]["sources"]:  # leave the list short for the other tests
        api(stack, admin_key, "DELETE", f"/v1/sources/{s['id']}")


def test_audit_load_more(page, stack, admin_key):
    """More than a page of entries: "Load more" appends the older ones, once each, newest first."""
    for i in range(52):
        api(stack, admin_key, "POST", "/v1/keys", {"scopes": ["read"], "label": f"bulk {i}"})
    open_admin(page, stack, admin_key)
    rows = page.locator(".admin-audit tbody tr[data-audit-id]")
    expect(rows).to_have_count(50)
    page.click(".admin-audit .audit-more")
    page.wait_for_function("() => document.querySelectorAll('.admin-audit tbody tr[data-audit-id]').length > 50")
    ids = page.eval_on_selector_all(".admin-audit tbody tr[data-audit-id]", "rs => rs.map(r => r.dataset.auditId)")
    assert len(ids) == len(set(ids)) and ids == sorted(ids, reverse=True)
    for k in api(stack, admin_key, "GET", "/v1/keys")[1]["keys"]:  # leave the key list short for the other tests
        if k["label"].startswith("bulk ") and not k["revoked"]:
            api(stack, admin_key, "DELETE", f"/v1/keys/{k['key_id']}")


def test_admin_link_and_back_to_reports(page, stack, admin_key):
    page.add_init_script(CONFIRM_YES)
    enter(page, stack, admin_key, "en", "UTC")
    page.goto(stack.web_url)
    page.click(".admin-link")
    page.wait_for_selector(".admin-members .admin-table-wrap")
    assert "view=admin" in page.url and page.locator("[role=tablist]").count() == 0
    page.click(".reports-link")
    page.wait_for_selector("[role=tablist]")
    assert "view=admin" not in page.url and page.locator(".admin-page").count() == 0
    page.go_back()
    page.wait_for_selector(".admin-members .admin-table-wrap")
    page.go_forward()
    page.wait_for_selector("[role=tablist]")
    expect(page.locator(".admin-link")).to_have_count(1)


def test_read_key_gets_no_admin_page(page, stack):
    enter(page, stack, stack.key, "en", "UTC")
    page.goto(stack.web_url)
    page.wait_for_selector("[role=tablist]")
    page.wait_for_selector("main[data-loaded]")
    assert page.locator(".admin-link").count() == 0
    page.goto(f"{stack.web_url}?view=admin")
    denied = page.locator(".admin-denied")
    expect(denied).to_contain_text("You need the admin role in workspace “browser”")
    assert page.locator(".admin-page table, .admin-page form").count() == 0
    page.screenshot(path="/tmp/admin-denied-1440.png")


def test_french_on_a_phone_does_not_overflow(browser, stack, admin_key):
    api(stack, admin_key, "POST", "/v1/sources", {"platform": "mailgun", "channel": "email", "default_campaign": "une-campagne-au-nom-long",
                                                  "credentials": {"signing_key": "k"}, "label": "Relais Mailgun de la boutique"})
    api(stack, admin_key, "POST", "/v1/members", {"email": "dominique.longuenom@exemple.fr", "role": "editor",
                                                  "display_name": "Dominique Longuenom-Delacroix"})
    ctx = browser.new_context(viewport={"width": 390, "height": 800}, locale="fr-FR", timezone_id="Europe/Paris")
    try:
        page = ctx.new_page()
        open_admin(page, stack, admin_key, "fr")
        headings = page.locator(".admin-section h3").all_inner_texts()
        assert headings == ["Membres", "Invitations en attente", "Clés d’API", "Sources de webhooks", "Audit"], headings
        expect(page.locator(".invite-form button[type=submit]")).to_have_text("Inviter")
        expect(page.locator(".reports-link")).to_have_text("← Retour aux rapports")
        problems = page.evaluate("""() => {
          const out = [], width = document.documentElement.clientWidth;
          if (document.documentElement.scrollWidth > width + 1) out.push(`page ${document.documentElement.scrollWidth}px wide`);
          for (const el of document.querySelectorAll('#app *')) {
            if (el.closest('.admin-table-wrap') || el.closest('.sr-only')) continue;
            const r = el.getBoundingClientRect();
            if (r.width && (r.right > width + 1 || r.left < -1)) out.push(`${el.tagName}.${el.className} ${Math.round(r.left)}..${Math.round(r.right)}`);
          }
          for (const w of document.querySelectorAll('.admin-table-wrap')) {
            const r = w.getBoundingClientRect();
            if (r.right > width + 1) out.push(`wrapper ${Math.round(r.right)}`);
          }
          return out;
        }""")
        assert problems == [], problems
        page.screenshot(path="/tmp/admin-fr-390.png", full_page=True)
        # the wide tables scroll inside their wrapper
        assert page.eval_on_selector(".admin-members .admin-table-wrap", "w => w.scrollWidth > w.clientWidth")
        expect(page.locator(".admin-sources .source-form h4")).to_have_text("Nouvelle source de webhooks")
        expect(page.locator(".admin-sources .source-card .source-status").first).to_have_text(
            "En attente d’une première requête")
    finally:
        ctx.close()


def test_desktop_screenshot_in_french(page, stack, admin_key):
    open_admin(page, stack, admin_key, "fr")
    page.screenshot(path="/tmp/admin-fr-1440.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
