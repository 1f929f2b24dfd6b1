"""The AWS deployment of the product, as a CDK (v2, Python) app.

    python -m infra.cdk synth [-c stage=dev] [--out DIR]   # offline, no credentials
    npx aws-cdk@2 deploy --app "python -m infra.cdk" -c stage=dev

One stack per stage (``dev``, ``prod``) holds everything: the DynamoDB table
(built from ``functions/chalicelib/tables.py``, the definition local mode uses
too), the Kinesis stream ingest puts to and its aggregator's event source
mapping and failure queue, the Chalice app (packaged by ``chalice.cdk``) with
one least-privilege role per function family (``permissions.py``), stage
throttling and an optional WAF (``gateway.py``), the Cognito pool
(``users.py``), the web page's private bucket behind CloudFront, the SES
identity, CloudWatch alarms and log retention; cdk-nag checks it (``nag.py``).
"""
