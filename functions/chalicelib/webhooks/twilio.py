"""Twilio Messaging status callbacks (form-encoded, one status change per POST).

X-Twilio-Signature is base64 HMAC-SHA1(auth token, the URL Twilio was given
+ every POST parameter sorted by name, name then value). Behind API Gateway
the exact URL is not in the request (the stage prefix, the query order), so
it is rebuilt in its few plausible spellings and any one may match. Campaign
and profile ids ride in the callback URL's query string, which the
signature covers.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
from typing import Any, Iterable, Mapping
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

from .common import Defaults, Mapped, WebhookRequest, bad_request, base_event, forbidden, iso_from_epoch

SIGNATURE_HEADER = "x-twilio-signature"
MAX_PERMUTED = 5
#: https://www.twilio.com/docs/api/errors/300xx
ERROR_TYPES = {"30003": "unreachable", "30005": "user_unknown", "30006": "not_connected",
               "30004": "refused", "30007": "refused", "30034": "refused"}
ERROR_TEXT = {"30001": "Queue overflow", "30002": "Account suspended", "30003": "Unreachable destination handset",
              "30004": "Message blocked", "30005": "Unknown destination handset", "30006": "Landline or unreachable carrier",
              "30007": "Message filtered", "30008": "Unknown error", "30009": "Missing inbound segment",
              "30010": "Message price exceeds max price", "30011": "MMS not supported by the receiving device",
              "30034": "Message from an unregistered number"}


def parse(request: WebhookRequest) -> list[tuple[str, str]]:
    if not request.header("content-type").lower().startswith("application/x-www-form-urlencoded"):
        raise bad_request("Twilio status callbacks are application/x-www-form-urlencoded")
    try:
        params = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(request.body))
    except (UnicodeDecodeError, ValueError):
        raise bad_request("the body is not a form-encoded Twilio callback") from None
    if not any(k == "MessageSid" for k, _ in params):
        raise bad_request("a Twilio status callback carries MessageSid")
    return params


def signature_of(url: str, params: Iterable[tuple[str, str]], auth_token: str) -> str:
    """Twilio's algorithm: URL + name+value for each parameter, names (then values) sorted."""
    data = url + "".join(k + v for k, v in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def candidate_urls(urls: Iterable[str], query: Mapping[str, list[str]]) -> list[str]:
    """The request's public URL as Twilio may have been given it: with the query in
    received or sorted order, +/%20 spelling, with or without the default port."""
    pairs = [(k, v) for k, values in query.items() for v in values]
    # API Gateway hands the query over as a map: its order is lost, so every order
    # of a short query is tried (5 parameters: 120 orders x 2 spellings, well under 1 ms)
    orders = itertools.permutations(pairs) if len(pairs) <= MAX_PERMUTED else (pairs, sorted(pairs))
    queries = [""] if not pairs else list(dict.fromkeys(
        urlencode(list(order), quote_via=via) for order in orders for via in (quote_plus, quote)))
    out: list[str] = []
    for base in urls:
        parts = urlsplit(base)
        netlocs = {parts.netloc}
        default = {"https": 443, "http": 80}.get(parts.scheme)
        if parts.port == default:
            netlocs.add(parts.hostname or "")
        elif parts.port is None and default:
            netlocs.add(f"{parts.hostname}:{default}")
        for netloc in netlocs:
            for q in queries:
                url = urlunsplit((parts.scheme, netloc, parts.path, q, ""))
                if url not in out:
                    out.append(url)
    return out


def verify(request: WebhookRequest, params: list[tuple[str, str]], credentials: Mapping[str, Any]) -> None:
    """Some spelling of the public URL + the sorted params matches X-Twilio-Signature; else 401."""
    given = request.header(SIGNATURE_HEADER)
    token = str(credentials.get("auth_token") or "")
    if not given or not token:
        raise forbidden("missing X-Twilio-Signature")
    for url in candidate_urls(request.urls, request.query):
        if hmac.compare_digest(signature_of(url, params, token), given):
            return
    raise forbidden("X-Twilio-Signature does not match this URL and these parameters")


def map_events(params: list[tuple[str, str]], query: Mapping[str, list[str]], defaults: Defaults,
               now: float) -> Mapped:
    """(MessageSid, MessageStatus) is the event's identity: Twilio sends no event id or time."""
    form = dict(params)
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    code = str(form.get("ErrorCode") or "").strip()
    event_id = f"{sid}:{status}" + (f":{code}" if code else "")
    mapped = Mapped(ids=[event_id])
    meta = {k: v[0] for k, v in query.items() if v}
    common = dict(event_id=event_id, timestamp=iso_from_epoch(now), meta=meta, defaults=defaults,
                  recipient=form.get("To"), message_id=sid or None)
    if status == "sent":
        event = base_event(etype="sent", **common)
    elif status == "delivered":
        event = base_event(etype="delivered", **common)
    elif status in ("failed", "undelivered"):
        text = form.get("ErrorMessage") or ERROR_TEXT.get(code) or status
        reason = f"{code} {text}" if code else text
        event = base_event(etype="error", reason=reason, error_type=ERROR_TYPES.get(code), **common)
    elif status == "canceled":
        event = base_event(etype="excluded", reason="canceled", **common)
    else:  # accepted, scheduled, queued, sending (before "sent"), read (no SMS open), receiving...
        mapped.unmapped.append(f"twilio:{status or 'unknown'}"[:60])
        return mapped
    mapped.events.append(event)
    return mapped
