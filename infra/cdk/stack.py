"""One stage of the product: table, ingest stream, Chalice app (API, aggregator,
rollup), web site, SES identity; alarms in alarms.py, other concerns in their own constructs."""
from __future__ import annotations

import json
import os
from typing import Any

from aws_cdk import (
    Aws,
    CfnOutput,
    Duration,
    RemovalPolicy,
    Stack,
    Tags,
    aws_cloudfront as cloudfront,
    aws_cloudfront_origins as origins,
    aws_iam as iam,
    aws_kinesis as kinesis,
    aws_logs as logs,
    aws_s3 as s3,
    aws_secretsmanager as secretsmanager,
    aws_ses as ses,
    aws_sqs as sqs,
    aws_ssm as ssm,
)
from chalice.cdk import Chalice
from constructs import Construct

from infra.cdk import permissions
from infra.cdk.alarms import AGGREGATOR_FUNCTION, stage_alarms
from infra.cdk.config import FUNCTIONS_DIR, StageSettings
from infra.cdk.deliveries import AlertDeliveries
from infra.cdk.rollups import RollupFanOut
from infra.cdk.gateway import RateLimitAcl, add_gateway_responses, throttle_methods
from infra.cdk.live import LiveChannel
from infra.cdk.roles import FunctionRoles
from infra.cdk.table import LiveReportTable
from infra.cdk.users import Users

#: Logical ids in the Chalice template of the rollup (functions/app.py: rollup; the aggregator's,
#: fold_stream, is alarms.AGGREGATOR_FUNCTION), the API handler and the key authorizer.
ROLLUP_FUNCTION = "Rollup"
API_FUNCTION = "APIHandler"
AUTHORIZER_FUNCTION = "KeyAuthorizer"
#: The user pool's custom-message trigger (app.py: cognito_custom_message), when the app defines it.
CUSTOM_MESSAGE_FUNCTION = "CognitoCustomMessage"
#: The authorizer verifies a token or reads one key: seconds, not the stage's minute.
AUTHORIZER_TIMEOUT_S = 10
#: Cognito gives a custom-message trigger 5 s (then retries up to 3 times).
CUSTOM_MESSAGE_TIMEOUT_S = 5
CUSTOM_MESSAGE_MEMORY_MB = 1024


def content_security_policy(api_origin: str, cognito_origin: str = "", socket_origin: str = "") -> str:
    """The dashboard's CSP: its own scripts and styles only, data only from
    itself (config.json), the API and Cognito (sign-in, token refresh and
    revocation; docs/accounts.md). ``style-src-attr 'unsafe-inline'`` lets
    the chart library's tooltip markup keep its style attributes; no inline
    or remote script is allowed."""
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        f"connect-src 'self' {api_origin}" + (f" {cognito_origin}" if cognito_origin else "")
        + (f" {socket_origin}" if socket_origin else ""),
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "upgrade-insecure-requests",
    ])


def event_stream(scope: Construct, settings: StageSettings, removal: RemovalPolicy) -> kinesis.Stream:
    """The durable log between ingest and the aggregator, named after the
    stage (STREAM_NAME). 24 h retention (the default, and the cheapest): the
    aggregator normally lags by seconds and the iterator-age alarm fires after
    a few minutes. Encrypted with the AWS-managed key (alias/aws/kinesis),
    which needs no KMS permissions in the functions' roles."""
    provisioned = settings.stream_mode == "provisioned"
    return kinesis.Stream(
        scope, "EventStream", stream_name=settings.stream_name,
        stream_mode=kinesis.StreamMode.PROVISIONED if provisioned else kinesis.StreamMode.ON_DEMAND,
        shard_count=settings.stream_shards if provisioned else None,
        retention_period=Duration.hours(24),
        encryption=kinesis.StreamEncryption.MANAGED,
        removal_policy=removal)


class LiveReportStack(Stack):
    def __init__(self, scope: Construct, settings: StageSettings, **kwargs: Any) -> None:
        # The construct id is the stage name: chalice.cdk packages the app
        # with the stage named after its scope, so functions/.chalice/config.json's
        # "dev"/"prod" stage settings apply.
        super().__init__(scope, settings.stage, stack_name=settings.stack_name,
                         description=f"Campaign live reports ({settings.stage})", **kwargs)
        self.settings = settings
        Tags.of(self).add("project", "livereport")
        Tags.of(self).add("stage", settings.stage)
        removal = RemovalPolicy.RETAIN if settings.retain_data else RemovalPolicy.DESTROY

        self.table = LiveReportTable(self, "Table", settings)
        self.email_identity = self._email_identity()
        self.identity_arn = self.format_arn(service="ses", resource="identity",
                                            resource_name=settings.ses_identity)
        self.unsubscribe_secret = secretsmanager.Secret(
            self, "UnsubscribeSecret",
            description="Signs the unsubscribe links of snapshot emails (read at run time: UNSUBSCRIBE_SECRET_ARN)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True),
            removal_policy=removal)
        self.profile_key_secret = secretsmanager.Secret(
            self, "ProfileKeySecret",
            description="Keys the hashes of recipient addresses that stand for profiles in distinct counts "
                        "(read at run time: PROFILE_KEY_SECRET_ARN)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True),
            removal_policy=removal)  # kept as long as the counts it keyed
        self.stream = event_stream(self, settings, removal)
        self.failure_queue = self._failure_queue(removal)
        self.alert_deliveries = AlertDeliveries(self, "AlertDeliveries", removal)
        self.rollup_fan_out = RollupFanOut(self, "RollupFanOut", removal)
        self.users = Users(self, "Users", settings, removal)
        self.roles = FunctionRoles(self, "Roles", settings.stage, self.resource_arns)
        self.chalice = self._chalice_app()
        rest_api = self.chalice.get_resource("RestAPI")
        # The API's name is its CloudWatch ApiName dimension: one per stage.
        rest_api.add_property_override("DefinitionBody.info.title", settings.stack_name)
        self.api_id = rest_api.ref
        add_gateway_responses(self, self.api_id)  # one error shape, also for errors the gateway answers
        throttle_methods(rest_api, settings, self.sam_template()["Resources"]["RestAPI"]["Properties"]
                         ["DefinitionBody"]["paths"])
        self.api_origin = f"https://{self.api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}"
        self.api_url = f"{self.api_origin}/{settings.api_gateway_stage}"
        self.live = LiveChannel(self)  # the live channel's WebSocket API (packaged by Chalice)
        self._function_roles()
        self._function_env()
        self._stream_functions()
        self.live.wire()
        self.alert_deliveries.wire(self)
        self.rollup_fan_out.wire(self)
        self._log_groups()
        self.site_bucket, self.distribution = self._site(removal)
        self.dashboard_url = f"https://{self.distribution.distribution_domain_name}/"
        # The emails' deep links open the dashboard: scheduled functions and whoever may send email
        # (the alert deliveries run from their queue, not a schedule).
        for name in dict.fromkeys([*self.scheduled_function_names(),
                                   *self.functions_granted(permissions.SENDER_IDENTITY)]):
            if name == "APIHandler":  # the site's CSP names the API: the API reads the address from SSM instead
                self.chalice.add_environment_variable("DASHBOARD_URL_PARAMETER", self.dashboard_url_parameter, name)
                continue
            self.chalice.add_environment_variable("DASHBOARD_URL", self.dashboard_url, name)
        self._custom_message_trigger()
        if settings.waf:
            self.web_acl = RateLimitAcl(self, "Waf", settings, self.api_id)
        self.alarm_topic = stage_alarms(self)
        self._outputs()

    # --- SES -------------------------------------------------------------
    def _email_identity(self) -> ses.EmailIdentity:
        s = self.settings
        identity = ses.Identity.domain(s.sender_domain) if s.sender_domain else ses.Identity.email(s.sender)
        return ses.EmailIdentity(self, "SenderIdentity", identity=identity)

    # --- the ingest stream ------------------------------------------------
    def _failure_queue(self, removal: RemovalPolicy) -> sqs.Queue:
        """The aggregator's on-failure destination: Lambda sends the metadata
        (shard, first/last sequence numbers) of a batch it discards, never the
        records. With infinite retries that only happens when records outlive
        the stream's retention, so any message here is data to recover by hand
        (docs/deploy.md)."""
        return sqs.Queue(
            self, "AggregatorFailures",
            encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
            retention_period=Duration.days(14), removal_policy=removal)

    # --- IAM: one role per function family (infra/cdk/permissions.py) ----
    @property
    def dashboard_url_parameter(self) -> str:
        """Where the dashboard's address is for functions that cannot name the
        distribution in their environment (the user pool's trigger: pool ->
        trigger -> distribution -> API -> handler -> pool would be a cycle)."""
        return f"/livereport/{self.settings.stage}/dashboard-url"

    def resource_arns(self, resource: str) -> list[str]:
        """The ARNs a symbolic resource of the permission model stands for."""
        arns = {
            permissions.TABLE: lambda: [self.table.table_arn, *self.table.index_arns],
            permissions.STREAM: lambda: [self.stream.stream_arn],
            permissions.FAILURE_QUEUE: lambda: [self.failure_queue.queue_arn],
            permissions.ALERT_QUEUE: lambda: [self.alert_deliveries.queue.queue_arn],
            permissions.ROLLUP_QUEUE: lambda: [self.rollup_fan_out.queue.queue_arn],
            permissions.SENDER_IDENTITY: lambda: [self.identity_arn],
            permissions.USER_POOL: lambda: [self.users.pool.user_pool_arn],
            permissions.UNSUBSCRIBE_SECRET: lambda: [self.unsubscribe_secret.secret_arn],
            permissions.PROFILE_KEY_SECRET: lambda: [self.profile_key_secret.secret_arn],
            permissions.SOCKET_API: lambda: [self.live.connections_arn()],
            permissions.DASHBOARD_URL_PARAMETER: lambda: [self.format_arn(
                service="ssm", resource="parameter", resource_name=self.dashboard_url_parameter.lstrip("/"))],
        }
        if resource not in arns:
            raise ValueError(f"permission model names resource {resource!r}: map it in LiveReportStack.resource_arns")
        return arns[resource]()

    def role_of(self, function_name: str) -> iam.Role:
        return self.roles.role_of(function_name)

    def _function_roles(self) -> None:
        """Every packaged function runs as its family's role. (Per-function
        roles cannot go through chalice.cdk's stage_config, and the role ARNs
        are tokens: override the packaged resources.)"""
        for name in self.function_names():
            self.chalice.get_resource(name).add_property_override("Role", self.role_of(name).role_arn)

    def functions_granted(self, resource: str) -> list[str]:
        """Functions whose role may use a resource: only they get its name in their environment."""
        families = {name: permissions.family_of(name) for name in self.function_names()}
        return [name for name, family in families.items()
                if family is not None and any(g.resource == resource for g in family.grants)]

    def _function_env(self) -> None:
        """Per-function settings: each function sees only what it uses.

        - COGNITO_*: the authorizer verifies tokens, the API invites users.
        - UNSUBSCRIBE_SECRET_ARN, PROFILE_KEY_SECRET_ARN: where each secret is, for
          the functions whose role may read it (chalicelib/secrets.py reads it
          once per container).
        - PUBLIC_API_URL (unsubscribe links) only on scheduled functions: the
          API handler cannot name its own API (RestAPI -> handler ARN -> cycle)."""
        functions = set(self.function_names())
        for name in (API_FUNCTION, AUTHORIZER_FUNCTION):
            if name not in functions:
                raise ValueError(f"functions/app.py no longer defines {name}: update infra/cdk/stack.py")
            for key, value in (("COGNITO_USER_POOL_ID", self.users.pool.user_pool_id),
                               ("COGNITO_CLIENT_ID", self.users.client.user_pool_client_id),
                               ("COGNITO_REGION", Aws.REGION)):
                self.chalice.add_environment_variable(key, value, name)
        for resource, variable, secret in (
                (permissions.UNSUBSCRIBE_SECRET, "UNSUBSCRIBE_SECRET_ARN", self.unsubscribe_secret),
                (permissions.PROFILE_KEY_SECRET, "PROFILE_KEY_SECRET_ARN", self.profile_key_secret)):
            for name in self.functions_granted(resource):
                self.chalice.add_environment_variable(variable, secret.secret_arn, name)
        for name in self.scheduled_function_names():
            self.chalice.add_environment_variable("PUBLIC_API_URL", self.api_url, name)
        api, authorizer = (self.chalice.get_resource(n) for n in (API_FUNCTION, AUTHORIZER_FUNCTION))
        # Nothing behind API Gateway outlives its 29 s integration timeout: a
        # slow request must not hold a Lambda (and its concurrency) after the
        # client got its 504.
        api.add_property_override("Timeout", self.settings.api_timeout_s)
        authorizer.add_property_override("Timeout", AUTHORIZER_TIMEOUT_S)

    def _custom_message_trigger(self) -> None:
        """The pool's custom-message trigger, when app.py defines the function
        (``@app.lambda_function(name="cognito_custom_message")``): Cognito
        invokes it for invitations, resets and verifications. It gets the
        dashboard's address from an SSM parameter (DASHBOARD_URL_PARAMETER),
        and none of the pool's ids (they would make a cycle)."""
        if CUSTOM_MESSAGE_FUNCTION not in self.function_names():
            return
        ssm.StringParameter(
            self, "DashboardUrlParameter", parameter_name=self.dashboard_url_parameter,
            string_value=self.dashboard_url, description=f"livereport {self.settings.stage}: the dashboard's URL")
        function = self.chalice.get_resource(CUSTOM_MESSAGE_FUNCTION)
        # The name as a literal, not the parameter's Ref: a Ref would make the
        # function wait for the distribution, which waits for the API (a cycle).
        function.add_property_override("Environment.Variables.DASHBOARD_URL_PARAMETER", self.dashboard_url_parameter)
        # Cognito waits 5 s for a trigger; more memory is more CPU for the app's cold start.
        function.add_property_override("Timeout", CUSTOM_MESSAGE_TIMEOUT_S)
        function.add_property_override("MemorySize", CUSTOM_MESSAGE_MEMORY_MB)
        self.users.add_custom_message_trigger(function.get_att("Arn").to_string())

    def _log_groups(self) -> None:
        """One log group per function, with the stage's retention, and write
        access to those groups only: no CreateLogGroup, so a function cannot
        recreate its group without retention.

        (Chalice's own ``log_retention_in_days`` emits a log group that names
        a resource missing from its template: aws/chalice#2079.)"""
        arns: dict[str, str] = {}
        for name in self.function_names():
            function_name = self.chalice.get_resource(name).ref
            group = logs.CfnLogGroup(self, f"{name}Logs", log_group_name=f"/aws/lambda/{function_name}",
                                     retention_in_days=self.settings.log_retention_days)
            group.apply_removal_policy(RemovalPolicy.DESTROY)
            arns[name] = group.attr_arn
        self.roles.allow_logs(arns)

    # --- Chalice -----------------------------------------------------------
    def _chalice_app(self) -> Chalice:
        s = self.settings
        stage_config = {
            "autogen_policy": False,
            # Dependencies in a managed layer keyed by requirements.txt alone:
            # editing app code re-zips only the code (no pip run), and a
            # deploy uploads a new layer only when requirements change.
            "automatic_layer": True,
            "manage_iam_role": False,
            # Chalice wants one; every function is then pointed at its family's role.
            "iam_role_arn": self.roles.role(permissions.API).role_arn,
            "lambda_memory_size": s.lambda_memory_mb,
            "lambda_timeout": s.lambda_timeout_s,
            "environment_variables": {
                "TABLE_NAME": self.table.table_name,
                # What ingest puts to. A literal, not the stream's Ref token:
                # app.py's decorator reads STREAM_NAME at package time into an
                # Fn::Sub, which CfnInclude cannot parse with a token in it.
                # The aggregator's event source is set from the stream itself in
                # _stream_functions(), and every role's policy names the stream,
                # so the functions still deploy after it.
                "STREAM_NAME": s.stream_name,
                "SENDER_EMAIL": s.sender,
                # Secrets and the Cognito ids are per function (_function_env).
            },
            "tags": {"project": "livereport", "stage": s.stage},
        }
        # POST /v1/webhooks/{platform}/{source_id} has no authorizer on purpose: the sending
        # platform's own signature authenticates it (docs/webhooks.md); for SES it fetches SNS
        # signing certificates over HTTPS, so the functions need outbound internet (no VPC).
        return Chalice(self, "Api", source_dir=str(FUNCTIONS_DIR), stage_config=stage_config)

    def sam_template(self) -> dict[str, Any]:
        """The template `chalice package` produced (before CDK rewrote it)."""
        path = os.path.join(self.chalice._sam_package_dir, "sam.json")  # noqa: SLF001 (no public accessor)
        with open(path) as f:
            return json.load(f)

    def sam_resources(self, resource_type: str) -> list[str]:
        return sorted(name for name, r in self.sam_template()["Resources"].items() if r["Type"] == resource_type)

    def function_names(self) -> list[str]:
        return self.sam_resources("AWS::Serverless::Function")

    def scheduled_function_names(self) -> list[str]:
        resources = self.sam_template()["Resources"]
        return [name for name in self.function_names()
                if any(e.get("Type") == "Schedule" for e in resources[name]["Properties"].get("Events", {}).values())]

    def kinesis_events(self, function_name: str) -> list[str]:
        events = self.sam_template()["Resources"][function_name]["Properties"].get("Events", {})
        return [name for name, e in events.items() if e.get("Type") == "Kinesis"]

    def event_source_properties(self) -> dict[str, Any]:
        """The aggregator's event source mapping. Chalice's decorator only
        sets batch size, starting position and window, and names the stream
        by STREAM_NAME at package time; everything is set here instead.

        - BatchSize 10,000 (the maximum) and the stage's batching window:
          the fewer, larger folds, the fewer writes per event.
        - ParallelizationFactor 1: one invocation per shard at a time, so the
          per-shard watermark only moves forward (docs/design.md).
        - BisectBatchOnFunctionError off: the aggregator pins a fold's bounds
          before applying it; halving a failed batch only shortens retries
          (it copes, but each half re-reads the pinned records).
        - MaximumRetryAttempts -1 and MaximumRecordAgeInSeconds -1: a failed
          batch is retried until its records leave the stream (24 h), never
          skipped while a fold may be half applied. Poison records do not
          block the shard: the aggregator sets them aside itself. The
          iterator-age alarm fires after 3 minutes of lag over 60 s.
        - On failure (records expired unfolded): the batch's metadata goes to
          the failure queue.
        - No ReportBatchItemFailures: the handler folds or fails a batch as a
          whole (its empty batchItemFailures list means "all done" either way)."""
        s = self.settings
        return {
            "Stream": self.stream.stream_arn,
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": 10000,
            "MaximumBatchingWindowInSeconds": s.stream_batching_window_s,
            "ParallelizationFactor": 1,
            "BisectBatchOnFunctionError": False,
            "MaximumRetryAttempts": -1,
            "MaximumRecordAgeInSeconds": -1,
            "DestinationConfig": {"OnFailure": {"Destination": self.failure_queue.queue_arn}},
            "Enabled": True,
        }

    def _stream_functions(self) -> None:
        """Sizes and the event source of the aggregator and the rollup
        (per-function settings cannot go through chalice.cdk's stage_config:
        override the packaged resources)."""
        s = self.settings
        functions = set(self.function_names())
        missing = {AGGREGATOR_FUNCTION, ROLLUP_FUNCTION} - functions
        if missing:
            raise ValueError(f"functions/app.py no longer defines {sorted(missing)}: update infra/cdk/stack.py")
        events = self.kinesis_events(AGGREGATOR_FUNCTION)
        if len(events) != 1 or any(self.kinesis_events(name) for name in functions - {AGGREGATOR_FUNCTION}):
            raise ValueError(f"expected one Kinesis event source, on {AGGREGATOR_FUNCTION} only")
        aggregator = self.chalice.get_resource(AGGREGATOR_FUNCTION)
        aggregator.add_property_override("MemorySize", s.aggregator_memory_mb)
        aggregator.add_property_override("Timeout", s.aggregator_timeout_s)
        aggregator.add_property_override(f"Events.{events[0]}.Properties", self.event_source_properties())
        rollup = self.chalice.get_resource(ROLLUP_FUNCTION)
        rollup.add_property_override("Timeout", s.rollup_timeout_s)

    # --- Web site ------------------------------------------------------------
    def _site(self, removal: RemovalPolicy) -> tuple[s3.Bucket, cloudfront.Distribution]:
        bucket = s3.Bucket(
            self, "SiteBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=self.settings.retain_data,
            removal_policy=removal)
        headers = cloudfront.ResponseHeadersPolicy(
            self, "SiteHeaders",
            comment=f"livereport {self.settings.stage}: strict CSP, HSTS",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=content_security_policy(
                        self.api_origin, f"https://cognito-idp.{Aws.REGION}.{Aws.URL_SUFFIX}", self.live.origin),
                    override=True),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365), include_subdomains=True, preload=False,
                    override=True),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True),
                xss_protection=cloudfront.ResponseHeadersXSSProtection(protection=False, override=True)),
            custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(custom_headers=[
                cloudfront.ResponseCustomHeader(header="Permissions-Policy", override=True,
                                                value="camera=(), microphone=(), geolocation=(), payment=()"),
                cloudfront.ResponseCustomHeader(header="Cross-Origin-Opener-Policy", value="same-origin",
                                                override=True)]),
            remove_headers=["Server"])
        distribution = cloudfront.Distribution(
            self, "Site",
            comment=f"livereport {self.settings.stage} dashboard",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=headers,
                compress=True),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            # The default *.cloudfront.net certificate fixes the TLS policy; a
            # custom domain (certificate + minimum_protocol_version) would set it.
            price_class=cloudfront.PriceClass.PRICE_CLASS_100)
        return bucket, distribution

    # --- Outputs ---------------------------------------------------------------
    def _outputs(self) -> None:
        outputs = {
            "ApiUrl": (self.api_url, "Base URL of the API: apiUrl in the site's config.json"),
            "SocketUrl": (self.live.url, "The live channel (WebSocket): socketUrl in the site's config.json"),
            "SiteUrl": (f"https://{self.distribution.distribution_domain_name}", "The dashboard"),
            "SiteBucketName": (self.site_bucket.bucket_name, "Upload web/dist and config.json here"),
            "DistributionId": (self.distribution.distribution_id, "Invalidate after an upload"),
            "TableName": (self.table.table_name, "TABLE_NAME for python -m infra.keys"),
            "StreamName": (self.stream.stream_name, "STREAM_NAME: the ingest stream the aggregator folds"),
            "AggregatorFailureQueueUrl": (self.failure_queue.queue_url,
                                          "Metadata of stream batches the aggregator gave up on"),
            "AlertDeliveryQueueUrl": (self.alert_deliveries.queue.queue_url, "Alert notifications waiting to be sent"),
            "AlertDeliveryDeadLettersUrl": (self.alert_deliveries.dead_letters.queue_url,
                                            "Alert notifications the delivery function gave up on"),
            "SesIdentity": (self.settings.ses_identity, "SES identity to verify before snapshots send"),
            "AlarmTopicArn": (self.alarm_topic.topic_arn, "Subscribe to receive alarms"),
            "UserPoolId": (self.users.pool.user_pool_id, "cognito.userPoolId in the site's config.json"),
            "UserPoolClientId": (self.users.client.user_pool_client_id, "cognito.clientId in the site's config.json"),
        }
        if self.settings.sender_domain:
            for i, record in enumerate(self.email_identity.dkim_records, 1):
                outputs[f"DkimCname{i}"] = (f"{record.name} CNAME {record.value}",
                                            "Publish in DNS to verify the sending domain (Easy DKIM)")
        for key, (value, description) in outputs.items():
            CfnOutput(self, key, value=value, description=description)
