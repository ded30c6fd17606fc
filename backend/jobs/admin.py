"""Admin registrations for jobs."""

from django.contrib import admin

from backend.jobs.models import Job, JobEvent


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Jobs with their status at a glance."""

    list_display = ("id", "area", "status", "stage", "progress", "created")
    list_filter = ("status",)


admin.site.register(JobEvent)
