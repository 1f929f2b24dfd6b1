"""The OpenAPI paths and schemas of accounts (merged into openapi.py's document)."""
from __future__ import annotations

from typing import Any, Callable

from ..auth import SCOPES
from .roles import ROLES

WORKSPACE_HEADER = {
    "name": "X-Workspace", "in": "header", "required": False, "schema": {"type": "string"},
    "description": "Signed-in users: the workspace to act in (one of GET /v1/me's workspaces; optional "
                   "when they have exactly one). API keys are bound to their workspace (another name: 403)."}


def account_schemas() -> dict[str, Any]:
    scopes = {"type": "array", "items": {"type": "string"}}
    return {
        "Me": {"type": "object", "required": ["kind", "workspaces"], "properties": {
            "kind": {"type": "string", "enum": ["user", "key"]},
            "user_id": {"type": "string", "description": "the Cognito sub (users)"},
            "key_id": {"type": "string", "description": "keys"},
            "email": {"type": "string"}, "display_name": {"type": "string"},
            "workspaces": {"type": "array", "items": {"type": "object", "properties": {
                "workspace": {"type": "string"}, "role": {"type": ["string", "null"], "enum": [*ROLES, None]},
                "scopes": {**scopes, "description": "effective scopes (docs/accounts.md)"}}}},
            "invitations": {"type": "array", "description": "users: pending invitations to accept or decline",
                            "items": {"type": "object", "properties": {
                                "workspace": {"type": "string"}, "role": {"type": "string", "enum": list(ROLES)},
                                "inviter": {"type": "string", "description": "free text: render as text"},
                                "invited_at": {"type": "integer"}, "expires_at": {"type": "integer"}}}}}},
        "Member": {"type": "object", "required": ["user_id", "email", "role"], "properties": {
            "user_id": {"type": "string"}, "email": {"type": "string"},
            "display_name": {"type": "string", "description": "free text: render as text, never as HTML"},
            "role": {"type": "string", "enum": list(ROLES)}, "added_at": {"type": "integer"},
            "added_by": {"type": "string", "description": "sub of the user or id of the key that invited them"}}},
        "MemberRequest": {"type": "object", "required": ["email"], "additionalProperties": False, "properties": {
            "email": {"type": "string", "maxLength": 254}, "role": {"type": "string", "enum": list(ROLES),
                                                                   "default": "viewer"},
            "display_name": {"type": "string", "maxLength": 100,
                             "description": "a suggestion: names a new account only, never an existing one"},
            "language": {"type": "string", "enum": ["en", "fr"], "default": "en",
                         "description": "the invitation email's language"}}},
        "Invitation": {"type": "object", "required": ["invitation_id", "email", "role", "status"], "properties": {
            "invitation_id": {"type": "string"}, "email": {"type": "string"},
            "role": {"type": "string", "enum": list(ROLES)}, "display_name": {"type": "string"},
            "language": {"type": "string"}, "status": {"type": "string", "enum": ["pending"]},
            "invited_by": {"type": "string"}, "invited_at": {"type": "integer"}, "expires_at": {"type": "integer"}}},
        "ApiKey": {"type": "object", "required": ["key_id", "scopes"], "properties": {
            "key_id": {"type": "string"}, "scopes": {**scopes, "items": {"type": "string", "enum": list(SCOPES)}},
            "label": {"type": "string"}, "created_at": {"type": "integer"}, "revoked": {"type": "boolean"},
            "key": {"type": "string", "description": "POST only: the key itself, shown once (only its hash is stored)"}}},
        "AuditEntry": {"type": "object", "properties": {
            "id": {"type": "string"}, "at": {"type": "number", "description": "epoch seconds"},
            "actor": {"type": "object", "properties": {"kind": {"type": "string", "enum": ["user", "key"]},
                                                       "id": {"type": "string"}, "email": {"type": "string"}}},
            "action": {"type": "string", "enum": [
                "member.invited", "member.joined", "member.invitation_declined", "member.invitation_cancelled",
                "member.role_changed", "member.removed", "key.created", "key.revoked", "source.created",
                "source.deleted"]},
            "target": {"type": "string", "description": "user id, key id or source id"},
            "detail": {"type": "object"}}},
    }


def account_paths(bearer: list[dict[str, Any]], error: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    def ref(name: str) -> dict[str, Any]:
        return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}

    denied = {"401": error("Missing or unknown key or token"),
              "403": error("Not an admin of the workspace (role admin, or a key with the admin scope)")}
    common = {"security": bearer, "parameters": [WORKSPACE_HEADER]}
    user_id = {"name": "user_id", "in": "path", "required": True, "schema": {"type": "string"}}
    key_id = {"name": "key_id", "in": "path", "required": True, "schema": {"type": "string"}}
    people = {"401": error("Unauthorized"), "403": error("Not a signed-in person (an API key)")}
    ws_path = {"name": "workspace", "in": "path", "required": True, "schema": {"type": "string"}}
    answer = {"security": bearer, "parameters": [ws_path],
              "responses": {"200": {"description": "The caller after the answer", "content": ref("Me")}, **people,
                            "404": error("No pending invitation to this workspace (cancelled or expired)")}}
    return {
        "/v1/me": {
            "get": {"summary": "Who is calling: a user (email, workspaces and roles, pending invitations) or a key "
                               "(its workspace and scopes)", "security": bearer,
                    "responses": {"200": {"description": "The caller", "content": ref("Me")},
                                  "401": error("Unauthorized")}},
            "patch": {"summary": "Set your own display name (shown in every workspace you belong to)",
                      "security": bearer,
                      "requestBody": {"required": True, "content": {"application/json": {"schema": {
                          "type": "object", "required": ["display_name"], "additionalProperties": False,
                          "properties": {"display_name": {"type": "string", "maxLength": 100}}}}}},
                      "responses": {"200": {"description": "The caller", "content": ref("Me")}, **people,
                                    "422": error("Invalid display name")}}},
        "/v1/me/invitations/{workspace}/accept": {"post": {
            "summary": "Accept a pending invitation: join the workspace with the invited role", **answer}},
        "/v1/me/invitations/{workspace}/decline": {"post": {
            "summary": "Decline a pending invitation", **answer}},
        "/v1/invitations": {"get": {
            "summary": "Pending invitations of the workspace (admin)", **common,
            "responses": {"200": {"description": "invitations", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"invitations": {"type": "array", "items": {
                    "$ref": "#/components/schemas/Invitation"}}}}}}}, **denied}}},
        "/v1/invitations/{invitation_id}": {"delete": {
            "summary": "Cancel a pending invitation (admin)", "security": bearer,
            "parameters": [{"name": "invitation_id", "in": "path", "required": True, "schema": {"type": "string"}},
                           WORKSPACE_HEADER],
            "responses": {"204": {"description": "Cancelled"}, **denied, "404": error("No such pending invitation")}}},
        "/v1/members": {
            "get": {"summary": "Members of the workspace (admin)", **common,
                    "responses": {"200": {"description": "members", "content": {"application/json": {"schema": {
                        "type": "object", "properties": {"members": {"type": "array", "items": {
                            "$ref": "#/components/schemas/Member"}}}}}}}, **denied}},
            "post": {"summary": "Invite someone by email with a role (admin). They join when they accept it after "
                                "signing in; the answer is the same whether or not the email has an account",
                     **common,
                     "requestBody": {"required": True, "content": ref("MemberRequest")},
                     "responses": {"201": {"description": "Invited (pending)", "content": ref("Invitation")},
                                   "400": error("Not a JSON object"), **denied,
                                   "409": error("Already a member, already invited, or a limit reached"),
                                   "422": error("Invalid email, role, display name or language"),
                                   "429": error("The workspace's daily email quota is used up")}}},
        "/v1/members/{user_id}": {
            "patch": {"summary": "Change a member's role (admin)", "security": bearer,
                      "parameters": [user_id, WORKSPACE_HEADER],
                      "requestBody": {"required": True, "content": {"application/json": {"schema": {
                          "type": "object", "required": ["role"], "properties": {
                              "role": {"type": "string", "enum": list(ROLES)}}}}}},
                      "responses": {"200": {"description": "The member", "content": ref("Member")}, **denied,
                                    "404": error("No such member"), "409": error("The last admin cannot be demoted"),
                                    "422": error("Invalid role")}},
            "delete": {"summary": "Remove a member from the workspace (admin); the Cognito user stays", "security": bearer,
                       "parameters": [user_id, WORKSPACE_HEADER],
                       "responses": {"204": {"description": "Removed"}, **denied, "404": error("No such member"),
                                     "409": error("The last admin cannot be removed")}}},
        "/v1/keys": {
            "get": {"summary": "API keys of the workspace, revoked ones included (admin); never the keys themselves",
                    **common, "responses": {"200": {"description": "keys", "content": {"application/json": {
                        "schema": {"type": "object", "properties": {"keys": {"type": "array", "items": {
                            "$ref": "#/components/schemas/ApiKey"}}}}}}}, **denied}},
            "post": {"summary": "Create an API key (admin): the answer is the only time the key is shown", **common,
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "type": "object", "required": ["scopes"], "properties": {
                             "scopes": {"type": "array", "items": {"type": "string", "enum": list(SCOPES)}},
                             "label": {"type": "string", "maxLength": 100}}}}}},
                     "responses": {"201": {"description": "Created", "content": ref("ApiKey")}, **denied,
                                   "409": error("Too many active keys"), "422": error("Invalid scopes or label")}}},
        "/v1/keys/{key_id}": {"delete": {
            "summary": "Revoke an API key (admin)", "security": bearer, "parameters": [key_id, WORKSPACE_HEADER],
            "responses": {"204": {"description": "Revoked"}, **denied, "404": error("No such key")}}},
        "/v1/audit": {"get": {
            "summary": "Admin actions of the workspace, newest first (admin)", "security": bearer,
            "parameters": [WORKSPACE_HEADER,
                           {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200,
                                                                       "default": 50}},
                           {"name": "before", "in": "query", "schema": {"type": "string"},
                            "description": "`next` of the previous page"}],
            "responses": {"200": {"description": "entries", "content": {"application/json": {"schema": {
                "type": "object", "properties": {
                    "entries": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEntry"}},
                    "next": {"type": ["string", "null"]}}}}}}, "400": error("Bad limit or cursor"), **denied}}},
    }
