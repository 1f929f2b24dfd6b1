"""The stage's CloudWatch alarms and their SNS topic (docs/deploy.md, "Alarms"): the table,
the API, every Lambda, ingest's rejects, and the write path (stream, aggregator)."""
from __future__ import annotations

from typing import Any

from aws_cdk import (
    Aws,
    Duration,
    aws_cloudwatch as cloudwatch,
    aws_cloudwatch_actions as cw_actions,
    aws_iam as iam,
    aws_sns as sns,
    aws_sns_subscriptions as subscriptions,
)

#: Powertools Metrics in app.py: namespace and its default dimension.
METRICS_NAMESPACE = "LiveReport"
METRICS_DIMENSIONS = {"service": "livereport"}  # plus "stage" (app.py's default dimension)
#: The aggregator's logical id in the Chalice template (functions/app.py: fold_stream).
AGGREGATOR_FUNCTION = "FoldStream"


def stage_alarms(stack: Any) -> sns.Topic:
    """The stage's alarm topic and every alarm on it; each construct adds its own (live, deliveries, rollups)."""
    s = stack.settings
    topic = sns.Topic(stack, "Alarms", display_name=f"livereport {s.stage} alarms", enforce_ssl=True)
    topic.add_to_resource_policy(iam.PolicyStatement(
        sid="CloudWatchAlarms", actions=["sns:Publish"], resources=[topic.topic_arn],
        principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}))
    if s.alarm_email:
        topic.add_subscription(subscriptions.EmailSubscription(s.alarm_email))
    action = cw_actions.SnsAction(topic)
    five_minutes = Duration.minutes(5)

    def alarm(name: str, metric: cloudwatch.IMetric, threshold: float, description: str,
              periods: int = 1) -> None:
        a = cloudwatch.Alarm(
            stack, f"{name}Alarm", alarm_name=f"{s.stack_name}-{name}", alarm_description=description,
            metric=metric, threshold=threshold, evaluation_periods=periods, datapoints_to_alarm=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
        a.add_alarm_action(action)
        a.add_ok_action(action)

    table_dims = {"TableName": stack.table.table_name}
    alarm("TableThrottles", cloudwatch.MathExpression(
        expression="r + w", label="Throttled read + write events", period=five_minutes, using_metrics={
            "r": cloudwatch.Metric(namespace="AWS/DynamoDB", metric_name="ReadThrottleEvents",
                                   dimensions_map=table_dims, statistic="Sum", period=five_minutes),
            "w": cloudwatch.Metric(namespace="AWS/DynamoDB", metric_name="WriteThrottleEvents",
                                   dimensions_map=table_dims, statistic="Sum", period=five_minutes)}),
          1, "DynamoDB throttled requests on the table (ingest retries, then answers 503)")
    alarm("TableSystemErrors", cloudwatch.Metric(
        namespace="AWS/DynamoDB", metric_name="SystemErrors", dimensions_map=table_dims,
        statistic="Sum", period=five_minutes), 1, "DynamoDB answered 5xx on the table")
    alarm("Api5xx", cloudwatch.Metric(
        namespace="AWS/ApiGateway", metric_name="5XXError", statistic="Sum", period=five_minutes,
        dimensions_map={"ApiName": s.stack_name, "Stage": s.api_gateway_stage}),
          1, "The API answered 5xx (handler errors, 503 store unavailable, gateway errors)")
    for name in stack.function_names():
        alarm(f"{name}Errors", cloudwatch.Metric(
            namespace="AWS/Lambda", metric_name="Errors", statistic="Sum", period=five_minutes,
            dimensions_map={"FunctionName": stack.chalice.get_resource(name).ref}),
              1, f"Lambda function {name} raised (unhandled errors, timeouts)")
    app_dims = {**METRICS_DIMENSIONS, "stage": stack.settings.stage}
    alarm("IngestStoreUnavailable", cloudwatch.Metric(
        namespace=METRICS_NAMESPACE, metric_name="StoreUnavailable", dimensions_map=app_dims,
        statistic="Sum", period=five_minutes),
          1, "Ingest gave up on the store after retries and answered 503 (producers retry)")
    ingest = {name: cloudwatch.Metric(namespace=METRICS_NAMESPACE, metric_name=metric,
                                      dimensions_map=app_dims, statistic="Sum", period=five_minutes)
              for name, metric in (("acc", "EventsAccepted"), ("rej", "EventsRejected"),
                                   ("bad", "RequestsRejected"))}
    alarm("IngestRejectRate", cloudwatch.MathExpression(
        expression="100 * rej / (acc + rej)", label="Rejected events (%)", period=five_minutes,
        using_metrics={"acc": ingest["acc"], "rej": ingest["rej"]}),
          10, "More than 10% of ingested events rejected for 15 minutes (a producer sends bad events)", periods=3)
    alarm("IngestRequestsRejected", ingest["bad"], 50,
          "Whole ingest requests rejected (malformed, oversize) 50+ times in 5 minutes, 3 periods running",
          periods=3)
    stream_alarms(stack, alarm, app_dims)
    stack.live.alarms(alarm, app_dims)
    stack.alert_deliveries.alarms(alarm)
    stack.rollup_fan_out.alarms(alarm)
    return topic

def stream_alarms(stack: Any, alarm: Any, app_dims: dict[str, str]) -> None:
    """The write path: the aggregator behind, stalled or giving up, poison records, stream throttles."""
    one_minute, five_minutes = Duration.minutes(1), Duration.minutes(5)
    aggregator = {"FunctionName": stack.chalice.get_resource(AGGREGATOR_FUNCTION).ref}
    alarm("AggregatorIteratorAge", cloudwatch.Metric(
        namespace="AWS/Lambda", metric_name="IteratorAge", dimensions_map=aggregator,
        statistic="Maximum", period=one_minute),
          60_000, "The aggregator is more than 60 s behind the stream for 3 minutes: the page is stale "
                  "(a batch keeps failing, or the stream outgrew its shards)", periods=3)
    alarm("AggregatorStalled", cloudwatch.MathExpression(
        expression="IF(FILL(incoming, 0) > 0 AND FILL(invocations, 0) == 0, 1, 0)",
        label="Records arrived, aggregator not invoked", period=five_minutes, using_metrics={
            "incoming": stack.stream.metric_incoming_records(statistic="Sum", period=five_minutes),
            "invocations": cloudwatch.Metric(namespace="AWS/Lambda", metric_name="Invocations",
                                             dimensions_map=aggregator, statistic="Sum",
                                             period=five_minutes)}),
          1, "Records reach the stream but the aggregator is not invoked for 10 minutes "
             "(event source mapping disabled or lacking permissions)", periods=2)
    alarm("AggregatorFailedBatches", stack.failure_queue.metric_approximate_number_of_messages_visible(
        statistic="Maximum", period=five_minutes),
          1, "Lambda gave up on a batch of the stream (records expired unfolded): its shard and sequence "
             "range are in the failure queue")
    for metric, description in (
            ("PoisonRecords", "The aggregator set aside undecodable stream records (DEADLETTER items in the table)"),
            ("DroppedUncommitted", "The aggregator dropped stream records whose request never committed "
                                   "(the producer got no 200; expected to be rare)")):
        alarm(f"Aggregator{metric}", cloudwatch.Metric(
            namespace=METRICS_NAMESPACE, metric_name=metric, dimensions_map=app_dims,
            statistic="Sum", period=five_minutes), 1, description)
    alarm("StreamWriteThrottles", stack.stream.metric_write_provisioned_throughput_exceeded(
        statistic="Sum", period=five_minutes),
          1, "The stream throttled ingest's puts (ingest retries, then answers 503): add shards "
             "(context stream_shards) or switch to stream_mode=on_demand")
