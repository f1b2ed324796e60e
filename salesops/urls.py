from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from salesops.api import pages as api_pages


def admin_login(request: HttpRequest) -> HttpResponse:
    """The Django admin signs in through the app's sign-in (its own would skip the
    two-factor step)."""
    return redirect_to_login(request.GET.get("next") or "/admin/")


urlpatterns = [
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("salesops.api.urls")),
    # The API's tokens are managed from the account pages (an API-layer view: the token
    # service lives there).
    path("account/tokens/", api_pages.token_list, name="api_tokens"),
    path("account/tokens/<int:pk>/revoke/", api_pages.token_revoke, name="api_token_revoke"),
    path("", include("salesops.web.urls")),
]
