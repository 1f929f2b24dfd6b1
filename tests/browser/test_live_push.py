"""The live channel in Chromium: the page learns of new data from its WebSocket (no polling), falls back to
the one-second stamp poll when the socket cannot be opened, and reconnects when the server comes back."""
from __future__ import annotations

import functools
import threading
import time
from datetime import datetime, timezone

import pytest

from . import seed
from .conftest import open_tab, sign_in
from .helpers import kpis

SENT = ".widget[data-widget='email-kpis'] .kpi[data-metric=sent] .kpi-value"
STATUS = ".status:not(.latest-event)"


class Site:
    """The built page served with a runtime config of the test's own (as make run's, other settings)."""

    def __init__(self, stack, **config) -> None:
        from infra.local.stack import _QuietServer, _StaticHandler, free_port
        runtime = {"apiUrl": stack.api_url, "refreshSeconds": 5, **stack.accounts.web_config, **config}
        handler = type("Handler", (_StaticHandler,), {"runtime_config": runtime})
        self.port = free_port()
        self.httpd = _QuietServer(("127.0.0.1", self.port), functools.partial(handler, directory=str(stack.web_dir)))
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.web_url = f"http://127.0.0.1:{self.port}/"
        self.api_url, self.key = stack.api_url, stack.key

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def site(stack, request):
    made = []

    def make(**config):
        made.append(Site(stack, **config))
        return made[-1]
    yield make
    for s in made:
        s.close()


def post_one(stack, i: int, prefix: str) -> None:
    seed.post(stack.api_url, stack.key, [{
        "event_id": f"{prefix}-{i}-{time.time_ns()}", "timestamp": datetime.now(timezone.utc).isoformat(),
        "campaign_id": seed.EMAIL_ONLY, "channel": "email", "type": "sent", "profile_id": f"{prefix}{i}"}])


def wait_sent(page, n: int, timeout: float = 20000) -> None:
    page.wait_for_function(f"n => Number(document.querySelector(\"{SENT}\").dataset.value) === n",
                           arg=n, timeout=timeout, polling=50)


def test_the_number_changes_without_polling(page, stack, site):
    s = site(socketUrl=stack.socket.url, safetySeconds=3600)  # the safety poll out of the way
    stamps: list[str] = []
    page.on("request", lambda r: stamps.append(r.url) if "/stamp" in r.url else None)
    sign_in(page, s, campaign=seed.EMAIL_ONLY)
    open_tab(page, "email")
    page.wait_for_selector(f"{STATUS}[data-live=live]", timeout=15000)
    assert page.inner_text(STATUS).endswith("· live")
    page.wait_for_timeout(1500)  # a probe scheduled before the socket opened may still run once
    stamps.clear()
    for i in range(3):
        before = int(kpis(page, "email-kpis")["sent"]["value"])
        post_one(stack, i, "ws")
        wait_sent(page, before + 1)
    assert stamps == []  # every change came through the socket


def test_the_page_polls_every_second_when_the_socket_is_refused(page, stack, site):
    from infra.local.stack import free_port
    s = site(socketUrl=f"ws://127.0.0.1:{free_port()}")  # nothing listens there
    stamps: list[float] = []
    page.on("request", lambda r: stamps.append(time.monotonic()) if "/stamp" in r.url else None)
    sign_in(page, s, campaign=seed.EMAIL_ONLY)
    open_tab(page, "email")
    page.wait_for_selector(f"{STATUS}[data-live=unavailable]", timeout=15000)
    assert "checking every second" in page.inner_text(STATUS)
    before = int(kpis(page, "email-kpis")["sent"]["value"])
    post_one(stack, 0, "fallback")
    wait_sent(page, before + 1)
    started = time.monotonic()
    page.wait_for_timeout(3000)
    assert len([t for t in stamps if t >= started]) >= 2  # the one-second stamp poll runs


def test_the_page_reconnects_when_the_server_restarts(page, stack, site):
    s = site(socketUrl=stack.socket.url, safetySeconds=3600)
    sign_in(page, s, campaign=seed.EMAIL_ONLY, lang="fr")
    open_tab(page, "email")
    page.wait_for_selector(f"{STATUS}[data-live=live]", timeout=15000)
    assert page.inner_text(STATUS).endswith("· en direct")
    stack.socket.stop(keep_endpoint=True)
    try:
        page.wait_for_selector(f"{STATUS}[data-live=retrying]", timeout=10000)
        assert "reconnexion dans" in page.inner_text(STATUS)
        before = int(kpis(page, "email-kpis")["sent"]["value"])
        post_one(stack, 0, "down")  # meanwhile the page polls every second
        wait_sent(page, before + 1)
    finally:
        stack.socket.start()
    page.wait_for_selector(f"{STATUS}[data-live=live]", timeout=20000)
    before = int(kpis(page, "email-kpis")["sent"]["value"])
    post_one(stack, 1, "back")
    wait_sent(page, before + 1)


def test_a_hidden_tab_closes_its_socket(page, stack, site):
    s = site(socketUrl=stack.socket.url, safetySeconds=3600)
    sign_in(page, s, campaign=seed.EMAIL_ONLY)
    open_tab(page, "email")
    page.wait_for_selector(f"{STATUS}[data-live=live]", timeout=15000)
    open_before = len(stack.socket.connections)
    page.evaluate("""() => { Object.defineProperty(document, 'hidden', {value: true, configurable: true});
                             document.dispatchEvent(new Event('visibilitychange')); }""")
    deadline = time.monotonic() + 10
    while len(stack.socket.connections) >= open_before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(stack.socket.connections) == open_before - 1
    page.evaluate("""() => { Object.defineProperty(document, 'hidden', {value: false, configurable: true});
                             document.dispatchEvent(new Event('visibilitychange')); }""")
    page.wait_for_selector(f"{STATUS}[data-live=live]", timeout=15000)
