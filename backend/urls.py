"""Root URLs: pages, the API and the admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("api/", include("backend.api.urls")),
    path("admin/", admin.site.urls),
    path("", include("backend.viewer.urls")),
]
