"""Admin registrations for areas."""

from django.contrib import admin

from backend.areas.models import Area, Feature, Layer, Publication, Source

admin.site.register([Area, Source, Publication, Layer])


@admin.register(Feature)
class FeatureAdmin(admin.ModelAdmin):
    """Features are many: filter by kind, show the publication."""

    list_display = ("id", "kind", "publication")
    list_filter = ("kind",)
