"""The words of consent, EN and FR: the confirmation request email and the
confirm and unsubscribe pages (laid out by chalicelib.notice).

The inviter, the workspace and the description are other people's text;
notice.py escapes them. Pages speak the list's language (stored with the
recipient); a link that names nothing we know speaks the browser's.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from ..notice import Button, Notice
from .store import CONFIRMED, UNSUBSCRIBED, Recipient

TEXT = {
    "en": {
        "req_subject": "Please confirm: emails from workspace {ws}",
        "req_title": "{inviter} invited you to receive emails",
        "req_body": "{inviter}, of workspace “{ws}” on campaign live reports, would like to send {what} to {address}.",
        "req_nothing": "Nothing will be sent to you unless you confirm.",
        "req_button": "Review and confirm",
        "req_ignore": "Not interested? Ignore this email and you will receive nothing. The page behind the button "
                      "also lets you say no for good, so this workspace never asks you again.",
        "req_until": "This link works until {date}.",
        "req_footer": "Sent once by campaign live reports on behalf of workspace {ws}, because {inviter} typed "
                      "your address.",
        "confirm_title": "Receive these emails?",
        "confirm_body": "{inviter} (workspace “{ws}”) would like to send {what} to {address}.",
        "yes": "Yes, send me these emails", "no": "No, and don't ask me again",
        "leave_any_time": "You can leave at any time: every email has an unsubscribe link.",
        "confirmed_title": "Confirmed", "confirmed_body": "{address} will receive {what}.",
        "already_confirmed": "{address} already receives {what}.",
        "declined_title": "Done: nothing will be sent",
        "declined_body": "{address} will not receive {what}, and workspace “{ws}” will not ask again.",
        "unsub_title": "Unsubscribe?", "unsub_body": "Stop sending {what} to {address}?",
        "unsub_button": "Unsubscribe", "unsub_wait": "Nothing changes until you press the button.",
        "unsubscribed_title": "Unsubscribed", "unsubscribed_body": "{address} will no longer receive {what}.",
        "already_unsubscribed": "{address} no longer receives {what}.",
        "gone_title": "Nothing to do",
        "gone_body": "{address} does not receive these emails: the list was deleted, or the address removed.",
        "invalid_title": "Invalid link", "invalid_body": "This link is invalid or was altered. Copy the whole link "
                                                         "from the email, or use the link of a more recent email.",
        "expired_title": "This link has expired",
        "expired_unsub": "Use the unsubscribe link of a more recent email: each one carries a fresh link.",
        "expired_confirm": "Nothing was sent to you. If you still want these emails, ask {inviter} to add you again.",
        "these_emails": "these emails", "someone": "someone",
        "footer": "Campaign live reports, workspace “{ws}”.",
    },
    "fr": {
        "req_subject": "Confirmation demandée : e-mails de l'espace {ws}",
        "req_title": "{inviter} vous invite à recevoir des e-mails",
        "req_body": "{inviter}, de l'espace « {ws} » sur campaign live reports, souhaite envoyer {what} "
                    "à {address}.",
        "req_nothing": "Rien ne vous sera envoyé sans votre confirmation.",
        "req_button": "Voir et confirmer",
        "req_ignore": "Pas intéressé(e) ? Ignorez cet e-mail : vous ne recevrez rien. La page du bouton permet aussi "
                      "de refuser pour de bon : cet espace ne vous le redemandera plus.",
        "req_until": "Ce lien est valable jusqu'au {date}.",
        "req_footer": "Envoyé une seule fois par campaign live reports pour l'espace {ws}, parce que {inviter} "
                      "a saisi votre adresse.",
        "confirm_title": "Recevoir ces e-mails ?",
        "confirm_body": "{inviter} (espace « {ws} ») souhaite envoyer {what} à {address}.",
        "yes": "Oui, envoyez-moi ces e-mails", "no": "Non, et ne plus me demander",
        "leave_any_time": "Vous pourrez vous désabonner à tout moment : chaque e-mail contient un lien de désabonnement.",
        "confirmed_title": "C'est confirmé", "confirmed_body": "{address} recevra {what}.",
        "already_confirmed": "{address} reçoit déjà {what}.",
        "declined_title": "C'est noté : rien ne sera envoyé",
        "declined_body": "{address} ne recevra pas {what}, et l'espace « {ws} » ne le redemandera plus.",
        "unsub_title": "Se désabonner ?", "unsub_body": "Ne plus envoyer {what} à {address} ?",
        "unsub_button": "Me désabonner", "unsub_wait": "Rien ne change tant que vous n'avez pas appuyé sur le bouton.",
        "unsubscribed_title": "Désabonnement effectué", "unsubscribed_body": "{address} ne recevra plus {what}.",
        "already_unsubscribed": "{address} ne reçoit plus {what}.",
        "gone_title": "Rien à faire",
        "gone_body": "{address} ne reçoit pas ces e-mails : la liste a été supprimée, ou l'adresse retirée.",
        "invalid_title": "Lien invalide", "invalid_body": "Ce lien est invalide ou a été modifié. Copiez le lien entier "
                                                          "depuis l'e-mail, ou utilisez celui d'un e-mail plus récent.",
        "expired_title": "Ce lien a expiré",
        "expired_unsub": "Utilisez le lien de désabonnement d'un e-mail plus récent : chacun porte un lien neuf.",
        "expired_confirm": "Rien ne vous a été envoyé. Si vous souhaitez toujours ces e-mails, demandez à {inviter} "
                           "de vous ajouter à nouveau.",
        "these_emails": "ces e-mails", "someone": "quelqu'un",
        "footer": "Campaign live reports, espace « {ws} ».",
    },
}


def lang_of(value: Optional[str]) -> str:
    return "fr" if value == "fr" else "en"


def from_accept_language(header: Optional[str]) -> str:
    """The browser's first choice between French and English (links that name nothing we know)."""
    for part in (header or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("fr"):
            return "fr"
        if tag.startswith("en"):
            return "en"
    return "en"


def _date(epoch: int, lang: str) -> str:
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return moment.strftime("%d/%m/%Y" if lang == "fr" else "%d %b %Y")


def _vars(r: Recipient, workspace: str) -> dict[str, str]:
    t = TEXT[lang_of(r.lang)]
    return {"inviter": r.inviter or t["someone"], "ws": workspace, "what": r.what or t["these_emails"],
            "address": r.address}


def request_email(r: Recipient, link: str, expires_at: int) -> tuple[str, Notice]:
    """(subject, notice) of the one confirmation request a pending address gets."""
    lang = lang_of(r.lang)
    t, v = TEXT[lang], _vars(r, r.workspace)
    notice = Notice(lang, t["req_title"].format(**v), [t["req_body"].format(**v), t["req_nothing"]],
                    [Button(t["req_button"], href=link)],
                    [t["req_ignore"], t["req_until"].format(date=_date(expires_at, lang))],
                    t["req_footer"].format(**v))
    return t["req_subject"].format(**v), notice


def confirm_page(r: Recipient, workspace: str, answered: str = "") -> Notice:
    """The page of a confirmation link: the question, or what the answer did (`yes` / `no`)."""
    lang = lang_of(r.lang)
    t, v = TEXT[lang], _vars(r, workspace)
    footer = t["footer"].format(**v)
    if answered == "yes":
        return Notice(lang, t["confirmed_title"], [t["confirmed_body"].format(**v)], [], [t["leave_any_time"]], footer)
    if answered == "no":
        return Notice(lang, t["declined_title"], [t["declined_body"].format(**v)], footer=footer)
    if r.status == CONFIRMED:
        return Notice(lang, t["confirmed_title"], [t["already_confirmed"].format(**v)], [], [t["leave_any_time"]],
                      footer)
    return Notice(lang, t["confirm_title"], [t["confirm_body"].format(**v)],
                  [Button(t["yes"], value="yes"), Button(t["no"], value="no", primary=False)],
                  [t["leave_any_time"]], footer)


def unsubscribe_page(r: Recipient, workspace: str, answered: bool = False) -> Notice:
    lang = lang_of(r.lang)
    t, v = TEXT[lang], _vars(r, workspace)
    footer = t["footer"].format(**v)
    if answered:
        return Notice(lang, t["unsubscribed_title"], [t["unsubscribed_body"].format(**v)], footer=footer)
    if r.status == UNSUBSCRIBED:
        return Notice(lang, t["unsubscribed_title"], [t["already_unsubscribed"].format(**v)], footer=footer)
    return Notice(lang, t["unsub_title"], [t["unsub_body"].format(**v)],
                  [Button(t["unsub_button"], value="unsubscribe")], [t["unsub_wait"]], footer)


def gone_page(address: str, lang: str) -> Notice:
    t = TEXT[lang_of(lang)]
    return Notice(lang_of(lang), t["gone_title"], [t["gone_body"].format(address=address)])


def invalid_page(lang: str) -> Notice:
    t = TEXT[lang_of(lang)]
    return Notice(lang_of(lang), t["invalid_title"], [t["invalid_body"]])


def expired_page(purpose_unsubscribe: bool, r: Optional[Recipient], lang: str) -> Notice:
    lang = lang_of(r.lang if r else lang)
    t = TEXT[lang]
    inviter = (r.inviter if r else "") or t["someone"]
    body = t["expired_unsub"] if purpose_unsubscribe else t["expired_confirm"].format(inviter=inviter)
    return Notice(lang, t["expired_title"], [body])
