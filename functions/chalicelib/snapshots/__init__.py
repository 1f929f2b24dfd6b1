"""Scheduled report snapshot emails (docs/snapshots.md).

subscriptions  model + DynamoDB store        schedule  due periods, claims, retries
render         HTML + plain-text bodies      chart     matplotlib (Agg) PNG
mail           MIME + SES v2 Content.Raw     tokens    signed unsubscribe links
runner         the scheduled function's body
"""
