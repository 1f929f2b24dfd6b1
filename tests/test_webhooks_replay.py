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
rc = main(["replay", "--url", stack.api_url, "--key", key, "--campaign", "replayed"])
stack.services.pump()
out = {"rc": rc}
for tab in ("email", "sms"):
    req = urllib.request.Request(f"{stack.api_url}/v1/campaigns/replayed/live?channel={tab}",
                                 headers={"Authorization": f"Bearer {key}"})
    out[tab] = json.loads(urllib.request.urlopen(req).read())["totals"]
print("RESULT " + json.dumps(out))
stack.stop()
"""


def test_replay_script_makes_every_platforms_samples_appear_in_the_live_report():
    samples.samples_dir()  # the repository's own copy (tests/fixtures/esp): never skipped
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT)], capture_output=True, text=True, timeout=240)
    line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert line, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(line[7:])
    assert result["rc"] == 0
    assert "SubscriptionConfirmation → 200" in proc.stdout  # SES: confirmed via the script's own cert server
    email, sms = result["email"], result["sms"]
    # SES 40 + SendGrid 44 + Mailgun 24 + Postmark 6 mapped email events; Twilio 20 SMS events
    assert sum(v for k, v in email.items() if k not in ("open_machine", "engagements")) == 40 + 44 + 24 + 6
    assert sum(v for k, v in sms.items() if k != "engagements") == 20
