"""Local tooling for platform webhooks: test signers, fresh samples, the replay CLI."""
