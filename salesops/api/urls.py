from django.http import HttpRequest, JsonResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt

from salesops.api.api import api
from salesops.api.errors import NOT_FOUND


@csrf_exempt  # it changes nothing; a CSRF page would not be JSON
def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any other path under /api/v1/ (or an id that is not a number): JSON, not a page."""
    return JsonResponse({"detail": str(NOT_FOUND)}, status=404)


urlpatterns = [*api.urls[0], re_path(r"^(?P<rest>.*)$", not_found, name="not-found")]
app_name = "api-v1"
