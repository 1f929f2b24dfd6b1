"""HTTP helpers shared by the routes: errors, principals, query parsing."""
from __future__ import annotations

import json
import re
from typing import Any, Mapping

from chalice import Response

from .accounts.roles import KEY_SCOPE_EXPANSION
from .errors import ApiError
from .auth import Principal
from .events import ID_PATTERN, ID_RULE
from .reports.global_ import GlobalQuery, global_query
from .reports.live import DAY_SECONDS, TABS, LiveQuery

_ID = re.compile(ID_PATTERN)
_WINDOW = re.compile(r"^(\d{1,5})([mh]?)$")

#: Executions one report can filter on: a page's filter lists the executions of its data,
#: and 100 ids of 128 characters stay within API Gateway's URL limit.
MAX_EXECUTIONS = 100
#: A query string this long is no request a client of this API makes (API Gateway itself
#: stops URLs near 8 KB); refusing it early bounds the parsing and echoing of values.
MAX_QUERY_CHARS = 8192
MAX_QUERY_VALUES = 200


def check_query_size(params: Any) -> None:
    """400 for a query string with more values or characters than any client of this API sends."""
    if not params:
        return
    names = list(params.keys()) if hasattr(params, "keys") else []
    values = [v for n in names for v in _multi(params, n)]
    if len(values) > MAX_QUERY_VALUES or sum(len(n) for n in names) + sum(len(v) for v in values) > MAX_QUERY_CHARS:
        raise ApiError(400, "invalid_request", f"query string: at most {MAX_QUERY_VALUES} values and "
                                               f"{MAX_QUERY_CHARS} characters")


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps({"error": {"code": code, "message": message}}), status_code=status,
                    headers={"Content-Type": "application/json", **(headers or {})})


def principal_of(context: Mapping[str, Any], scope: str, workspace_header: str | None = None) -> Principal:
    """401 for a missing or unknown key or token, 403 for a caller without the scope."""
    principal = caller_of(context, workspace_header)
    if scope not in principal.scopes:
        if principal.kind == "user":
            raise ApiError(403, "forbidden", f"your role '{principal.role}' has no '{scope}' scope here")
        granted = next((g for g, eff in KEY_SCOPE_EXPANSION.items() if scope in eff), scope)
        raise ApiError(403, "forbidden", f"this key has no '{scope}' scope (keys get it with the '{granted}' scope)")
    return principal


def caller_of(context: Mapping[str, Any], workspace_header: str | None = None) -> Principal:
    """The caller in the workspace it acts in, with its effective scopes there.

    A key is bound to its workspace (an `X-Workspace` naming another is 403).
    A signed-in user names the workspace in `X-Workspace` (optional when they
    belong to exactly one) and gets the scopes of their role there."""
    requested = (workspace_header or "").strip()
    if context.get("kind") == "user":
        return _user_principal(context, requested)
    workspace = context.get("workspace") or ""
    if not workspace:
        raise ApiError(401, "unauthorized", "missing or unknown API key (Authorization: Bearer <key>)")
    if requested and requested != workspace:
        raise ApiError(403, "forbidden", "this key belongs to another workspace than X-Workspace names")
    scopes = frozenset(filter(None, (context.get("scopes") or "").split(",")))
    return Principal(workspace, scopes, context.get("key_id") or context.get("principalId", ""))


def _user_principal(context: Mapping[str, Any], requested: str) -> Principal:
    from .accounts.roles import decode_roles, role_scopes
    roles = decode_roles(context.get("roles"))
    if not requested:
        if len(roles) != 1:
            raise ApiError(400 if roles else 403, "workspace_required" if roles else "forbidden",
                           "name the workspace in the X-Workspace header" if roles
                           else "you are not a member of any workspace")
        requested = next(iter(roles))
    role = roles.get(requested)
    if role is None:
        raise ApiError(403, "forbidden", "you are not a member of this workspace")
    return Principal(requested, role_scopes(role), context.get("sub") or context.get("principalId", ""), "user",
                     context.get("email") or "", role)


def _multi(params: Any, name: str) -> list[str]:
    if params is None:
        return []
    if hasattr(params, "getlist"):
        try:
            return list(params.getlist(name))
        except KeyError:
            return []
    value = params.get(name)
    return [] if value is None else [value]


def parse_window(raw: str | None) -> int:
    if not raw:
        return DAY_SECONDS
    m = _WINDOW.match(raw)
    if not m:
        raise ApiError(400, "invalid_request", "window: a number of seconds, or e.g. 15m, 1h, 24h")
    seconds = int(m.group(1)) * {"": 1, "m": 60, "h": 3600}[m.group(2)]
    if not 60 <= seconds <= DAY_SECONDS or seconds % 60:
        raise ApiError(400, "invalid_request", "window: whole minutes from 1 minute to 24 hours")
    return seconds


def live_query(workspace: str, campaign_id: str, params: Any) -> LiveQuery:
    executions = _multi(params, "execution")
    _check_ids(campaign_id, executions)
    tab = (params or {}).get("channel") or ""
    if tab not in TABS:
        raise ApiError(400, "invalid_request", f"channel: one of {', '.join(TABS)}")
    return LiveQuery(workspace, campaign_id, tab,
                     frozenset(executions) if executions else None,
                     parse_window((params or {}).get("window")))


def _check_ids(campaign_id: str, executions: list[str]) -> None:
    if not _ID.match(campaign_id):
        raise ApiError(400, "invalid_request", f"campaign_id: {ID_RULE}")
    if len(executions) > MAX_EXECUTIONS:
        raise ApiError(400, "invalid_request", f"execution: at most {MAX_EXECUTIONS} values in one request "
                                               "(leave it out for every execution)")
    for e in executions:
        if e and not _ID.match(e):
            raise ApiError(400, "invalid_request", f"execution: {ID_RULE}")


def report_query(workspace: str, campaign_id: str, params: Any, now: float) -> GlobalQuery:
    """Global report parameters; RangeError (400) for bad channel/from/to/tz (reports/ranges.py)."""
    executions = _multi(params, "execution")
    _check_ids(campaign_id, executions)
    p = params or {}
    return global_query(workspace, campaign_id, p.get("channel") or "", p.get("from"), p.get("to"), p.get("tz"),
                        frozenset(executions) if executions else None, now)


def report_options(params: Any) -> tuple[bool, str | None]:
    """(compare with the previous period, "csv" or None) of `compare=previous` and `format=csv|json`;
    any other value is a 400 rather than a silently different answer."""
    p = params or {}
    compare, fmt = p.get("compare") or None, p.get("format") or None
    if compare not in (None, "previous"):
        raise ApiError(400, "invalid_request", "compare: previous, or leave it out")
    if fmt not in (None, "csv", "json"):
        raise ApiError(400, "invalid_request", "format: csv or json")
    return compare == "previous", "csv" if fmt == "csv" else None
