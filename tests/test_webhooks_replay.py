"""The local replay script, against a real local stack (moto server + chalice local),
in a subprocess so its environment (AWS_ENDPOINT_URL) stays out of the other tests."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


from infra.webhooks import samples

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = r"""
import json, os, sys, urllib.request
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/functions"]
os.environ.update(POWERTOOLS_METRICS_DISABLED="true", POWERTOOLS_LOG_LEVEL="ERROR")
from infra.local.stack import LocalStack
stack = LocalStack()
stack.start_moto(); stack.create_table(); stack.start_api()
_, key = stack.services.keys.create("default", ["ingest", "read", "manage"], "dev")
from infra.webhooks.__main__ import main
def get(path):
    req = urllib.request.Request(f"{stack.api_url}{path}", headers={"Authorization": f"Bearer {key}"})
    return json.loads(urllib.request.urlopen(req).read())
out = {"runs": []}
for _ in range(2):  # a second run reuses the five sources
    rc = main(["replay", "--url", stack.api_url, "--key", key, "--campaign", "replayed"])
    stack.services.pump()
    run = {"rc": rc, "sources": sorted(s["id"] for s in get("/v1/sources")["sources"])}
    for tab in ("email", "sms"):
        run[tab] = get(f"/v1/campaigns/replayed/live?channel={tab}")["totals"]
    out["runs"].append(run)
print("RESULT " + json.dumps(out))
stack.stop()
"""


def test_replay_script_makes_every_platforms_samples_appear_in_the_live_report():
    samples.samples_dir()  # the repository's own copy (tests/fixtures/esp): never skipped
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT)], capture_output=True, text=True, timeout=240)
    line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert line, proc.stdout[-2000:] + proc.stderr[-2000:]
    first, second = json.loads(line[7:])["runs"]
    assert first["rc"] == 0 and second["rc"] == 0
    assert "SubscriptionConfirmation → 200" in proc.stdout  # SES: confirmed via the script's own cert server
    email, sms = first["email"], first["sms"]
    # SES 40 + SendGrid 44 + Mailgun 24 + Postmark 6 mapped email events; Twilio 20 SMS events
    assert sum(v for k, v in email.items() if k not in ("open_machine", "engagements")) == 40 + 44 + 24 + 6
    assert sum(v for k, v in sms.items() if k != "engagements") == 20
    # the second run reused its five sources (found by label, credentials derived from the key) ...
    assert len(first["sources"]) == 5 and second["sources"] == first["sources"]
    assert proc.stdout.count("(reused)") == 5
    # ... and its samples, with fresh ids, counted again
    assert sum(v for k, v in second["sms"].items() if k != "engagements") == 40
