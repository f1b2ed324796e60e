"""The bell in the page header."""

from __future__ import annotations

from django import template

from salesops.notifications.services import unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notices(context: template.Context) -> int:
    """The signed-in person's unread notices: one indexed COUNT per page."""
    request = context.get("request")
    return unread_count(getattr(request, "user", None))
