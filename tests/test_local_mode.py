"""`make run` as a newcomer and a supervisor see it: `ready:` once the demo is readable,
the demo moving through the stream, and a clean stop within 5 s on SIGTERM and on Ctrl-C."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(tmp_path: Path) -> tuple[subprocess.Popen, dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "TABLE_NAME", "STREAM_NAME")}
    env.update(LIVEREPORT_PORT=str(free_port()), LIVEREPORT_WEB_PORT=str(free_port()), LIVEREPORT_SOCKET_PORT=str(free_port()),
               LIVEREPORT_OUTBOX=str(tmp_path / "outbox"), POWERTOOLS_METRICS_DISABLED="true",
               PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "infra.local"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: dict[str, str] = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        key, _, value = line.partition(":")
        lines.setdefault(key.strip(), value.strip())
        if line.startswith("ready:"):
            return proc, lines
    proc.kill()
    pytest.fail(f"no ready: line; got {lines}")


def get(url: str, key: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    return json.loads(urllib.request.urlopen(request, timeout=10).read())


def stop_within(proc: subprocess.Popen, sig: int) -> float:
    started = time.monotonic()
    os.killpg(proc.pid, sig) if sig == signal.SIGINT else proc.send_signal(sig)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"still running 15 s after signal {sig}")
    return time.monotonic() - started


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_ready_demo_moves_through_the_stream_and_stops_within_5_seconds(tmp_path, sig):
    proc, lines = start(tmp_path)
    try:
        api = lines["ready"]
        key = lines["demo read key"].split()[0]
        campaigns = get(f"{api}/v1/campaigns", key)["campaigns"]
        assert campaigns, "ready: printed before the demo was readable"
        # the change stamp a page polls (the list's copy is written at most once a minute per campaign)
        stamps = lambda: {c["campaign_id"]: get(f"{api}/v1/campaigns/{c['campaign_id']}/stamp", key)["stamp"]  # noqa: E731
                          for c in campaigns}
        first = stamps()
        deadline = time.monotonic() + 20
        moved = False
        while time.monotonic() < deadline and not moved:
            time.sleep(0.5)
            now = stamps()
            moved = any(now.get(c) != s for c, s in first.items())
        assert moved, "the demo's folds did not move any campaign's change stamp"
    finally:
        elapsed = stop_within(proc, sig)
    print(f"\nstopped {elapsed:.2f} s after {signal.Signals(sig).name}")
    assert proc.returncode == 0
    assert elapsed < 5.0
