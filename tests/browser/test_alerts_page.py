"""The alerts panel (badges, rules, state, history, the editor for manage keys; hostile names inert)
and the send-progress widget, against the real local stack."""
from __future__ import annotations

import json
import urllib.request

from . import seed
from .conftest import open_tab, wait_loaded
from .helpers import kpis, live, table

HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def call(stack, key: str, method: str, path: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(f"{stack.api_url}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        raw = r.read()
    return json.loads(raw) if raw else {}


def sign_in_with(page, stack, key: str) -> None:
    page.goto(stack.web_url)
    page.evaluate("() => localStorage.setItem('clr.prefs.v1', JSON.stringify({lang: 'en', tz: 'UTC', "
                  f"campaign: '{seed.CAMPAIGN}', tab: 'campaign'}}))")
    page.reload()
    page.click("form.signin .use-key")
    page.fill("#read-key", key)
    page.click("form.signin button[type=submit]")
    page.wait_for_selector("[role=tablist]")
    wait_loaded(page, seed.CAMPAIGN, "campaign")


def test_alerts_panel_and_progress_widget(page, stack):
    import app as app_module
    _, manage = stack.services.keys.create("browser", ["read", "manage"], "alerts browser test")
    rule = call(stack, manage, "POST", "/v1/alerts", {
        "name": HOSTILE, "campaign_id": seed.CAMPAIGN, "channel": "email", "metric": "bounce_rate", "op": ">",
        "threshold": 0.01, "window_minutes": 60, "min_volume": 1})
    created: list[str] = [rule["id"]]
    try:
        result = app_module.alert_runner_for().run()
        assert result.fired == 1, result
        sign_in_with(page, stack, manage)
        # badges: the picker and the email tab (and the campaign tab, which sums the channels)
        page.wait_for_selector(".picker-summary .alert-badge")
        page.wait_for_selector("[role=tab][data-tab=email] .alert-badge")
        assert page.locator("[role=tab][data-tab=sms] .alert-badge").count() == 0
        page.click(".picker-summary")
        assert page.locator(f".picker-item[data-campaign='{seed.CAMPAIGN}'] .alert-badge").count() == 1
        assert page.locator(f".picker-item[data-campaign='{seed.EMAIL_ONLY}'] .alert-badge").count() == 0
        page.click(".picker-summary")
        # the panel: the rule, firing, with its history; the hostile name is text
        page.click(".alerts-btn")
        item = page.locator(f".alert-rule[data-alert-id='{rule['id']}']")
        item.wait_for()
        assert item.get_attribute("data-state") == "firing"
        assert item.locator(".alert-name").text_content() == HOSTILE
        assert page.locator("dialog img, dialog script").count() == 0 and page.dialogs == []
        item.locator(".alert-history-btn").click()
        item.locator(".alert-history li[data-to=firing]").wait_for()
        # the editor: a 422 is shown as the API said it, a valid rule appears in the list
        page.fill(".alert-editor input[name=name]", "Errors above half")
        page.select_option(".alert-editor select[name=channel]", "email")
        page.select_option(".alert-editor select[name=metric]", "error_rate")
        page.fill(".alert-editor input[name=threshold]", "150")
        page.click(".alert-editor button[type=submit]")
        page.wait_for_selector(".alert-error:text('threshold')")
        page.fill(".alert-editor input[name=threshold]", "50")
        page.click(".alert-editor button[type=submit]")
        page.wait_for_selector(".alert-rule .alert-name:text-is('Errors above half')")
        created += [a["id"] for a in call(stack, manage, "GET", "/v1/alerts")["alerts"] if a["id"] not in created]
        new = call(stack, manage, "GET", "/v1/alerts")["alerts"][-1]
        assert (new["metric"], new["threshold"], new["op"]) == ("error_rate", 0.5, ">")
        page.keyboard.press("Escape")
        # progress: the campaign tab has a row per sending channel, the email tab its executions
        doc = live(stack, seed.CAMPAIGN, "campaign")
        rows = table(page, "campaign-progress")
        assert len(rows) == len(doc["progress"]["channels"]) == 4
        for block in doc["progress"]["channels"]:
            row = next(r for r in rows.values() if float(r["planned"]) == block["planned"]
                       and float(r["processed"]) == block["processed"])
            assert row["remaining"] == str(block["remaining"]), (row, block)
        open_tab(page, "email")
        doc = live(stack, seed.CAMPAIGN, "email")
        tiles = kpis(page, "email-progress")
        assert int(tiles["progress_planned"]["value"]) == doc["progress"]["planned"] == 9
        assert int(tiles["progress_processed"]["value"]) == doc["progress"]["processed"] == 10  # an error after a send counts too
        rows = table(page, "email-progress")
        assert set(rows) == {"All executions", "run-1", "run-2"}
        assert rows["All executions"]["status"] == "Finished"
    finally:
        for rule_id in created:
            call(stack, manage, "DELETE", f"/v1/alerts/{rule_id}")


def test_read_keys_see_alerts_but_no_editor(page, stack):
    _, manage = stack.services.keys.create("browser", ["read", "manage"], "alerts browser test 2")
    rule = call(stack, manage, "POST", "/v1/alerts", {
        "name": "Quiet", "campaign_id": "*", "channel": "sms", "metric": "silence", "window_minutes": 5,
        "notify": {"emails": ["ops@example.com"]}})
    try:
        sign_in_with(page, stack, stack.key)
        page.click(".alerts-btn")
        page.locator(f".alert-rule[data-alert-id='{rule['id']}']").wait_for()
        assert page.locator(".alert-editor").count() == 0
        assert page.locator(".alerts-readonly").count() == 1
        assert "ops@example.com" not in page.content()
    finally:
        call(stack, manage, "DELETE", f"/v1/alerts/{rule['id']}")


class _Receiver:
    """A webhook receiver on 127.0.0.1 that answers the given statuses, then 200."""

    def __init__(self, statuses):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        self.statuses, self.hits = list(statuses), 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers["Content-Length"]))
                outer.hits += 1
                self.send_response(outer.statuses.pop(0) if outer.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_history_says_how_the_webhook_delivery_went(page, stack, monkeypatch):
    """Queued delivery: a 503 shows as "failed, retrying", the later attempt as "delivered after 2 attempts"."""
    import app as app_module
    from chalicelib.alerts.runner import AlertRunner

    class Jobs(list):
        def send(self, job, delay_seconds=0):
            self.append(job)
    monkeypatch.setenv("LIVEREPORT_ALLOW_LOCAL_WEBHOOKS", "1")
    receiver = _Receiver([503])
    _, manage = stack.services.keys.create("browser", ["read", "manage"], "alerts delivery test")
    rule = call(stack, manage, "POST", "/v1/alerts", {
        "name": "Bounces (webhook)", "campaign_id": seed.CAMPAIGN, "channel": "email", "metric": "bounce_rate",
        "op": ">", "threshold": 0.01, "window_minutes": 60, "min_volume": 1, "notify": {"webhook_url": receiver.url}})
    try:
        jobs = Jobs()
        base = app_module.alert_runner_for()
        runner = AlertRunner(base.services, base.ses, base.settings, base.webhooks, queue=jobs)
        runner.webhooks.attempts = 1  # queued: one attempt per message
        assert runner.run().fired >= 1 and receiver.hits == 0  # evaluation sends nothing itself
        mine = [j for j in jobs if j.rule_id == rule["id"]]
        assert len(mine) == 1
        assert runner.deliverer().deliver(mine[0]) == "retrying"
        sign_in_with(page, stack, manage)
        page.click(".alerts-btn")
        item = page.locator(f".alert-rule[data-alert-id='{rule['id']}']")
        item.locator(".alert-history-btn").click()
        line = item.locator(".alert-history li[data-to=firing] .alert-delivery")
        line.wait_for()
        assert "webhook delivery failed, retrying (attempt 1: HTTP 503)" in line.inner_text()
        retry = [j for j in jobs if j.rule_id == rule["id"] and j.attempt == 2]
        assert runner.deliverer().deliver(retry[0]) == "delivered" and receiver.hits == 2
        item.locator(".alert-history-btn").click()  # hide, then show again: fetched anew
        item.locator(".alert-history-btn").click()
        page.wait_for_selector(".alert-history li[data-to=firing] .alert-delivery:text('webhook delivered after 2 attempts')")
    finally:
        call(stack, manage, "DELETE", f"/v1/alerts/{rule['id']}")
        receiver.close()
