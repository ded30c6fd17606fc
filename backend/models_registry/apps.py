"""App config for the model registry."""

from django.apps import AppConfig


class ModelsRegistryConfig(AppConfig):
    """Shipped networks and the versions users train on their areas ("Train on this area")."""

    name = "backend.models_registry"
    label = "models_registry"
    verbose_name = "Model registry"
    default_auto_field = "django.db.models.BigAutoField"
