"""Marketer accounts (issue 14, docs/accounts.md): Cognito users, roles per
workspace stored by the service, one authorizer for keys and user tokens,
admin actions and their audit list."""
