"""API routes, the OpenAPI schema and its browsable docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from backend.api.views.areas import AreaViewSet
from backend.api.views.jobs import JobViewSet
from backend.api.views.models import ModelViewSet
from backend.api.views.uploads import StagedUploadViewSet

app_name = "api"

router = DefaultRouter()
router.register("areas", AreaViewSet, basename="area")
router.register("jobs", JobViewSet, basename="job")
router.register("models", ModelViewSet, basename="model")
router.register("uploads", StagedUploadViewSet, basename="upload")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: the Content-Security-Policy forbids inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
]
