"""Accounts routes: who am I, members, API keys and the audit list (issue 14, docs/accounts.md).

People sign in with Cognito (email + password); their role per workspace is
stored by the service. Admin routes need the effective scope `admin` (role
admin, or a key granted `admin`). Env: COGNITO_USER_POOL_ID,
COGNITO_CLIENT_ID, COGNITO_REGION, COGNITO_ENDPOINT (local mode: moto).
"""
from __future__ import annotations

import json
import os
import time
from typing import Any, Callable

from chalice import Blueprint, Response

from ..accounts.admin import AccountAdmin
from ..accounts.audit import AuditLog
from ..accounts.directory import UserDirectory
from ..accounts.members import MembershipStore
from ..accounts.roles import role_scopes
from ..accounts.tokens import CognitoSettings
from ..auth import Principal
from ..http import ApiError, error_response
from .common import PRIVATE, RouteDeps, json_response, principal


def memberships(deps: RouteDeps) -> MembershipStore:
    return MembershipStore(deps.services().client, deps.services().config.table_name)


def audit_log(deps: RouteDeps) -> AuditLog:
    return AuditLog(deps.services().client, deps.services().config.table_name)


def account_routes(deps: RouteDeps) -> Blueprint:
    bp = Blueprint(__name__)
    auth, cors, logger = deps.authorizer, deps.cors, deps.logger

    def account_admin() -> AccountAdmin:
        settings = CognitoSettings.from_env(os.environ)
        directory = None
        if settings is not None:
            import boto3
            directory = UserDirectory(boto3.client("cognito-idp", region_name=settings.region,
                                                   endpoint_url=settings.endpoint or None), settings.user_pool_id)
        return AccountAdmin(memberships(deps), audit_log(deps), deps.services().keys, directory)

    def admin_call(action: Callable[[Principal, Any], Any], status: int = 200) -> Response:
        """Run an admin action for the caller (scope admin); errors as JSON."""
        request = bp.current_request
        try:
            caller = principal(request, "admin", logger)
            payload: Any = None
            if request.method in ("POST", "PATCH"):
                try:
                    payload = json.loads(request.raw_body or b"")
                except ValueError:
                    return error_response(400, "invalid_request", "the body must be a JSON object")
            body = action(caller, payload)
        except ApiError as exc:  # AccountError, MembershipError and DirectoryError are ApiErrors
            return error_response(exc.status, exc.code, exc.message, PRIVATE)
        if body is None:
            return Response(body="", status_code=204, headers=PRIVATE)
        return json_response(body, status=status, headers=PRIVATE)

    @bp.route("/v1/me", methods=["GET"], authorizer=auth, cors=cors)
    def me() -> Response:
        """Who is calling: a user (email, workspaces with roles) or a key (its workspace)."""
        context = bp.current_request.context.get("authorizer") or {}
        if context.get("kind") == "user":
            record = memberships(deps).user(context["sub"])
            return json_response({"kind": "user", "user_id": context["sub"],
                                  "email": record.email or context.get("email", ""),
                                  "display_name": record.display_name,
                                  "workspaces": [{"workspace": ws, "role": role, "scopes": sorted(role_scopes(role))}
                                                 for ws, role in sorted(record.roles.items())]}, headers=PRIVATE)
        if context.get("workspace"):
            scopes = sorted(filter(None, (context.get("scopes") or "").split(",")))
            return json_response({"kind": "key", "key_id": context.get("key_id", ""), "email": "", "display_name": "",
                                  "workspaces": [{"workspace": context["workspace"], "role": None, "scopes": scopes}]},
                                 headers=PRIVATE)
        return error_response(401, "unauthorized", "missing or unknown API key or token (Authorization: Bearer ...)")

    @bp.route("/v1/members", methods=["GET"], authorizer=auth, cors=cors)
    def list_members() -> Response:
        return admin_call(lambda p, _: {"members": [m.public() for m in memberships(deps).members(p.workspace)]})

    @bp.route("/v1/members", methods=["POST"], authorizer=auth, cors=cors, content_types=["application/json"])
    def invite_member() -> Response:
        def invite(caller: Principal, payload: Any) -> dict[str, Any]:
            member, invited = account_admin().invite(caller.workspace, caller, payload, time.time())
            logger.info("member invited", extra={"workspace": caller.workspace, "user_id": member.user_id,
                                                 "role": member.role, "new_user": invited})
            return {**member.public(), "invited": invited}
        return admin_call(invite, status=201)

    @bp.route("/v1/members/{user_id}", methods=["PATCH"], authorizer=auth, cors=cors,
              content_types=["application/json"])
    def change_member_role(user_id: str) -> Response:
        return admin_call(lambda p, payload: account_admin().change_role(
            p.workspace, p, user_id, payload, time.time()).public())

    @bp.route("/v1/members/{user_id}", methods=["DELETE"], authorizer=auth, cors=cors)
    def remove_member(user_id: str) -> Response:
        def remove(caller: Principal, _: Any) -> None:
            account_admin().remove(caller.workspace, caller, user_id, time.time())
        return admin_call(remove)

    @bp.route("/v1/keys", methods=["GET"], authorizer=auth, cors=cors)
    def list_keys() -> Response:
        return admin_call(lambda p, _: {"keys": deps.services().keys.list(p.workspace)})

    @bp.route("/v1/keys", methods=["POST"], authorizer=auth, cors=cors, content_types=["application/json"])
    def create_key() -> Response:
        """The new key is in this answer only (`key`); the store keeps its hash."""
        return admin_call(lambda p, payload: account_admin().create_key(p.workspace, p, payload, time.time()),
                          status=201)

    @bp.route("/v1/keys/{key_id}", methods=["DELETE"], authorizer=auth, cors=cors)
    def revoke_key(key_id: str) -> Response:
        def revoke(caller: Principal, _: Any) -> None:
            if not account_admin().revoke_key(caller.workspace, caller, key_id, time.time()):
                raise ApiError(404, "not_found", "no such key in this workspace")
        return admin_call(revoke)

    @bp.route("/v1/audit", methods=["GET"], authorizer=auth, cors=cors)
    def audit_list() -> Response:
        """Admin actions, newest first: ?limit=1..200 (default 50), ?before=<next of the previous page>."""
        params = bp.current_request.query_params or {}

        def entries(caller: Principal, _: Any) -> dict[str, Any]:
            raw_limit, before = params.get("limit") or "50", params.get("before") or None
            if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 200:
                raise ApiError(400, "invalid_request", "limit: 1 to 200")
            if before is not None and (len(before) > 40 or not before.replace("#", "").isalnum()):
                raise ApiError(400, "invalid_request", "before: the `next` value of the previous page")
            items, cursor = audit_log(deps).list(caller.workspace, int(raw_limit), before)
            return {"entries": items, "next": cursor}
        return admin_call(entries)

    return bp
