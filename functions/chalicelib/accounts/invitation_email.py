"""The invitation email, and the Cognito custom-message trigger that sends it to new accounts.

A new person's invitation must carry Cognito's temporary password, which only
Cognito knows: AdminCreateUser calls the pool's CustomMessage trigger
(`CustomMessage_AdminCreateUser`) with the `ClientMetadata` the API passed
(inviter, workspace, role, language, dashboard URL) and the placeholders
`{username}` / `{####}` that Cognito fills in after. A person who already has
an account gets the same email without the password part, through SES
(consent/mailer.py). Local mode calls `custom_message` on moto's invitations,
so its outbox holds the same email.

Cognito sends the HTML we return as the whole message (it has no plain-text
part); the SES and local copies carry the plain-text twin too. Every value is
escaped (notice.py): an inviter's name is someone's free text.
"""
from __future__ import annotations

import os
from typing import Any, Mapping, Optional
from urllib.parse import urlencode

from aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event import CustomMessageTriggerEvent

from ..notice import Button, Notice
from ..secrets import dashboard_url

ADMIN_CREATE_USER = "CustomMessage_AdminCreateUser"
#: ClientMetadata keys AdminCreateUser passes to the trigger (strings only).
METADATA = ("inviter", "workspace", "role", "language", "dashboard_url")
TEXT = {
    "en": {
        "subject": "{inviter} invited you to workspace {ws}",
        "subject_plain": "Your campaign live reports account",
        "title": "{inviter} invited you to campaign live reports",
        "title_plain": "You have been invited to campaign live reports",
        "join": "{inviter} invited you to join the workspace “{ws}” as {role}.",
        "roles": {"viewer": "viewer (you read its reports)",
                  "editor": "editor (you read its reports and manage its alerts and email reports)",
                  "admin": "admin (you also manage its members, API keys and webhook sources)"},
        "new_account": "Sign in with your email address {username} and this temporary password:",
        "new_account_after": "The temporary password works for 7 days; at your first sign-in you choose your own.",
        "existing": "Sign in to the dashboard with your usual email and password.",
        "accept": "You join it only if you accept the invitation: it is shown at the top of the dashboard once "
                  "you are signed in (you can decline it there too).",
        "open": "Open the dashboard",
        "footer": "You receive this email because {inviter} invited {username}. Not expecting it? Ignore it: "
                  "the invitation expires in 7 days.",
        "someone": "An admin",
    },
    "fr": {
        "subject": "{inviter} vous invite dans l'espace {ws}",
        "subject_plain": "Votre compte campaign live reports",
        "title": "{inviter} vous invite sur campaign live reports",
        "title_plain": "Vous êtes invité(e) sur campaign live reports",
        "join": "{inviter} vous invite à rejoindre l'espace « {ws} » avec le rôle {role}.",
        "roles": {"viewer": "lecteur (vous consultez ses rapports)",
                  "editor": "éditeur (vous consultez ses rapports et gérez ses alertes et rapports par e-mail)",
                  "admin": "admin (vous gérez aussi ses membres, clés d'API et sources de webhooks)"},
        "new_account": "Connectez-vous avec votre adresse {username} et ce mot de passe temporaire :",
        "new_account_after": "Le mot de passe temporaire est valable 7 jours ; à la première connexion, vous "
                             "choisissez le vôtre.",
        "existing": "Connectez-vous au tableau de bord avec votre e-mail et votre mot de passe habituels.",
        "accept": "Vous ne le rejoignez que si vous acceptez l'invitation : elle s'affiche en haut du tableau de "
                  "bord une fois connecté(e) (vous pouvez aussi la refuser).",
        "open": "Ouvrir le tableau de bord",
        "footer": "Vous recevez cet e-mail car {inviter} a invité {username}. Vous ne l'attendiez pas ? "
                  "Ignorez-le : l'invitation expire dans 7 jours.",
        "someone": "Un admin",
    },
}


def dashboard_link(base: str, workspace: str) -> str:
    """The dashboard opened on the workspace (`ws`, the page's workspace parameter)."""
    if not base:
        return ""
    return f"{base}{'&' if '?' in base else '?'}{urlencode({'ws': workspace})}" if workspace else base


def client_metadata(inviter: str, workspace: str, role: str, language: str, dashboard_url: str) -> dict[str, str]:
    """What the API hands AdminCreateUser for the trigger."""
    return {"inviter": inviter[:200], "workspace": workspace, "role": role, "language": language,
            "dashboard_url": dashboard_url}


def invitation(metadata: Mapping[str, str], username: str, code: Optional[str],
               env: Mapping[str, str] = os.environ) -> tuple[str, Notice]:
    """(subject, notice): with `code` for a new account (Cognito's placeholders or a real
    password), without for a person who already has one."""
    lang = "fr" if metadata.get("language") == "fr" else "en"
    t = TEXT[lang]
    ws, role = metadata.get("workspace", ""), metadata.get("role", "")
    inviter = metadata.get("inviter") or t["someone"]
    link = dashboard_link(metadata.get("dashboard_url") or _dashboard(env), ws)
    paragraphs = [t["join"].format(inviter=inviter, ws=ws, role=t["roles"].get(role, role)), t["accept"]] if ws else []
    after = []
    if code is not None:  # the password right after the sentence that asks for it
        paragraphs.append(t["new_account"].format(username=username))
        after.append(t["new_account_after"])
    else:
        paragraphs.append(t["existing"])
    buttons = [Button(t["open"], href=link)] if link else []
    title = t["title"].format(inviter=inviter) if ws else t["title_plain"]
    subject = t["subject"].format(inviter=inviter, ws=ws) if ws else t["subject_plain"]
    return subject, Notice(lang, title, paragraphs, buttons, after,
                           t["footer"].format(inviter=inviter, username=username), code=code or "")


def _dashboard(env: Mapping[str, str]) -> str:
    """The function's own idea of the dashboard's address (environment, or SSM for the trigger);
    an invitation without a link is better than no invitation (Cognito waits 5 s at most)."""
    try:
        return dashboard_url(env)
    except Exception:  # noqa: BLE001 - the parameter missing or unreadable: no button
        return ""


def custom_message(event: dict[str, Any], env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The trigger's body: the invitation of a new account (other messages keep Cognito's text)."""
    trigger = CustomMessageTriggerEvent(event)
    if trigger.get("triggerSource") != ADMIN_CREATE_USER:
        return event
    event.setdefault("response", {})
    request = trigger.request
    subject, notice = invitation(request.client_metadata, request.get("usernameParameter") or "{username}",
                                 request.get("codeParameter") or "{####}", env)
    trigger.response.email_subject = subject
    trigger.response.email_message = notice.html()
    return trigger.raw_event
