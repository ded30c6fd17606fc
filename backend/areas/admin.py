"""Admin registrations for areas."""

from django.contrib import admin

from backend.areas.models import Area, Feature, Layer, Publication, Source

admin.site.register([Source, Publication, Layer])


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    """Areas with their owner and who sees them; staff fix ownerless areas here."""

    list_display = ("id", "name", "owner", "visibility", "status", "created")
    list_filter = ("visibility", "status")
    search_fields = ("name", "owner__username")
    filter_horizontal = ("shared_users", "shared_groups")
    raw_id_fields = ("current",)


@admin.register(Feature)
class FeatureAdmin(admin.ModelAdmin):
    """Features are many: filter by kind, show the publication."""

    list_display = ("id", "kind", "publication")
    list_filter = ("kind",)
