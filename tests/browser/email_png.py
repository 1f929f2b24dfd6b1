"""Render a snapshot email (raw MIME) as a PNG, the way a mail client shows it: inline images resolved."""
from __future__ import annotations

import base64
import email
from email import policy
from pathlib import Path


def html_with_inline_images(raw: bytes | str) -> str:
    """The HTML part with each `cid:` image replaced by a data: URI of its MIME part."""
    msg = email.message_from_bytes(raw if isinstance(raw, bytes) else raw.encode(), policy=policy.default)
    html, images = "", {}
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            html = part.get_content()
        elif part.get_content_maintype() == "image" and part["Content-ID"]:
            images[part["Content-ID"].strip("<>")] = base64.b64encode(part.get_content()).decode()
    for cid, data in images.items():
        html = html.replace(f"cid:{cid}", f"data:image/png;base64,{data}")
    return html


def render_png(browser, raw: bytes | str, out: Path, width: int = 680) -> Path:
    """Full-page screenshot of the email at a mail column's width (680 px desktop, 390 px phone)."""
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = ctx.new_page()
        page.set_content(html_with_inline_images(raw))
        page.screenshot(path=str(out), full_page=True)
    finally:
        ctx.close()
    return out
