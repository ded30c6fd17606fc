"""Admin registrations for trained model versions."""

from django.contrib import admin

from backend.models_registry.models import ModelVersion


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    """Trained versions with their status and source area."""

    list_display = ("id", "name", "version", "owner", "area", "status", "created")
    list_filter = ("status",)
