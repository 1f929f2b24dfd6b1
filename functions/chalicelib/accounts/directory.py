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
    invited: bool  # True: created now, Cognito emailed the invitation with a temporary password


def _sub(attributes: list[dict[str, str]]) -> str:
    return next((a["Value"] for a in attributes if a["Name"] == "sub"), "")


class UserDirectory:
    def __init__(self, client: Any, user_pool_id: str) -> None:
        self.client, self.user_pool_id = client, user_pool_id

    def invite(self, email: str) -> PoolUser:
        """Create the user (Cognito emails the invitation: its message and a
        temporary password), or find the existing one by email."""
        if not self.user_pool_id:
            raise DirectoryError(503, "accounts_disabled", "no Cognito user pool is configured (COGNITO_USER_POOL_ID)")
        try:
            user = self.client.admin_create_user(
                UserPoolId=self.user_pool_id, Username=email, DesiredDeliveryMediums=["EMAIL"],
                UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            )["User"]
            return PoolUser(_sub(user.get("Attributes", [])), email, True)
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code != "UsernameExistsException":
                if code in ("InvalidParameterException", "InvalidPasswordException"):
                    raise DirectoryError(422, "invalid_member", exc.response["Error"].get("Message", code)) from exc
                raise
        found = self.client.admin_get_user(UserPoolId=self.user_pool_id, Username=email)
        return PoolUser(_sub(found.get("UserAttributes", [])), email, False)
