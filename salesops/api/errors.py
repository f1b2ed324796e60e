"""Every error the API returns has one shape:

    {"detail": "<a sentence for people>", "errors": {"<field>": ["<what to fix>", ...]}}

`errors` is present on 422 (one list of messages per field; `__all__` for messages
about the record as a whole). Status codes: 401 not signed in, 403 the role or the
token's scope does not allow it, 404 not found or outside the caller's data scope,
409 a business rule or a uniqueness conflict (and a possible duplicate lead, customer
or contact, with the records it looks like in "duplicates"), 412 a stale If-Match, 413 a
body over the upload limit (the limit stated; on a bulk route, its row limit too), 422
bad input, 429 too many requests.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from salesops.crm.duplicate_warnings import PossibleDuplicates
from salesops.lib.updates import Conflict


class ApiError(Exception):
    """An error with a status, a message, and optionally messages per field."""

    def __init__(
        self,
        status: int,
        detail: Any,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


def field_errors(field: str, message: Any) -> ApiError:
    return ApiError(422, message, {field: [str(message)]})


NOT_FOUND = _("This record does not exist or you may not see it.")


def body(detail: Any, errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"detail": str(detail)}
    if errors:
        data["errors"] = {k: [str(m) for m in v] for k, v in errors.items()}
    return data


def django_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


_PYDANTIC_MESSAGES = {
    "missing": _("This field is required."),
    "extra_forbidden": _("This field cannot be set here."),
    "int_parsing": _("Enter a whole number."),
    "int_type": _("Enter a whole number."),
    "int_from_float": _("Enter a whole number."),
    "decimal_parsing": _("Enter a number, such as 12000 or 12000.50."),
    "decimal_type": _("Enter a number, such as 12000 or 12000.50."),
    "date_parsing": _("Enter a date written as YYYY-MM-DD."),
    "date_from_datetime_parsing": _("Enter a date written as YYYY-MM-DD."),
    "date_type": _("Enter a date written as YYYY-MM-DD."),
    "datetime_parsing": _("Enter a date and time such as 2026-07-01T09:30:00+08:00."),
    "datetime_from_date_parsing": _("Enter a date and time such as 2026-07-01T09:30:00+08:00."),
    "datetime_type": _("Enter a date and time such as 2026-07-01T09:30:00+08:00."),
    "bool_parsing": _("Enter true or false."),
    "bool_type": _("Enter true or false."),
    "string_type": _("Enter text."),
    "dict_type": _("Give an object of names and values."),
    "list_type": _("Give a list."),
    "model_type": _("Give an object."),
    "model_attributes_type": _("Give an object."),
    "json_invalid": _("The body is not valid JSON."),
}


def _pydantic_message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind in _PYDANTIC_MESSAGES:
        return str(_PYDANTIC_MESSAGES[kind])
    if kind in ("literal_error", "enum"):
        return gettext("Choose one of: %(options)s.") % {"options": ctx.get("expected", "")}
    if kind == "string_too_long":
        return gettext("Write at most %(n)s characters.") % {"n": ctx.get("max_length")}
    if kind == "string_too_short":
        return gettext("Write at least %(n)s characters.") % {"n": ctx.get("min_length")}
    if kind == "too_long":
        return gettext("Give at most %(n)s items.") % {"n": ctx.get("max_length")}
    if kind == "too_short":
        return gettext("Give at least %(n)s items.") % {"n": ctx.get("min_length")}
    if kind.startswith(("greater_than", "less_than")):
        return gettext("The value is out of range (%(rule)s).") % {
            "rule": err.get("msg", "").lower()
        }
    return str(err.get("msg", gettext("This value is not valid.")))


def ninja_errors(exc: NinjaValidationError) -> dict[str, list[str]]:
    """Ninja's `loc` ("body", "payload", "items", 3, "name") as a field path "items.3.name"."""
    out: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", ())]
        if loc and loc[0] == "body":
            loc = loc[2:] if len(loc) > 2 else loc[1:]
        elif loc and loc[0] in ("query", "path", "header"):
            loc = loc[1:]
        # Tagged unions and "function-after" validators add their own names to loc.
        loc = [p for p in loc if not p.startswith("function-")]
        out.setdefault(".".join(loc) or "__all__", []).append(_pydantic_message(err))
    return out


BULK_MAX = 1000  # rows per bulk request; the schemas' max_length reads it


def too_big(request: HttpRequest | None) -> dict[str, Any]:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
    detail = gettext("The request body is larger than the limit of %(n)s bytes.") % {
        "n": f"{limit:,}"
    }
    if request is not None and request.path.rstrip("/").endswith("/bulk"):
        detail = gettext(
            "The request body is larger than the limit of %(n)s bytes; "
            "a bulk request takes at most %(rows)s rows, and fewer when they are long."
        ) % {"n": f"{limit:,}", "rows": BULK_MAX}
    return body(detail)


def describe(
    exc: Exception, request: HttpRequest | None = None
) -> tuple[int, dict[str, Any], dict[str, str]] | None:
    """(status, body, headers) for an exception the API answers, None for a bug (500)."""
    if isinstance(exc, ApiError):
        return exc.status, body(exc.detail, exc.errors), exc.headers
    if isinstance(exc, PossibleDuplicates):
        found = [{"id": c.pk, "name": c.name, "matched": list(c.matched)} for c in exc.candidates]
        return 409, {**body(exc.messages[0]), "duplicates": found}, {}
    if isinstance(exc, RequestDataTooBig):
        return 413, too_big(request), {}
    if isinstance(exc, DjangoValidationError):
        errors = django_errors(exc)
        return 422, body(next(iter(errors.values()))[0], errors), {}
    if isinstance(exc, NinjaValidationError):
        return 422, body(_("Check the fields named in “errors”."), ninja_errors(exc)), {}
    if isinstance(exc, PermissionDenied):
        return 403, body(str(exc) or gettext("You may not do this.")), {}
    if isinstance(exc, ObjectDoesNotExist | Http404):
        return 404, body(NOT_FOUND), {}
    if isinstance(exc, Conflict):
        return 412, body(exc.message), {"ETag": f'"{exc.current_version}"'}
    if isinstance(exc, IntegrityError):
        return (
            409,
            body(_("This change conflicts with another record (a value must be unique).")),
            {},
        )
    if isinstance(exc, AuthenticationError):
        return (
            401,
            body(_("Sign in, or send a valid API token as “Authorization: Bearer <token>”.")),
            {"WWW-Authenticate": 'Bearer realm="salesops"'},
        )
    if isinstance(exc, HttpError) and isinstance(exc.__cause__, ApiError):
        return describe(exc.__cause__, request)  # our parser's refusal, wrapped by ninja
    if isinstance(exc, HttpError) and exc.status_code == 400:
        invalid = gettext("The body is not valid JSON.")
        return 422, body(invalid, {"__all__": [invalid]}), {}
    if isinstance(exc, HttpError):
        message = str(exc)
        if exc.status_code == 403 and "CSRF" in message:
            message = gettext("The CSRF check failed; send the X-CSRFToken header.")
        return exc.status_code, body(message), {}
    return None


HANDLED = (
    ApiError,
    RequestDataTooBig,
    DjangoValidationError,
    NinjaValidationError,
    PermissionDenied,
    ObjectDoesNotExist,
    Http404,
    Conflict,
    IntegrityError,
    HttpError,
)


def install(api: NinjaAPI) -> None:
    def handle(request: HttpRequest, exc: Any) -> HttpResponse:
        described = describe(exc, request)
        if described is None:
            raise exc
        status, data, headers = described
        response = api.create_response(request, data, status=status)
        for k, v in headers.items():
            response[k] = v
        return response

    for cls in HANDLED:
        api.add_exception_handler(cls, handle)
