"""Page routes."""

from django.urls import path

from backend.viewer import views

app_name = "viewer"

urlpatterns = [
    path("", views.area_list, name="area-list"),
    path("areas/new/", views.area_new, name="area-new"),
    path("areas/<int:area_id>/view/", views.area_view, name="area-view"),
    path("areas/<int:area_id>/data/<int:version>/<path:path>", views.area_data, name="area-data"),
    path("jobs/<int:job_id>/", views.job_page, name="job"),
]
