"""The links in emails: unsubscribe (RFC 8058) and confirm (double opt-in). No API key: the signed
token is the capability (docs/snapshots.md, "Consent and unsubscribe").

GET and HEAD only ever show a page: mail security scanners and link previews fetch every link of
an email, and must not unsubscribe or confirm anyone. Only POST acts: the one-click request a mail
client sends (`List-Unsubscribe=One-Click`, RFC 8058) and the page's own buttons.
Env: UNSUBSCRIBE_SECRET (snapshots/tokens.secret_from_env).
"""
from __future__ import annotations

import time
from typing import Optional
from urllib.parse import parse_qs

from chalice import Blueprint, Response

from ..consent import render
from ..consent.store import ConsentStore, Recipient
from ..notice import Notice
from ..snapshots.tokens import CONFIRM, UNSUBSCRIBE, Link, TokenError, TokenExpired, TokenSigner, secret_from_env
from .common import RouteDeps

METHODS = ["GET", "HEAD", "POST"]
#: RFC 8058 one-click POSTs are form-encoded (either encoding); pages post urlencoded forms.
CONTENT_TYPES = ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain", "application/json"]
PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff", "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'"}


def consent_store(deps: RouteDeps) -> ConsentStore:
    return ConsentStore(deps.services().client, deps.services().config.table_name)


def page(status: int, notice: Notice, head: bool = False) -> Response:
    return Response(body="" if head else notice.page(), status_code=status, headers=PAGE_HEADERS)


def consent_routes(deps: RouteDeps) -> Blueprint:
    bp = Blueprint(__name__)
    logger = deps.logger

    def opened(purpose: str) -> tuple[Optional[Link], Optional[Recipient], Optional[Response]]:
        """The request's link and the recipient it names, or the page that says why not."""
        request = bp.current_request
        head = request.method == "HEAD"
        lang = render.from_accept_language(request.headers.get("accept-language"))
        token = (request.query_params or {}).get("token") or ""
        try:
            link = TokenSigner(secret_from_env()).verify(token, purpose, time.time())
        except TokenExpired as exc:
            known = consent_store(deps).get(exc.link.workspace, exc.link.list_ref, exc.link.recipient)
            return None, None, page(410, render.expired_page(purpose == UNSUBSCRIBE, known, lang), head)
        except TokenError:
            return None, None, page(400, render.invalid_page(lang), head)
        recipient = consent_store(deps).get(link.workspace, link.list_ref, link.recipient)
        if recipient is None:
            return link, None, page(200, render.gone_page(link.recipient, lang), head)
        return link, recipient, None

    def answer() -> str:
        raw = bp.current_request.raw_body or b""
        try:
            form = parse_qs(raw.decode("utf-8", "replace")[:2000])
        except ValueError:
            return ""
        return (form.get("answer") or [""])[0]

    @bp.route("/v1/unsubscribe", methods=METHODS, content_types=CONTENT_TYPES)
    def unsubscribe() -> Response:
        """GET/HEAD: the question. POST (one-click or the page's button): unsubscribe."""
        link, recipient, refused = opened(UNSUBSCRIBE)
        if refused is not None:
            return refused
        assert link is not None and recipient is not None
        request = bp.current_request
        if request.method != "POST":
            return page(200, render.unsubscribe_page(recipient, link.workspace), request.method == "HEAD")
        one_click = b"One-Click" in (request.raw_body or b"")  # either RFC 8058 encoding; the page sends answer=
        done = consent_store(deps).unsubscribe(link.workspace, link.list_ref, link.recipient,
                                               "one-click" if one_click else "page", time.time())
        if done is None:
            return page(200, render.gone_page(link.recipient, recipient.lang))
        logger.info("unsubscribed", extra={"workspace": link.workspace, "list": link.list_ref,
                                           "via": done.via, "recipient_domain": link.recipient.rsplit("@", 1)[-1]})
        return page(200, render.unsubscribe_page(done, link.workspace, answered=True))

    @bp.route("/v1/consent", methods=METHODS, content_types=CONTENT_TYPES)
    def consent() -> Response:
        """GET/HEAD: the question. POST answer=yes confirms; answer=no declines for good."""
        link, recipient, refused = opened(CONFIRM)
        if refused is not None:
            return refused
        assert link is not None and recipient is not None
        request = bp.current_request
        if request.method != "POST":
            return page(200, render.confirm_page(recipient, link.workspace), request.method == "HEAD")
        choice = answer()
        store, now = consent_store(deps), time.time()
        if choice == "yes":
            done = store.confirm(link.workspace, link.list_ref, link.recipient, now)
        elif choice == "no":
            done = store.decline(link.workspace, link.list_ref, link.recipient, now)
        else:
            return page(400, render.confirm_page(recipient, link.workspace))  # the question again
        if done is None:
            return page(200, render.gone_page(link.recipient, recipient.lang))
        logger.info("consent answered", extra={"workspace": link.workspace, "list": link.list_ref, "answer": choice,
                                               "recipient_domain": link.recipient.rsplit("@", 1)[-1]})
        return page(200, render.confirm_page(done, link.workspace, answered=choice))

    return bp
