"""Marketer accounts: the Cognito user pool and the dashboard's app client
(docs/accounts.md). Roles per workspace are not here: the service stores them
in its table, so one user can be admin of one workspace and viewer of another.
"""
from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, aws_cognito as cognito, aws_lambda as lambda_
from constructs import Construct

from infra.cdk.config import StageSettings
from infra.cdk.invitation import INVITATION_BODY, INVITATION_SUBJECT

#: threat_protection setting -> Cognito's mode (Plus feature plan). "audit"
#: scores and logs risky sign-ins (compromised credentials, adaptive
#: authentication) without acting; "enforced" also blocks what it rates high risk.
THREAT_PROTECTION_MODES = {"audit": cognito.StandardThreatProtectionMode.AUDIT_ONLY,
                           "enforced": cognito.StandardThreatProtectionMode.FULL_FUNCTION}


class Users(Construct):
    def __init__(self, scope: Construct, construct_id: str, settings: StageSettings,
                 removal: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        self.pool = cognito.UserPool(
            self, "Pool",
            user_pool_name=f"{settings.stack_name}-users",
            # Admins invite people (AdminCreateUser); nobody signs themselves up.
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True, username=False),
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            keep_original=cognito.KeepOriginalAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)),
            password_policy=cognito.PasswordPolicy(
                min_length=12, require_lowercase=True, require_uppercase=True, require_digits=True,
                require_symbols=True, temp_password_validity=Duration.days(7)),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            user_invitation=cognito.UserInvitationConfig(email_subject=INVITATION_SUBJECT,
                                                         email_body=INVITATION_BODY),
            deletion_protection=settings.retain_data,
            removal_policy=removal,
            **threat_protection(settings))
        self.client = self.pool.add_client(
            "Web",
            user_pool_client_name=f"{settings.stack_name}-web",
            # A browser cannot keep a secret. SRP only (the password never leaves the
            # browser; web/src/session.ts), refresh tokens (always allowed by the CDK) so a
            # session survives reloads. USER_PASSWORD_AUTH is local mode's alone
            # (infra/local/accounts.py: moto does not check SRP proofs).
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True),
            disable_o_auth=True,
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30))

    def add_custom_message_trigger(self, function_arn: str) -> None:
        """Cognito asks this function for the wording of its emails
        (invitations, password resets, verifications): the trigger, and
        permission for this pool alone to invoke it."""
        function = lambda_.Function.from_function_attributes(
            self, "CustomMessageFunction", function_arn=function_arn, same_environment=True)
        self.pool.add_trigger(cognito.UserPoolOperation.CUSTOM_MESSAGE, function)


def threat_protection(settings: StageSettings) -> dict[str, object]:
    """The pool's feature plan and threat protection (docs/deploy.md: the Plus
    plan is billed per monthly active user)."""
    mode = THREAT_PROTECTION_MODES.get(settings.threat_protection)
    if mode is None:
        return {"feature_plan": cognito.FeaturePlan.ESSENTIALS}
    return {"feature_plan": cognito.FeaturePlan.PLUS, "standard_threat_protection_mode": mode}
