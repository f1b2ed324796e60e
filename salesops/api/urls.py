from salesops.api.api import api

urlpatterns = [*api.urls[0]]
app_name = "api-v1"
