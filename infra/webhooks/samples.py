"""The published platform payloads (tests/fixtures/esp, a copy of ../shared/samples/esp), made fresh.

Every sample keeps its shape and values except what must change for it to be
counted today and again on the next run: times become "now" (reports keep 48
hours), and platform event ids get a per-run suffix (the same ids would
replay, by design). Tests and the replay script both read them from here.
"""
from __future__ import annotations

import copy
import json
import os
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

ROOT = Path(__file__).resolve().parents[2]
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")


def samples_dir() -> Path:
    """LIVEREPORT_ESP_SAMPLES, else the copy in tests/fixtures/esp (so a bare clone runs every
    sample test), else ../shared/samples/esp beside the repository."""
    env = os.environ.get("LIVEREPORT_ESP_SAMPLES")
    candidates = [Path(env)] if env else []
    candidates += [ROOT / "tests" / "fixtures" / "esp", ROOT.parent / "shared" / "samples" / "esp",
                   ROOT.parents[1] / "shared" / "samples" / "esp"]
    for path in candidates:
        if (path / "MANIFEST.json").exists():
            return path
    raise FileNotFoundError("ESP samples not found: set LIVEREPORT_ESP_SAMPLES to the samples/esp directory")


def load(name: str) -> list[Any]:
    return json.loads((samples_dir() / name).read_text())


def iso(now: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


def fresh_times(value: Any, stamp: str) -> Any:
    """Every ISO 8601 time inside a record becomes ``stamp``."""
    if isinstance(value, dict):
        return {k: fresh_times(v, stamp) for k, v in value.items()}
    if isinstance(value, list):
        return [fresh_times(v, stamp) for v in value]
    if isinstance(value, str) and _ISO.match(value):
        return stamp
    return value


def ses_records(now: float) -> list[tuple[str, dict[str, Any]]]:
    """SES event-publishing records and classic notifications (the SNS Message of each)."""
    stamp = iso(now)
    out = [(f"ses_events#{i}", fresh_times(r, stamp)) for i, r in enumerate(load("ses_events.json"))]
    out += [(f"ses_sns_notifications#{i}", fresh_times(r, stamp))
            for i, r in enumerate(load("ses_sns_notifications.json"))]
    return out


def ses_envelope_messages(now: float) -> list[tuple[str, str]]:
    """The Message of each sample SNS Notification envelope (re-signed by the caller)."""
    stamp = iso(now)
    out = []
    for i, env in enumerate(load("ses_sns_envelopes.json")):
        if env.get("Type") != "Notification":
            continue
        message = env["Message"]
        try:
            message = json.dumps(fresh_times(json.loads(message), stamp))
        except ValueError:
            pass
        out.append((f"ses_sns_envelopes#{i}", message))
    return out


def sendgrid_events(now: float, run: str) -> list[dict[str, Any]]:
    out = []
    for i, event in enumerate(load("sendgrid_events.json")):
        event = copy.deepcopy(event)
        event["timestamp"] = int(now)
        event["sg_event_id"] = f"{event.get('sg_event_id') or 'none'}-{run}-{i}"
        out.append(event)
    return out


def mailgun_event_data(now: float, run: str) -> list[dict[str, Any]]:
    """The event-data of every Mailgun sample (full webhook bodies are unwrapped)."""
    out = []
    for i, sample in enumerate(load("mailgun_events.json")):
        data = copy.deepcopy(sample.get("event-data", sample))
        data["timestamp"] = now
        data["id"] = f"{data.get('id') or 'mg'}-{run}-{i}"
        out.append(data)
    return out


def twilio_params(run: str) -> list[list[tuple[str, str]]]:
    """Form parameters of every Twilio callback (the raw body where there is one)."""
    raw = load("twilio_sms_callbacks_raw_bodies.json")
    out = []
    for i, callback in enumerate(load("twilio_sms_callbacks.json")):
        params = parse_qsl(raw[i], keep_blank_values=True) if i < len(raw) and raw[i] else \
            [(k, str(v)) for k, v in callback.items()]
        params = [(k, f"SM{run}{i:03d}" if k in ("MessageSid", "SmsSid") else v) for k, v in params]
        out.append(params)
    return out


def postmark_records(now: float, run: str) -> list[dict[str, Any]]:
    """Postmark publishes no sample files here: one record per RecordType, with the
    field names of its webhook documentation (postmarkapp.com/developer/webhooks)."""
    stamp = iso(now)
    common = {"MessageStream": "outbound", "Tag": "replay", "Metadata": {}}
    return [
        {**common, "RecordType": "Delivery", "MessageID": f"pm-{run}-1", "Recipient": "john@example.com",
         "DeliveredAt": stamp, "Details": "Test delivery webhook details"},
        {**common, "RecordType": "Bounce", "ID": int(now) % 10**9, "Type": "HardBounce", "TypeCode": 1,
         "MessageID": f"pm-{run}-2", "Email": "john@example.com", "BouncedAt": stamp,
         "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found)."},
        {**common, "RecordType": "SpamComplaint", "ID": int(now) % 10**9 + 1, "Type": "SpamComplaint",
         "MessageID": f"pm-{run}-3", "Email": "john@example.com", "BouncedAt": stamp},
        {**common, "RecordType": "Open", "MessageID": f"pm-{run}-4", "Recipient": "john@example.com",
         "ReceivedAt": stamp, "FirstOpen": True, "Platform": "WebMail"},
        {**common, "RecordType": "Click", "MessageID": f"pm-{run}-5", "Recipient": "john@example.com",
         "ReceivedAt": stamp, "OriginalLink": "https://example.com/offer", "ClickLocation": "HTML"},
        {**common, "RecordType": "SubscriptionChange", "MessageID": f"pm-{run}-6", "Recipient": "john@example.com",
         "ChangedAt": stamp, "SuppressSending": True, "SuppressionReason": "ManualSuppression"},
    ]
