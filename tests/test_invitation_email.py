"""The Cognito custom-message trigger (issue 17 §4): the invitation of a new account names the inviter,
the workspace and the role, links to the dashboard on that workspace, speaks the invitee's language,
keeps Cognito's placeholders, escapes what people typed, and leaves Cognito's other messages alone."""
from __future__ import annotations

import copy

import pytest

from chalicelib.accounts.invitation_email import client_metadata, custom_message

HOSTILE = '<img src=x onerror="alert(1)">Eve & "co"'


def event(trigger="CustomMessage_AdminCreateUser", metadata=None):
    return {"version": "1", "triggerSource": trigger, "region": "eu-west-1", "userPoolId": "eu-west-1_abc",
            "userName": "0000-1111", "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": None},
            "request": {"userAttributes": {"email": "ivy@example.com", "sub": "0000-1111"},
                        "codeParameter": "{####}", "linkParameter": "{##Click Here##}",
                        "usernameParameter": "{username}",
                        **({"clientMetadata": metadata} if metadata is not None else {})},
            "response": {"smsMessage": None, "emailMessage": None, "emailSubject": None}}


def test_the_invitation_names_who_where_which_role_and_links_to_the_workspace():
    meta = client_metadata("Bea Boss (boss@example.com)", "acme", "editor", "en", "https://dash.example/")
    out = custom_message(event(metadata=meta), env={})["response"]
    assert out["emailSubject"] == "Bea Boss (boss@example.com) invited you to workspace acme"
    html = out["emailMessage"]
    assert html.count("{####}") == 1 and html.count("{username}") >= 1  # Cognito fills them in
    assert "join the workspace “acme” as editor" in html and 'href="https://dash.example/?ws=acme"' in html
    assert "accept the invitation" in html and 'name="viewport"' in html and "max-width:560px" in html
    assert len(html) < 20000  # Cognito's limit for emailMessage
    assert out["smsMessage"] is None


def test_french_and_hostile_names_and_the_link_from_the_functions_environment():
    meta = client_metadata(HOSTILE, "acme", "viewer", "fr", "")
    out = custom_message(event(metadata=meta), env={"DASHBOARD_URL": "https://dash.example/app?x=1"})["response"]
    html = out["emailMessage"]
    assert "<img" not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;Eve &amp; &quot;co&quot;" in html
    assert "rejoindre l'espace « acme » avec le rôle lecteur" in html.replace("&#x27;", "'").replace("\u00a0", " ")
    assert "«\u00a0acme\u00a0»" in html  # French spacing that never breaks a line
    assert "https://dash.example/app?x=1&amp;ws=acme" in html and 'lang="fr"' in html
    assert out["emailSubject"].startswith(HOSTILE)  # a subject is text, not markup


def test_without_metadata_the_invitation_still_carries_the_password():
    out = custom_message(event(metadata=None), env={})["response"]
    assert out["emailSubject"] == "Your campaign live reports account"
    assert "{####}" in out["emailMessage"] and "{username}" in out["emailMessage"]


@pytest.mark.parametrize("trigger", ["CustomMessage_ForgotPassword", "CustomMessage_SignUp",
                                     "CustomMessage_Authentication", "CustomMessage_UpdateUserAttribute"])
def test_other_messages_keep_cognitos_text(trigger):
    before = event(trigger, client_metadata("x", "acme", "viewer", "en", ""))
    assert custom_message(copy.deepcopy(before), env={}) == before


def test_the_app_registers_the_trigger_as_a_lambda_function(api):
    import app as app_module
    assert "cognito_custom_message" in app_module.app.handler_map
    payload = api.client.lambda_.invoke("cognito_custom_message", event(
        metadata=client_metadata("Bea", "acme", "admin", "en", "https://d.example/"))).payload
    assert "as admin" in payload["response"]["emailMessage"]
