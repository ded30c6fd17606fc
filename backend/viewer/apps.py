"""App config for the viewer."""

from django.apps import AppConfig


class ViewerConfig(AppConfig):
    """HTML pages and area data."""

    name = "backend.viewer"
    label = "viewer"

    def ready(self) -> None:
        """Count failed log-ins, throttle the admin's login form like the site's (backend.viewer.login_limits).

        Bump the data gate's grant generation on every change that can revoke access (backend.serving.grants).
        """
        from django.contrib import admin
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from backend.serving import grants
        from backend.viewer import checks, login_limits  # noqa: F401 - checks registers itself

        user_login_failed.connect(login_limits.on_login_failed, dispatch_uid="rs3d-login-failed")
        user_logged_in.connect(login_limits.on_logged_in, dispatch_uid="rs3d-logged-in")
        admin.site.login_form = login_limits.AdminLoginForm
        grants.connect()
