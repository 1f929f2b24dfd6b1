"""The invitation Cognito emails a new user: defined once, for the pool (users.py)
and for local mode, which writes it to its outbox (infra/local/accounts.py)."""

INVITATION_SUBJECT = "Your campaign live reports account"
#: Cognito fills {username} (the email) and {####} (a temporary password, valid 7 days).
INVITATION_BODY = ("You have been invited to campaign live reports.<br><br>"
                   "Sign in to the dashboard with {username} and the temporary password {####} "
                   "(valid 7 days); you will then choose your own password.")
