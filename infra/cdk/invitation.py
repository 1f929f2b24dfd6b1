"""The pool's static invitation text (users.py): only what Cognito sends if the
custom-message trigger (functions/app.py `cognito_custom_message`, written in
chalicelib/accounts/invitation_email.py: inviter, workspace, role, link, EN/FR)
is not wired to the pool. Local mode always uses the trigger's email."""

INVITATION_SUBJECT = "Your campaign live reports account"
#: Cognito fills {username} (the email) and {####} (a temporary password, valid 7 days).
INVITATION_BODY = ("You have been invited to campaign live reports.<br><br>"
                   "Sign in to the dashboard with {username} and the temporary password {####} "
                   "(valid 7 days); you will then choose your own password.")
