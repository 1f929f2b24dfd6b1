"""MIME assembly and sending through SES v2 (`Content.Raw`).

Structure (what common clients display best, and what moto stores whole):

  multipart/mixed
    multipart/related
      multipart/alternative
        text/plain        (the plain-text alternative)
        text/html         (references the chart as cid:...)
      image/png           (Content-ID, inline)
    text/csv              (attachment: the report's tables, report_csv)

The bytes handed to SES are the bytes local mode writes to its outbox.
"""
from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.mime.application import MIMEApplication
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone
from typing import Any, Optional

from .render import Rendered


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    maintype: str = "text"
    subtype: str = "csv"


@dataclass(frozen=True)
class InlineImage:
    cid: str  # without angle brackets
    png: bytes


def build_message(sender: str, recipient: str, rendered: Rendered, images: list[InlineImage],
                  attachments: list[Attachment], unsubscribe_url: str = "", now: Optional[float] = None) -> bytes:
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText(rendered.text, "plain", "utf-8"))
    alternative.attach(MIMEText(rendered.html, "html", "utf-8"))
    related = MIMEMultipart("related", type="multipart/alternative")
    related.attach(alternative)
    for image in images:
        part = MIMEImage(image.png, "png")
        part.add_header("Content-ID", f"<{image.cid}>")
        part.add_header("Content-Disposition", "inline", filename=f"{image.cid.split('@')[0]}.png")
        related.attach(part)
    message = MIMEMultipart("mixed", policy=policy.SMTP)  # RFC 2047-encodes non-ASCII headers
    message.attach(related)
    for att in attachments:
        part = MIMEApplication(att.data, att.subtype) if att.maintype == "application" else MIMEText(
            att.data.decode("utf-8"), att.subtype, "utf-8")
        part.add_header("Content-Disposition", "attachment", filename=att.filename)
        message.attach(part)
    message["Subject"] = rendered.subject
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = format_datetime(datetime.fromtimestamp(now, timezone.utc) if now else datetime.now(timezone.utc))
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    message["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url:  # RFC 2369 + RFC 8058 one-click (POST to the same URL)
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message.as_bytes(policy=policy.SMTP)


def send_raw(ses: Any, sender: str, recipient: str, raw: bytes) -> str:
    """One message to one recipient; returns the SES message id, raises on failure."""
    response = ses.send_email(FromEmailAddress=sender, Destination={"ToAddresses": [recipient]},
                              Content={"Raw": {"Data": raw}})
    return response.get("MessageId", "")
