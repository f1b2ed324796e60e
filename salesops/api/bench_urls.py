"""The project's URLs plus the framework ceiling of `salesops bench_api`: a minimal
Django view reading one row. Only the benchmark's own servers load this URLconf."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from salesops.crm.models import Deal
from salesops.urls import urlpatterns as project_urls


def one_row(request: HttpRequest) -> JsonResponse:
    row = Deal.objects.filter(pk=int(request.GET.get("id", "0"))).values("id", "name").first()
    return JsonResponse({"data": row})


urlpatterns = [path("bench/one-row", one_row), *project_urls]
