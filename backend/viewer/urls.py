"""Page routes."""

from django.contrib.auth import views as auth_views
from django.urls import path

from backend.viewer import accounts, views
from backend.viewer.login_limits import LoginForm

app_name = "viewer"

urlpatterns = [
    path("", views.area_list, name="area-list"),
    path("areas/new/", views.area_new, name="area-new"),
    path("areas/<int:area_id>/", views.area_page, name="area"),
    path("areas/<int:area_id>/train/", views.area_train, name="area-train"),
    path("areas/<int:area_id>/delete/", views.area_delete, name="area-delete"),
    path("areas/<int:area_id>/versions/<int:version>/delete/", views.version_delete, name="version-delete"),
    path("areas/<int:area_id>/view/", views.area_view, name="area-view"),
    path("areas/<int:area_id>/data/<int:version>/<path:path>", views.area_data, name="area-data"),
    path("areas/<int:area_id>/thumbnail/<int:version>.webp", views.area_thumbnail, name="area-thumbnail"),
    path("jobs/<int:job_id>/", views.job_page, name="job"),
    path("jobs/<int:job_id>/cancel/", views.job_cancel, name="job-cancel"),
    path("jobs/<int:job_id>/retry/", views.job_retry, name="job-retry"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=LoginForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/", accounts.account, name="account"),
]
