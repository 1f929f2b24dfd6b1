"""Log lines are structured JSON with a correlation id, and never carry a key or an address."""
from __future__ import annotations

import io
import json
import logging
from datetime import datetime, timezone


def test_ingest_logs_json_with_correlation_id_and_no_secrets(api):
    import app as app_module
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(app_module.logger.registered_formatter)
    logger = app_module.logger._logger if hasattr(app_module.logger, "_logger") else logging.getLogger("livereport")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        key = api.key("loggy")
        now = datetime.now(timezone.utc).isoformat()
        event = {"event_id": "l1", "timestamp": now, "campaign_id": "c", "channel": "email", "type": "sent",
                 "recipient": "jane.doe@example.com", "reason": "x"}
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "X-Request-Id": "req-42"}
        r = api.client.http.post("/v1/events", headers=headers, body=json.dumps({"events": [event]}))
        assert r.status_code == 200
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    ingested = [x for x in lines if x.get("message") == "batch accepted"]
    assert ingested and ingested[0]["correlation_id"] == "req-42" and ingested[0]["accepted"] == 1
    text = stream.getvalue()
    assert key not in text and "jane" not in text.lower()
