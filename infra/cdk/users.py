"""Marketer accounts: the Cognito user pool and the dashboard's app client
(docs/accounts.md). Roles per workspace are not here: the service stores them
in its table, so one user can be admin of one workspace and viewer of another.
"""
from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, aws_cognito as cognito
from constructs import Construct

from infra.cdk.config import StageSettings
from infra.cdk.invitation import INVITATION_BODY, INVITATION_SUBJECT

#: What the API function does to the pool: invite (create) a user and find one by email.
POOL_ACTIONS = ["cognito-idp:AdminCreateUser", "cognito-idp:AdminGetUser"]



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
            removal_policy=removal)
        self.client = self.pool.add_client(
            "Web",
            user_pool_client_name=f"{settings.stack_name}-web",
            # A browser cannot keep a secret; SRP for the page, password auth for scripts,
            # refresh tokens (always allowed by the CDK) so a session survives reloads.
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True, user_password=True),
            disable_o_auth=True,
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30))
