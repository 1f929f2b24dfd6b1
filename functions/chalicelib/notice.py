"""Short messages to people, as an email or a page: one responsive layout.

Invitations, confirmation requests and the confirm / unsubscribe pages are a
title, a few paragraphs and at most two buttons. They are read on phones as
often as on desktops, so the layout is a single column of at most 560 px
with text at 16 px and buttons at least 44 px tall, inline styles only (mail
clients drop <style> blocks and external CSS), no scripts, no images. Every
value goes through html.escape: inviter names, workspace names and campaign
ids are other people's text. The plain-text twin says the same with the
links spelled out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Optional

FONT = "font-family:Arial,Helvetica,sans-serif;color:#1f2937;font-size:16px;line-height:1.5"
MUTED = "color:#6b7280;font-size:13px;line-height:1.4"
BUTTON = ("display:inline-block;padding:12px 22px;min-height:20px;border-radius:6px;font-size:16px;"
          "font-weight:bold;text-decoration:none;border:0;cursor:pointer;margin:4px 8px 4px 0")
PRIMARY = f"{BUTTON};background:#1d4ed8;color:#ffffff"
SECONDARY = f"{BUTTON};background:#e5e7eb;color:#1f2937"
CODE = ("font-family:Menlo,Consolas,monospace;font-size:18px;background:#f3f4f6;border:1px solid #d1d5db;"
        "border-radius:6px;padding:6px 10px;display:inline-block;word-break:break-all")


@dataclass(frozen=True)
class Button:
    text: str
    href: str = ""  # a link (emails); empty: a form button (pages)
    value: str = ""  # the form's `answer` value
    primary: bool = True


@dataclass
class Notice:
    """What a message says; `html()`, `text()` and `page()` lay it out."""

    lang: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    after: list[str] = field(default_factory=list)  # small print below the buttons
    footer: str = ""
    code: str = ""  # something to copy (a temporary password), set apart after the paragraphs

    def _t(self, text: str) -> str:
        """French typography: a non-breaking space before : ; ? ! and inside « », so no line starts with them."""
        if self.lang != "fr":
            return text
        for plain, tied in ((" :", "\u00a0:"), (" ;", "\u00a0;"), (" ?", "\u00a0?"), (" !", "\u00a0!"),
                            ("« ", "«\u00a0"), (" »", "\u00a0»")):
            text = text.replace(plain, tied)
        return text

    def _body(self, form_action: Optional[str]) -> str:
        parts = [f'<h1 style="font-size:22px;line-height:1.3;margin:0 0 12px">{escape(self._t(self.title))}</h1>']
        parts += [f'<p style="margin:0 0 12px">{escape(self._t(p))}</p>' for p in self.paragraphs]
        if self.code:
            parts.append(f'<p style="margin:0 0 12px"><code style="{CODE}">{escape(self.code)}</code></p>')
        if self.buttons:
            parts.append(_buttons(self.buttons, form_action))
        parts += [f'<p style="margin:12px 0 0;{MUTED}">{escape(self._t(p))}</p>' for p in self.after]
        if self.footer:
            parts.append(f'<p style="margin:20px 0 0;padding-top:12px;border-top:1px solid #e5e7eb;{MUTED}">'
                         f'{escape(self._t(self.footer))}</p>')
        return "".join(parts)

    def _document(self, body: str) -> str:
        return (f'<!DOCTYPE html><html lang="{escape(self.lang)}"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width,initial-scale=1">'
                f'<title>{escape(self.title)}</title></head>'
                '<body style="margin:0;padding:0;background:#f3f4f6">'
                '<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr>'
                '<td align="center" style="padding:16px 8px">'
                '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
                'style="max-width:560px;background:#ffffff;border-radius:8px">'
                f'<tr><td style="padding:20px 18px;{FONT}">{body}</td></tr></table></td></tr></table></body></html>')

    def html(self) -> str:
        """The email's HTML part: buttons are links."""
        return self._document(self._body(None))

    def page(self, form_action: str = "") -> str:
        """A web page: buttons without a link POST the form (to `form_action`, default: this URL)."""
        return self._document(self._body(form_action))

    def text(self) -> str:
        t = self._t
        lines = [t(self.title), "=" * min(len(self.title), 72), ""]
        for p in self.paragraphs:
            lines += [t(p), ""]
        if self.code:
            lines += [f"    {self.code}", ""]
        for b in self.buttons:
            if b.href:
                lines += [t(f"{b.text} :" if self.lang == "fr" else f"{b.text}:"), b.href, ""]
        for p in self.after:
            lines += [t(p), ""]
        if self.footer:
            lines += ["--", t(self.footer)]
        return "\n".join(lines).rstrip() + "\n"


def _buttons(buttons: list[Button], form_action: Optional[str]) -> str:
    links = [b for b in buttons if b.href]
    posts = [b for b in buttons if not b.href]
    out = ""
    if links:
        out += '<p style="margin:16px 0">' + "".join(
            f'<a href="{escape(b.href, quote=True)}" style="{PRIMARY if b.primary else SECONDARY}">'
            f'{escape(b.text)}</a>' for b in links) + "</p>"
    if posts and form_action is not None:
        action = f' action="{escape(form_action, quote=True)}"' if form_action else ""
        out += (f'<form method="post"{action} style="margin:16px 0">' + "".join(
            f'<button type="submit" name="answer" value="{escape(b.value, quote=True)}" '
            f'style="{PRIMARY if b.primary else SECONDARY}">{escape(b.text)}</button>' for b in posts) + "</form>")
    return out
