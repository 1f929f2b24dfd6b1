"""Accounts routes: who am I, members and invitations, API keys and the audit list (docs/accounts.md).

People sign in with Cognito (email + password); their role per workspace is
stored by the service. Admin routes need the effective scope `admin` (role
admin, or a key granted `admin`). A person joins a workspace by accepting an
invitation (/v1/me/invitations), and only they set their display name
(PATCH /v1/me). Env: COGNITO_USER_POOL_ID, COGNITO_CLIENT_ID, COGNITO_REGION,
COGNITO_ENDPOINT (local mode: moto), DASHBOARD_URL (the invitation's link,
when this function knows it; else the trigger's own).
"""
from __future__ import annotations

import json
import os
import time
from typing import Any, Callable

from chalice import Blueprint, Response

from ..accounts import validation
from ..accounts.admin import AccountAdmin, AccountError
from ..accounts.audit import AuditLog
from ..accounts.directory import UserDirectory
from ..accounts.invitations import InvitationStore
from ..accounts.members import MembershipStore
from ..accounts.roles import role_scopes
from ..accounts.tokens import CognitoSettings
from ..auth import Principal
from ..consent.quota import EmailQuota
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
        services = deps.services()
        return AccountAdmin(memberships(deps), audit_log(deps), services.keys, directory,
                            InvitationStore(services.client, services.config.table_name),
                            EmailQuota(services.client, services.config.table_name, services.config.email_daily_quota),
                            os.environ.get("DASHBOARD_URL", "").strip())

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

    def user_call(action: Callable[[dict[str, Any], Any], Any]) -> Response:
        """A signed-in person acting on their own account (any person, member or not; keys are 403)."""
        request = bp.current_request
        context = request.context.get("authorizer") or {}
        if context.get("kind") != "user":
            if context.get("workspace"):
                return error_response(403, "forbidden", "only a signed-in person has an account to change", PRIVATE)
            return error_response(401, "unauthorized", "missing or unknown API key or token", PRIVATE)
        try:
            payload = json.loads(request.raw_body or b"null") if request.method in ("POST", "PATCH") else None
        except ValueError:
            return error_response(400, "invalid_request", "the body must be a JSON object", PRIVATE)
        try:
            body = action(context, payload)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message, PRIVATE)
        return json_response(body, headers=PRIVATE)

    def me_of(context: dict[str, Any]) -> dict[str, Any]:
        record = memberships(deps).user(context["sub"])
        return {"kind": "user", "user_id": context["sub"], "email": record.email or context.get("email", ""),
                "display_name": record.display_name,
                "workspaces": [{"workspace": ws, "role": role, "scopes": sorted(role_scopes(role))}
                               for ws, role in sorted(record.roles.items())],
                "invitations": list(record.invitations)}

    @bp.route("/v1/me", methods=["GET"], authorizer=auth, cors=cors)
    def me() -> Response:
        """Who is calling: a user (email, workspaces with roles, pending invitations) or a key (its workspace)."""
        context = bp.current_request.context.get("authorizer") or {}
        if context.get("kind") == "user":
            return json_response(me_of(context), headers=PRIVATE)
        if context.get("workspace"):
            scopes = sorted(filter(None, (context.get("scopes") or "").split(",")))
            return json_response({"kind": "key", "key_id": context.get("key_id", ""), "email": "", "display_name": "",
                                  "workspaces": [{"workspace": context["workspace"], "role": None, "scopes": scopes}]},
                                 headers=PRIVATE)
        return error_response(401, "unauthorized", "missing or unknown API key or token (Authorization: Bearer ...)")

    @bp.route("/v1/me", methods=["PATCH"], authorizer=auth, cors=cors, content_types=["application/json"])
    def update_me() -> Response:
        """`{display_name}`: the person's own name, wherever they are a member. Nobody else sets it."""
        def rename(context: dict[str, Any], payload: Any) -> dict[str, Any]:
            if not isinstance(payload, dict) or set(payload) != {"display_name"}:
                raise AccountError(422, "invalid_request", "the body is {\"display_name\": \"...\"}")
            try:
                name = validation.text(payload["display_name"], "display_name")
            except ValueError as exc:
                raise AccountError(422, "invalid_request", str(exc)) from exc
            memberships(deps).rename(context["sub"], name)
            return me_of(context)
        return user_call(rename)

    @bp.route("/v1/me/invitations/{workspace}/accept", methods=["POST"], authorizer=auth, cors=cors)
    def accept_invitation(workspace: str) -> Response:
        """Join the workspace the invitation names (the answer is /v1/me, the new workspace in it)."""
        def accept(context: dict[str, Any], _: Any) -> dict[str, Any]:
            account_admin().answer_invitation(context["sub"], context.get("email", ""), workspace, True, time.time())
            logger.info("invitation accepted", extra={"workspace": workspace, "user_id": context["sub"]})
            return me_of(context)
        return user_call(accept)

    @bp.route("/v1/me/invitations/{workspace}/decline", methods=["POST"], authorizer=auth, cors=cors)
    def decline_invitation(workspace: str) -> Response:
        def decline(context: dict[str, Any], _: Any) -> dict[str, Any]:
            account_admin().answer_invitation(context["sub"], context.get("email", ""), workspace, False, time.time())
            logger.info("invitation declined", extra={"workspace": workspace, "user_id": context["sub"]})
            return me_of(context)
        return user_call(decline)

    @bp.route("/v1/invitations", methods=["GET"], authorizer=auth, cors=cors)
    def list_invitations() -> Response:
        """The workspace's invitations nobody has answered yet (and not expired)."""
        def pending(caller: Principal, _: Any) -> dict[str, Any]:
            found = account_admin().invitations.pending(caller.workspace, time.time())
            return {"invitations": [i.public() for i in found]}
        return admin_call(pending)

    @bp.route("/v1/invitations/{invitation_id}", methods=["DELETE"], authorizer=auth, cors=cors)
    def cancel_invitation(invitation_id: str) -> Response:
        def cancel(caller: Principal, _: Any) -> None:
            account_admin().cancel_invitation(caller.workspace, caller, invitation_id[:64], time.time())
        return admin_call(cancel)

    @bp.route("/v1/members", methods=["GET"], authorizer=auth, cors=cors)
    def list_members() -> Response:
        return admin_call(lambda p, _: {"members": [m.public() for m in memberships(deps).members(p.workspace)]})

    @bp.route("/v1/members", methods=["POST"], authorizer=auth, cors=cors, content_types=["application/json"])
    def invite_member() -> Response:
        """An invitation, the same answer whether or not the email has an account: they join by accepting."""
        def invite(caller: Principal, payload: Any) -> dict[str, Any]:
            invitation = account_admin().invite(caller.workspace, caller, payload, time.time())
            logger.info("member invited", extra={"workspace": caller.workspace, "role": invitation.role,
                                                 "invitation_id": invitation.invitation_id})
            return invitation.public()
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
