from django.contrib import admin
from django.urls import include, path

from salesops.api import pages as api_pages

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("salesops.api.urls")),
    # The API's tokens are managed from the account pages (an API-layer view: the token
    # service lives there).
    path("account/tokens/", api_pages.token_list, name="api_tokens"),
    path("account/tokens/<int:pk>/revoke/", api_pages.token_revoke, name="api_token_revoke"),
    path("", include("salesops.web.urls")),
]
