"""Native webhooks of sending platforms (SES via SNS, SendGrid, Mailgun, Twilio,
Postmark): one module per platform with ``verify`` and ``map_events``;
``sources`` keeps the registered sources, ``service`` runs one request."""
