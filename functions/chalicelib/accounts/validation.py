"""Input checks for people's data: emails, display names, labels, ids.

Hostile text is data: a display name like ``<img onerror=...>`` is stored and
returned as a JSON string, never as markup; what is refused is what cannot be
an address or would corrupt a line (control and bidi-override characters).
"""
from __future__ import annotations

import re
import unicodedata

EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
                   r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
USER_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
KEY_ID = re.compile(r"^k_[0-9a-f]{12}$")
MAX_TEXT = 100
#: line separators and bidi embeddings/overrides/isolates (text that displays reordered)
_REFUSED = frozenset("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class InvalidInput(ValueError):
    pass


def email(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput("email: a string")
    text = value.strip().lower()
    if len(text) > 254 or not EMAIL.match(text) or ".." in text:
        raise InvalidInput("email: not a valid address")
    return text


def text(value: object, field: str, max_length: int = MAX_TEXT) -> str:
    """A short free text (display name, key label): any printable characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field}: a string")
    value = unicodedata.normalize("NFC", value.strip())
    if len(value) > max_length:
        raise InvalidInput(f"{field}: at most {max_length} characters")
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") or ch in _REFUSED:
            raise InvalidInput(f"{field}: no control, bidi-override or unassigned characters")
    return value


def user_id(value: str) -> str:
    if not USER_ID.match(value or ""):
        raise InvalidInput("user id: letters, digits and '-'")
    return value


def key_id(value: str) -> str:
    if not KEY_ID.match(value or ""):
        raise InvalidInput("key id: k_ and 12 hex digits")
    return value
