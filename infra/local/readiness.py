"""When local mode may say `ready:`: once the demo's first batch is readable.

`ready:` used to be printed as soon as the API accepted requests, while
`/v1/campaigns` stayed empty for ~5 s (the demo backfill was still being
ingested and aggregated). A newcomer who opened the page at once saw "no
campaign". `wait_until_readable` polls what the page itself reads first.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Callable


def campaigns_readable(api_url: str, read_key: str, timeout: float = 5.0) -> bool:
    """True when the key's workspace lists at least one campaign."""
    request = urllib.request.Request(f"{api_url}/v1/campaigns", headers={"Authorization": f"Bearer {read_key}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return bool(json.loads(response.read()).get("campaigns"))
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_until_readable(api_url: str, read_key: str, deadline_seconds: float = 60.0,
                        interval: float = 0.25, check: Callable[[str, str], bool] = campaigns_readable) -> bool:
    """Poll until the demo's campaigns are readable; False when the deadline passed (say so, don't hang)."""
    end = time.monotonic() + deadline_seconds
    while True:
        if check(api_url, read_key):
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(interval)
