"""Local accounts: a Cognito user pool and app client on the moto server, and
an admin user of workspaces `demo` and `default` (docs/accounts.md).

Environment:
  LIVEREPORT_ADMIN_EMAIL     the admin's email (default admin@example.com)
  LIVEREPORT_ADMIN_PASSWORD  their password (random when unset); printed as `sign-in: <email> <password>`
"""
from __future__ import annotations

import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .stack import FUNCTIONS

#: The browser's Cognito calls are unsigned, and moto serves unsigned calls it
#: cannot place (GlobalSignOut) from us-east-1: the local pool lives there so
#: that every call of the page reaches it. (moto lacks RevokeToken: see serve_revoke_token.)
REGION = "us-east-1"
WORKSPACES = ("demo", "default")
#: The same rules as infra/cdk/users.py's pool.
PASSWORD_POLICY = {"MinimumLength": 12, "RequireUppercase": True, "RequireLowercase": True,
                   "RequireNumbers": True, "RequireSymbols": True, "TemporaryPasswordValidityDays": 7}


@dataclass
class LocalAccounts:
    user_pool_id: str
    client_id: str
    endpoint: str
    email: str
    password: str
    user_id: str
    lines: list[str] = field(default_factory=list)

    @property
    def web_config(self) -> dict[str, Any]:
        """Merged into the page's runtime config.json."""
        # USER_PASSWORD_AUTH, not the page's default SRP: moto answers SRP's PASSWORD_VERIFIER without
        # checking the proof, so any password would sign in; its USER_PASSWORD_AUTH does check.
        return {"cognito": {"userPoolId": self.user_pool_id, "clientId": self.client_id, "region": REGION,
                            "endpoint": self.endpoint, "authFlow": "USER_PASSWORD_AUTH"}}


def serve_revoke_token() -> None:
    """Teach the in-process moto server Cognito's RevokeToken, which it lacks
    (500), so signing out of the local page revokes the refresh token as it does
    in AWS: the token of that client stops refreshing; others stay valid."""
    from moto.cognitoidp.exceptions import NotAuthorizedError
    from moto.cognitoidp.responses import CognitoIdpResponse
    from moto.core.responses import EmptyResult

    if hasattr(CognitoIdpResponse, "revoke_token"):
        return

    def revoke_token(self: Any) -> Any:
        token, client_id = self._get_param("Token"), self._get_param("ClientId")
        for pool in self.backend.user_pools.values():
            held = pool.refresh_tokens.get(token)
            if held is not None:
                if held[0] != client_id:
                    raise NotAuthorizedError("Token was not issued to this client")
                pool.refresh_tokens[token] = None
        return EmptyResult()  # an unknown or already revoked token: nothing to do, as in AWS

    CognitoIdpResponse.revoke_token = revoke_token  # type: ignore[attr-defined]


def serve_refresh_tokens() -> None:
    """Teach the in-process moto server Cognito's GetTokensFromRefreshToken, which it
    lacks (500) and Amplify Auth uses to refresh a session (an expired access token, or
    the forced refresh after accepting an invitation): answered as moto's own
    REFRESH_TOKEN_AUTH answers, so a revoked refresh token is refused here too."""
    from moto.cognitoidp.responses import CognitoIdpResponse
    from moto.core.responses import ActionResult

    if hasattr(CognitoIdpResponse, "get_tokens_from_refresh_token"):
        return

    def get_tokens_from_refresh_token(self: Any) -> Any:
        result = self._get_region_agnostic_backend().initiate_auth(
            self._get_param("ClientId"), "REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": self._get_param("RefreshToken")})
        return ActionResult(result)

    CognitoIdpResponse.get_tokens_from_refresh_token = get_tokens_from_refresh_token  # type: ignore[attr-defined]


#: Where local mode writes the pool's emails (start_accounts sets it; the moto shims read it).
_outbox: dict[str, Path] = {}


def serve_invitations(outbox: Path) -> None:
    """moto creates an invited user with no password and emails nothing, so
    nobody could accept an invitation locally. Like Cognito, give the user a
    temporary password and send the invitation the pool's custom-message
    trigger writes (the same handler as in AWS, fed the same ClientMetadata),
    here as an `.eml` file in the outbox (snapshot and alert emails land there
    too). A RESEND (an account never signed in to, invited again) gets a new
    temporary password the same way; moto itself would create a second user."""
    from moto.cognitoidp.exceptions import UserNotFoundError
    from moto.cognitoidp.responses import CognitoIdpResponse
    from moto.core.responses import ActionResult

    _outbox["folder"] = outbox
    if getattr(CognitoIdpResponse.admin_create_user, "local_invitations", False):
        return
    create = CognitoIdpResponse.admin_create_user

    def admin_create_user(self: Any) -> Any:
        action, metadata = self._get_param("MessageAction"), self._get_param("ClientMetadata") or {}
        pool = self.backend.describe_user_pool(self._get_param("UserPoolId"))
        if action == "RESEND":
            user = pool._get_user(self._get_param("Username"))
            if user is None:
                raise UserNotFoundError("User does not exist.")
            user.password = random_password()
            write_invitation(_outbox["folder"], user.attribute_lookup.get("email", ""), user.password, metadata)
            return ActionResult({"User": user.to_json(extended=True)})
        invite = not self._get_param("TemporaryPassword") and action is None
        answer = create(self)
        if invite:
            user = pool._get_user(self._get_param("Username"))
            user.password = random_password()
            write_invitation(_outbox["folder"], user.attribute_lookup.get("email", ""), user.password, metadata)
        return answer

    admin_create_user.local_invitations = True  # type: ignore[attr-defined]
    CognitoIdpResponse.admin_create_user = admin_create_user  # type: ignore[method-assign]


def serve_reset_codes() -> None:
    """moto mints a reset code but sends it nowhere, and accepts any code it did not
    mint. Like Cognito, email the code (to the outbox) and accept only that code."""
    import json

    from moto.cognitoidp.exceptions import CodeMismatchException
    from moto.cognitoidp.responses import CognitoIdpResponse

    if getattr(CognitoIdpResponse.forgot_password, "local_reset_codes", False):
        return
    forgot, confirm = CognitoIdpResponse.forgot_password, CognitoIdpResponse.confirm_forgot_password
    prefix = "moto-confirmation-code:"

    def forgot_password(self: Any) -> Any:
        answer = forgot(self)
        minted = self.response_headers.get("x-moto-forgot-password-confirmation-code") or ""
        if minted.startswith(prefix):  # a known user: moto minted a code for them
            write_email(_outbox["folder"], "reset", self._get_param("Username"), RESET_SUBJECT,
                        RESET_BODY.replace("{####}", minted[len(prefix):]))
        return answer

    def confirm_forgot_password(self: Any) -> Any:
        params = json.loads(self.body)
        code = str(params.get("ConfirmationCode", ""))
        if not code.startswith(prefix):  # moto checks only codes of its own form
            params["ConfirmationCode"] = prefix + code
            self.body = json.dumps(params)
        try:
            return confirm(self)
        except Exception as exc:
            if type(exc).__name__ == "ExpiredCodeException":
                raise CodeMismatchException("Invalid verification code provided, please try again.") from None
            raise

    forgot_password.local_reset_codes = True  # type: ignore[attr-defined]
    CognitoIdpResponse.forgot_password = forgot_password  # type: ignore[method-assign]
    CognitoIdpResponse.confirm_forgot_password = confirm_forgot_password  # type: ignore[method-assign]


#: Cognito's default verification message (the pool does not customise it).
RESET_SUBJECT = "Your verification code"
RESET_BODY = "Your verification code is {####}."


def write_invitation(folder: Path, email: str, password: str, metadata: dict[str, str]) -> Path:
    """The invitation Cognito would send: the pool's custom-message trigger (functions/app.py,
    chalicelib/accounts/invitation_email.py) called as Cognito calls it, placeholders filled
    as Cognito fills them, as an .eml file (with the plain-text twin Cognito does not send)."""
    from html import escape

    sys.path.insert(0, str(FUNCTIONS))
    from chalicelib.accounts.invitation_email import ADMIN_CREATE_USER, custom_message, invitation

    event = {"version": "1", "triggerSource": ADMIN_CREATE_USER, "region": REGION, "userPoolId": "local",
             "userName": email, "callerContext": {"awsSdkVersion": "local", "clientId": "local"},
             "request": {"userAttributes": {"email": email}, "codeParameter": "{####}",
                         "usernameParameter": "{username}", "clientMetadata": dict(metadata)},
             "response": {"smsMessage": None, "emailMessage": None, "emailSubject": None}}
    answer = custom_message(event)["response"]
    fill = {"{username}": email, "{####}": password}
    html, text = answer["emailMessage"], invitation(metadata, "{username}", "{####}")[1].text()
    for placeholder, value in fill.items():
        html, text = html.replace(placeholder, escape(value)), text.replace(placeholder, value)
    return write_email(folder, "invitation", email, answer["emailSubject"], html, text)


def write_email(folder: Path, kind: str, email: str, subject: str, html: str, text: str | None = None) -> Path:
    """An email the pool would send, as `<kind>-<email>-<ms>.eml` in the outbox."""
    from email.message import EmailMessage

    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, "no-reply@verificationemail.com", email
    message.set_content(text if text is not None else html.replace("<br>", "\n"))
    message.add_alternative(html if html.lstrip().startswith("<!DOCTYPE") else f"<p>{html}</p>", subtype="html")
    folder.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in email)
    path = folder / f"{kind}-{safe}-{int(time.time() * 1000)}.eml"
    path.write_bytes(bytes(message))
    print(f"{kind} email written: {path}", flush=True)
    return path


def random_password() -> str:
    """Meets the pool's policy: upper, lower, digit and symbol, 20 characters."""
    return "Lr" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y") + "7!q"


def start_accounts(stack: Any, email: str | None = None, password: str | None = None,
                   outbox: Path | None = None) -> LocalAccounts:
    """Create the pool, its app client and the admin (after stack.start_moto and
    create_table); sets COGNITO_* in this process so the local API verifies
    tokens of the pool against the moto server's JWKS."""
    import boto3
    sys.path.insert(0, str(FUNCTIONS))
    from chalicelib.accounts.members import Member, MembershipError, MembershipStore
    from chalicelib.accounts.validation import email as check_email

    email = check_email(email or os.environ.get("LIVEREPORT_ADMIN_EMAIL") or "admin@example.com")
    password = password or os.environ.get("LIVEREPORT_ADMIN_PASSWORD") or random_password()
    serve_revoke_token()
    serve_refresh_tokens()
    # moto accepts any TOTP code unless asked to check it (against its one fixed secret, which the
    # page's QR code then carries, so a real authenticator app works locally too).
    os.environ.setdefault("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")
    serve_invitations(outbox or Path(os.environ.get("LIVEREPORT_OUTBOX", "outbox")).resolve())
    serve_reset_codes()
    cognito = boto3.client("cognito-idp", region_name=REGION, endpoint_url=stack.moto_url)
    pool_id = cognito.create_user_pool(
        PoolName="livereport-local-users", UsernameAttributes=["email"], AutoVerifiedAttributes=["email"],
        UsernameConfiguration={"CaseSensitive": False}, MfaConfiguration="OPTIONAL",
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        AccountRecoverySetting={"RecoveryMechanisms": [{"Priority": 1, "Name": "verified_email"}]},  # as EMAIL_ONLY in CDK
        Policies={"PasswordPolicy": PASSWORD_POLICY})["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="livereport-local-web", GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        PreventUserExistenceErrors="ENABLED", EnableTokenRevocation=True)["UserPoolClient"]["ClientId"]
    os.environ.update({"COGNITO_USER_POOL_ID": pool_id, "COGNITO_CLIENT_ID": client_id,
                       "COGNITO_REGION": REGION, "COGNITO_ENDPOINT": stack.moto_url})

    cognito.admin_create_user(UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": email},
                                              {"Name": "email_verified", "Value": "true"}])
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=password, Permanent=True)
    attributes = cognito.admin_get_user(UserPoolId=pool_id, Username=email)["UserAttributes"]
    user_id = next(a["Value"] for a in attributes if a["Name"] == "sub")
    members = MembershipStore(stack.services.client, stack.services.config.table_name)
    for workspace in WORKSPACES:
        try:
            members.add(Member(workspace, user_id, email, "Local admin", "admin", int(time.time()), "make run"))
        except MembershipError:
            pass  # already there
    return LocalAccounts(pool_id, client_id, stack.moto_url, email, password, user_id, lines=[
        f"sign-in: {email} {password}",
        f"user pool:      {pool_id} (client {client_id}); admin of workspaces {', '.join(WORKSPACES)}"])
