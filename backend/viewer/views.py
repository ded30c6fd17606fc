"""Page views: parse the request, call a service, render a template.

Every area, job and file goes through ``backend.areas.permissions``: what a user may not see answers 404.
"""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe

from backend.api.parsers import unreadable_form_message
from backend.api.serializers import AreaSerializer
from backend.api.throttles import UploadRateThrottle
from backend.areas.models import Area, Publication
from backend.areas.permissions import can_edit, set_sharing, visible_areas
from backend.areas.uploads import UploadRejected
from backend.jobs.lease import expire_if_lost
from backend.jobs.models import Job
from backend.jobs.removal import AreaInUse, delete_area, delete_version
from backend.jobs.services import AreaBusy, cancel_job, retry_job
from backend.jobs.submit import submit_area
from backend.models_registry.services import CannotTrain, can_train_on, held_out_rows, start_training
from backend.runtime.checkslots import ChecksBusy
from backend.serving import data_gate, grants
from backend.serving.delivery import is_precompressed_copy, serve_file
from backend.viewer import previews
from backend.viewer.forms import AreaSharingForm, AreaUploadForm, TrainForm
from backend.viewer.quality import input_quality
from backend.viewer.token_auth import accepts_api_tokens


@require_GET
def area_list(request: HttpRequest) -> HttpResponse:
    """The areas this user may see, with their status and latest job."""
    areas = Area.objects.select_related("current", "owner").prefetch_related("jobs").order_by("-created")
    rows = [
        (area, area.jobs.order_by("-created").first(), _preview(area)) for area in visible_areas(request.user, areas)
    ]
    return render(request, "viewer/area_list.html", {"rows": rows})


def _preview(area: Area) -> dict[str, Any] | None:
    """The list's thumbnail URL and sizes of an area's current version; None without one."""
    publication = area.current
    if publication is None:
        return None
    publication.area = area  # the cache folder is the area's: no second query
    return {
        "thumbnail_url": reverse("viewer:area-thumbnail", args=[area.pk, publication.version]),
        "sizes": previews.sizes(publication),
    }


@login_required
@require_http_methods(["GET", "POST"])
def area_new(request: HttpRequest) -> HttpResponse:
    """The upload form (logged-in users); on success the job page of the new area's first job.

    While the server checks as many uploads as it may (``RS3D_MAX_CONCURRENT_CHECKS``) the upload waits;
    if no check ends in ``RS3D_CHECK_QUEUE_WAIT_S`` the form answers 503 with ``Retry-After``, saying so.
    """
    try:
        form = AreaUploadForm(request.POST or None, request.FILES or None, user=request.user)
    except MultiPartParserError as err:  # e.g. a file name that is not UTF-8: say so on the empty form
        form = AreaUploadForm(user=request.user)  # unbound: add_error() needs cleaned data, the dict does not
        form.errors[NON_FIELD_ERRORS] = form.error_class([unreadable_form_message(err)], error_class="nonfield")
        return render(request, "viewer/area_form.html", {"form": form}, status=400)
    throttle = UploadRateThrottle()
    if request.method == "POST" and not throttle.allow_request(request, None):
        minutes = max(1, round((throttle.wait() or 0) / 60))
        form.add_error(None, f"{throttle.limit_message()} Try again in about {minutes} minute(s).")
        return render(request, "viewer/area_form.html", {"form": form}, status=429)
    if request.method == "POST" and form.is_valid():
        try:
            area, warnings = submit_area(form.cleaned_data, request.POST, request.user)
        except UploadRejected as err:
            form.add_error(err.field if err.field in form.fields else None, str(err))
        except ChecksBusy as err:
            form.add_error(None, str(err))
            response = render(request, "viewer/area_form.html", {"form": form}, status=503)
            response["Retry-After"] = str(err.retry_after)
            return response
        else:
            job = area.jobs.get()
            return redirect(reverse("viewer:job", args=[job.pk]) + ("?warned=1" if warnings else ""))
    return render(request, "viewer/area_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
def area_page(request: HttpRequest, area_id: int) -> HttpResponse:
    """An area: status, versions, jobs; its owner changes who sees it here (POST)."""
    area = _visible_area_or_404(request, area_id)
    editable = can_edit(request.user, area)
    if request.method == "POST" and not editable:
        raise PermissionDenied("Only the owner of this area can change who sees it.")
    form = AreaSharingForm.for_area(area, request.POST or None) if editable else None
    if form is not None and request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        set_sharing(area, data["visibility"], users=data["users"], groups=data["groups"])
        return redirect("viewer:area", area.pk)
    return render(request, "viewer/area.html", _area_context(area, editable, form))


@login_required
@require_POST
def area_train(request: HttpRequest, area_id: int) -> HttpResponse:
    """Queue "Train a model on this area" (its owner or staff); back to the area page."""
    area = _editable_area_or_404(request, area_id, "train a model on it")
    form = TrainForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():
                start_training(area, request.user, steps=form.cleaned_data["steps"])
        except CannotTrain as err:
            form.add_error(None, str(err))
        else:
            return redirect(reverse("viewer:area", args=[area.pk]) + "#models")
    context = _area_context(area, True, AreaSharingForm.for_area(area))
    context["train_form"] = form
    return render(request, "viewer/area.html", context, status=400)


def _area_context(area: Area, editable: bool, form: AreaSharingForm | None) -> dict[str, Any]:
    """What the area page shows: versions, jobs, sharing, and the models trained on it with their scores."""
    return {
        "area": area,
        "jobs": area.jobs.order_by("-created")[:20],
        "versions": area.publications.order_by("-version"),
        "form": form,
        "shared_users": area.shared_users.all(),
        "shared_groups": area.shared_groups.all(),
        "used_model": area.current.manifest.get("model") if area.current else None,
        "height_source": area.current.manifest.get("height_source") if area.current else None,
        "input_quality": input_quality(area.current.manifest if area.current else None),
        "trained": [(version, held_out_rows(version)) for version in area.model_versions.order_by("-created")],
        "train_form": TrainForm() if editable and can_train_on(area) else None,
        "editable": editable,
    }


@login_required
@require_http_methods(["GET", "POST"])
def area_delete(request: HttpRequest, area_id: int) -> HttpResponse:
    """Ask, then delete an area with all its versions and files (its owner or staff); back to the list."""
    area = _editable_area_or_404(request, area_id, "delete it")
    sources = sum(source.size for source in area.sources.all())
    count = area.publications.count()
    removes = f"its {count} version{pluralize(count)}, its jobs and the {sources / 1e6:.1f} MB of files uploaded for it"
    refusal = None
    if request.method == "POST":
        try:
            delete_area(area)
        except AreaInUse as err:
            refusal = str(err)
        else:
            messages.success(request, f"The area “{area.name}” and its files were deleted.")
            return redirect("viewer:area-list")
    context = {"what": f"the area “{area.name}”", "removes": removes, "back": reverse("viewer:area", args=[area.pk])}
    return render(
        request, "viewer/confirm_delete.html", {**context, "refusal": refusal}, status=409 if refusal else 200
    )


@login_required
@require_http_methods(["GET", "POST"])
def version_delete(request: HttpRequest, area_id: int, version: int) -> HttpResponse:
    """Ask, then delete one version of an area and its files (its owner or staff); back to the area."""
    area = _editable_area_or_404(request, area_id, "delete its versions")
    publication = get_object_or_404(area.publications, version=version)
    if request.method == "POST":
        delete_version(area, publication.version)
        messages.success(request, f"Version {version} of “{area.name}” and its files were deleted.")
        return redirect("viewer:area", area.pk)
    current = (
        " (the current one: the newest remaining version takes its place)" if area.current_id == publication.pk else ""
    )
    context = {
        "what": f"version {version} of “{area.name}”",
        "removes": f"its 3D layers, features and files{current}",
        "back": reverse("viewer:area", args=[area.pk]),
    }
    return render(request, "viewer/confirm_delete.html", context)


@require_GET
def area_view(request: HttpRequest, area_id: int) -> HttpResponse:
    """The 3D viewer page of an area."""
    area = _visible_area_or_404(request, area_id)
    # The area API's answer for this user, embedded: the viewer starts without asking for it (issue 18).
    area_json = AreaSerializer(area, context={"request": request}).data
    config = {"areaUrl": reverse("api:area-detail", args=[area.pk]), "area": area_json}
    cesium = f"{settings.RS3D_CESIUM_STATIC}/"  # versioned folder: see backend.serving.static_files
    response = render(request, "viewer/area_view.html", {"area": area, "config": config, "cesium": cesium})
    if settings.DEBUG:  # the page imports Cesium's whole build, whose Knockout needs eval; the bundle does not
        response["Content-Security-Policy"] = settings.RS3D_VIEWER_CONTENT_SECURITY_POLICY
    return response


@require_GET
def job_page(request: HttpRequest, job_id: int) -> HttpResponse:
    """A job's live progress."""
    job = get_object_or_404(Job.objects.select_related("area"), pk=job_id, area__in=visible_areas(request.user))
    job = expire_if_lost(job)  # a job whose worker died reads as failed, with the reason
    return render(request, "viewer/job.html", _job_context(request, job))


def _job_context(request: HttpRequest, job: Job, notice: str = "") -> dict[str, Any]:
    """What the job page shows; ``notice`` is a sentence about the user's last action (e.g. a refused retry)."""
    manifest = _published_manifest(job)
    return {
        "job": job,
        "ws_url": f"/ws/jobs/{job.pk}/",
        "view_url": reverse("viewer:area-view", args=[job.area_id]),
        "area_url": reverse("viewer:area", args=[job.area_id]),
        "events": job.events.order_by("pk"),
        "used_model": (manifest or {}).get("model"),
        "editable": can_edit(request.user, job.area),
        "input_quality": input_quality(manifest),
        "notice": notice,
    }


@require_POST
def job_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    """The job page's Cancel button (the area's owner): back to the job page."""
    job = _editable_job_or_404(request, job_id)
    cancel_job(job)
    return redirect("viewer:job", job.pk)


@require_POST
def job_retry(request: HttpRequest, job_id: int) -> HttpResponse:
    """The job page's Retry button (the area's owner): the new job's page.

    A second click while that run is queued or running queues nothing and shows that run's page. Retries
    count against the user's upload rate; past it the job page answers 429 saying so.
    """
    job = _editable_job_or_404(request, job_id)
    throttle = UploadRateThrottle()
    if not throttle.allow_request(request, None):
        minutes = max(1, round((throttle.wait() or 0) / 60))
        notice = f"{throttle.limit_message()} Try again in about {minutes} minute(s)."
        return render(request, "viewer/job.html", _job_context(request, job, notice), status=429)
    try:
        with transaction.atomic():
            new = retry_job(job)
    except ValueError:  # a job that is running again, or succeeded: show it as it is
        return redirect("viewer:job", job.pk)
    except AreaBusy as busy:  # a double click: the run the first click queued
        return redirect("viewer:job", busy.job.pk)
    return redirect("viewer:job", new.pk)


def _editable_job_or_404(request: HttpRequest, job_id: int) -> Job:
    """A job of an area this user may see (else 404) and edit (else 403)."""
    job = get_object_or_404(Job.objects.select_related("area"), pk=job_id, area__in=visible_areas(request.user))
    if not can_edit(request.user, job.area):
        raise PermissionDenied("Only the owner of this area can cancel or retry its jobs.")
    return expire_if_lost(job)


@require_safe
@accepts_api_tokens
def area_data(request: HttpRequest, area_id: int, version: int, path: str) -> HttpResponseBase:
    """A file of a published version (tileset, tile, image, raster, vector), never outside its folder.

    Permissions come first: for an area this user (of the session, or of an API token) may not see, every
    request (conditional, ranged or not) is the same 404. Then ``delivery.serve_file`` negotiates br/gzip,
    answers 304s and byte ranges. A path no file can have (a NUL byte) is 404 too. Once the checks pass, the
    grant is remembered: ``backend.serving.data_gate`` answers this viewer's next files of this version.
    """
    generation = grants.current()  # before the checks: a revocation committed while they run voids the grant
    # A public area's files are the same for everyone: answer them without reading the session, so the
    # response carries no "Vary: Cookie" and a shared cache keeps one copy for all viewers.
    area = Area.objects.filter(pk=area_id, visibility=Area.Visibility.PUBLIC).first() or _visible_area_or_404(
        request, area_id
    )
    publication = get_object_or_404(Publication, area=area, version=version)
    if "\x00" in path:
        raise Http404("No such file in this version.")
    root = publication.folder.resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file() or is_precompressed_copy(target):
        raise Http404("No such file in this version.")
    # Versions are immutable: a published file never changes under its URL. Only a public area's files
    # may be kept by shared caches.
    public = area.visibility == Area.Visibility.PUBLIC
    # The next requests of this viewer for this version: answered by backend.serving.data_gate from this "yes".
    data_gate.remember(request, area_id, version, folder=root, public=public, generation=generation)
    scope = "public" if public else "private"
    return serve_file(request, target, cache_control=f"{scope}, max-age=31536000, immutable")


@require_safe
@accepts_api_tokens
def area_thumbnail(request: HttpRequest, area_id: int, version: int) -> HttpResponseBase:
    """A small WebP of a version's orthophoto preview, made on first request; the same 404s as its files."""
    area = Area.objects.filter(pk=area_id, visibility=Area.Visibility.PUBLIC).first() or _visible_area_or_404(
        request, area_id
    )
    publication = get_object_or_404(Publication, area=area, version=version)
    path = previews.thumbnail(publication)
    if path is None:
        raise Http404("This version has no orthophoto preview.")
    scope = "public" if area.visibility == Area.Visibility.PUBLIC else "private"
    return serve_file(request, path, cache_control=f"{scope}, max-age=31536000, immutable")


def _published_manifest(job: Job) -> dict[str, Any] | None:
    """The manifest of the version ``job`` published, if any."""
    if job.version is None:
        return None
    publication = Publication.objects.filter(area_id=job.area_id, version=job.version).first()
    return publication.manifest if publication else None


def _editable_area_or_404(request: HttpRequest, area_id: int, action: str) -> Area:
    """The area if this user may change it; 404 if they may not see it, 403 if they may only look."""
    area = _visible_area_or_404(request, area_id)
    if not can_edit(request.user, area):
        raise PermissionDenied(f"Only the owner of this area can {action}.")
    return area


def _visible_area_or_404(request: HttpRequest, area_id: int) -> Area:
    """The area if this user may see it; else 404, exactly as for an area that does not exist."""
    areas = Area.objects.select_related("current", "owner")
    return get_object_or_404(visible_areas(request.user, areas), pk=area_id)
