"""What makes two records the same company, phone number or e-mail address: the one
rule behind import de-duplication, lead conversion, the duplicate finder and the keys
stored on leads, customers and contacts (`crm.models.customers.Mergeable`).

Pure functions without Django models, at the bottom of the layers so that every app can
use them (imports parse cells with them; crm stores their keys).
"""

from __future__ import annotations

import re
import unicodedata

#: Excel's scientific notation of a long number (1.38E+10): digits are lost.
SCIENTIFIC = re.compile(r"^\d(?:\.\d+)?e\+?\d+$", re.IGNORECASE)
#: An extension at the end of a phone number: "x12", "ext. 12", "转12", "分机12".
EXTENSION = re.compile(r"(?:ext\.?|x|转|分机)\s*(\d{1,6})$", re.IGNORECASE)
#: Characters a phone number may be written with (besides digits).
NOT_PHONE = re.compile(r"[^\d\s()+\-./]")

#: What a company name's comparison ignores between its words.
_NAME_NOISE = re.compile(r"[\s.,;:'\"()（）【】\[\]&·\-_/]+")
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


def canonical_phone(text: str, *, region: str = "CN") -> str:
    """A number (without its extension) in international form: `+86` and the number for
    Chinese mobiles and landlines written without a country code."""
    number = normalise_phone(text)
    if not number.startswith("+") and region == "CN":
        digits = number
        if len(digits) == 11 and digits.startswith("1"):
            number = "+86" + digits
        elif len(digits) == 13 and digits.startswith("861"):
            number = "+" + digits
        elif digits.startswith("0") and 10 <= len(digits) <= 12:
            number = "+86" + digits[1:]
    if number.startswith("+860"):
        number = "+86" + number[4:]
    return number


def plausible_length(number: str) -> bool:
    return 5 <= len(number.lstrip("+")) <= 20


def phone_key(phone: str) -> str:
    """What two phone numbers in international form are compared by (the extension
    does not count)."""
    return phone.split("x", 1)[0]


#: A number already in international form (as imports store it): its own key.
_INTERNATIONAL = re.compile(r"\+(?!860)[1-9]\d{4,19}")


def stored_phone_key(phone: str | None) -> str:
    """The key of a phone number as stored (maybe typed in a page): its international
    form as the import's parser reads it, without the extension; a number that parser
    refuses is compared as it is written."""
    if not phone:
        return ""
    if type(phone) is str and _INTERNATIONAL.fullmatch(phone):
        return phone  # what the steps below make of it, without them (bulk writes)
    text = unicodedata.normalize("NFKC", str(phone)).strip()
    if SCIENTIFIC.match(text):
        return phone_key(phone)
    if m := EXTENSION.search(text):
        text = text[: m.start()].strip()
    if NOT_PHONE.search(text):
        return phone_key(phone)
    number = canonical_phone(text)
    return number if plausible_length(number) else phone_key(phone)


def phone_match_key(phone: str | None) -> str:
    """A phone number typed in a form, as the duplicate warnings compare it: its stored
    key (`stored_phone_key`), or "" when it has too few digits to compare (under 6)."""
    key = stored_phone_key(phone)
    return key if sum(c.isdigit() for c in key) >= 6 else ""


def email_key(email: str | None) -> str:
    """What two e-mail addresses are compared by: width and case do not count."""
    if not email:
        return ""
    return unicodedata.normalize("NFKC", email).strip().lower()
