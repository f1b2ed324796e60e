"""How two records' names, phone numbers and e-mail addresses are compared to find
duplicates: in imports, lead conversion and the duplicate warnings of pages and the
API. One rule each, here at the bottom of the layers so that every app can use it."""

from __future__ import annotations

import re
import unicodedata

#: What a company name's comparison ignores between its words.
_NAME_NOISE = re.compile(r"[\s.,;:'\"()（）【】\[\]&·\-_/]+")
#: Legal-form suffixes that do not count, longest first.
_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司", "coltd", "ltd",
             "limited", "inc", "llc", "gmbh", "corp", "corporation", "co")  # fmt: skip


def company_key(name: str) -> str:
    """A company name as two rows are compared by: case, width, spaces, punctuation and
    the usual legal-form suffixes do not count ("ACME Co., Ltd." = "acme")."""
    text = _NAME_NOISE.sub("", unicodedata.normalize("NFKC", name).casefold())
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
            break
    return text


def company_probe(name: str) -> str:
    """A piece of `name` that every name with the same `company_key` contains as typed
    (modulo case): the longest word that is part of the key, else the key itself. A
    database can narrow candidates by it before `company_key` decides."""
    key = company_key(name)
    words = [w for w in _NAME_NOISE.split(unicodedata.normalize("NFKC", name).casefold()) if w]
    inside = [w for w in words if w in key]
    return max(inside, key=len) if inside else key


def normalise_phone(raw: str) -> str:
    """Digits with an optional leading +; spaces, dashes, dots and brackets dropped."""
    value = raw.strip()
    plus = value.startswith(("+", "00"))
    digits = re.sub(r"\D", "", value)
    if value.startswith("00"):
        digits = digits[2:]
    return ("+" if plus else "") + digits


def phone_key(phone: str) -> str:
    """What two phone numbers in international form are compared by (the extension does
    not count)."""
    return phone.split("x", 1)[0]


#: A phone number's extension as people write it ("ext. 12", "转12", "x12").
EXTENSION = re.compile(r"(?:ext\.?|x|转|分机)\s*(\d{1,6})$", re.IGNORECASE)


def phone_match_key(raw: str) -> str:
    """A phone number as typed in a form or stored, for comparing with another: the
    national number for Chinese numbers (+86 and a trunk 0 dropped), all digits with the
    country code otherwise; "" when too short to compare."""
    text = EXTENSION.sub("", unicodedata.normalize("NFKC", raw or "").strip()).strip()
    number = normalise_phone(text)
    if number.startswith("+86"):
        digits = number[3:]
    elif number.startswith("+"):
        digits = number[1:]
    else:
        digits = number.lstrip("0")
    return digits if len(digits) >= 6 else ""


def email_key(raw: str) -> str:
    """An e-mail address as compared: trimmed, width-normalised, lower-cased."""
    return unicodedata.normalize("NFKC", raw or "").strip().lower()
