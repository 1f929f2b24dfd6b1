"""The Cognito user pool, behind one small class (admin calls only)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ..errors import ApiError


class DirectoryError(ApiError):
    """The user pool refused or is not configured."""


@dataclass(frozen=True)
class PoolUser:
    user_id: str  # the `sub`
    email: str
    #: True: Cognito emailed the invitation (a new account, or one never signed in to: a fresh
    #: temporary password). False: the person has an account; the service emails them itself.
    #: Internal only: the admin's answer never tells (accounts/admin.py).
    emailed: bool


def _sub(attributes: list[dict[str, str]]) -> str:
    return next((a["Value"] for a in attributes if a["Name"] == "sub"), "")


class UserDirectory:
    def __init__(self, client: Any, user_pool_id: str) -> None:
        self.client, self.user_pool_id = client, user_pool_id

    def invite(self, email: str, metadata: dict[str, str]) -> PoolUser:
        """Create the user: Cognito emails the invitation (our custom-message trigger
        writes it from `metadata`, with a temporary password). An existing account
        that never signed in gets a fresh temporary password the same way (RESEND);
        any other existing account is only looked up."""
        if not self.user_pool_id:
            raise DirectoryError(503, "accounts_disabled", "no Cognito user pool is configured (COGNITO_USER_POOL_ID)")
        try:
            user = self._create(email, metadata)
            return PoolUser(_sub(user.get("Attributes", [])), email, True)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "UsernameExistsException":
                self._refuse(exc)
        found = self.client.admin_get_user(UserPoolId=self.user_pool_id, Username=email)
        if found.get("UserStatus") == "FORCE_CHANGE_PASSWORD":
            try:
                self._create(email, metadata, resend=True)
            except ClientError as exc:
                self._refuse(exc)
            return PoolUser(_sub(found.get("UserAttributes", [])), email, True)
        return PoolUser(_sub(found.get("UserAttributes", [])), email, False)

    def _create(self, email: str, metadata: dict[str, str], resend: bool = False) -> dict[str, Any]:
        extra: dict[str, Any] = {"MessageAction": "RESEND"} if resend else {
            "UserAttributes": [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]}
        return self.client.admin_create_user(UserPoolId=self.user_pool_id, Username=email,
                                             DesiredDeliveryMediums=["EMAIL"], ClientMetadata=metadata,
                                             **extra).get("User", {})

    @staticmethod
    def _refuse(exc: ClientError) -> None:
        """A bad address is the caller's 422; anything else propagates as it is."""
        code = exc.response["Error"]["Code"]
        if code in ("InvalidParameterException", "InvalidPasswordException"):
            raise DirectoryError(422, "invalid_member", exc.response["Error"].get("Message", code)) from exc
        raise exc
