"""Admin registrations for jobs."""

from django.contrib import admin

from backend.jobs.models import ChipRun, Job, JobEvent


class ChipRunInline(admin.TabularInline):
    """A large area's chips inside their job: who runs each and how far it got."""

    model = ChipRun
    fields = ("index", "status", "worker", "progress", "stage", "message", "heartbeat")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Jobs with their status at a glance."""

    list_display = ("id", "area", "status", "stage", "progress", "created")
    list_filter = ("status",)
    inlines = [ChipRunInline]


admin.site.register(JobEvent)
