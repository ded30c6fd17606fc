"""API routes, the OpenAPI schema and its browsable docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
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
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
]
