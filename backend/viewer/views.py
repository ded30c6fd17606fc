"""Page views: parse the request, call a service, render a template."""

import mimetypes

from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from backend.areas.forms import AreaUploadForm
from backend.areas.models import Area, Publication
from backend.areas.uploads import AreaUpload, UploadRejected, create_area
from backend.jobs.models import Job
from backend.jobs.services import start_job

_CONTENT_TYPES = {
    ".json": "application/json",
    ".pnts": "application/octet-stream",
    ".b3dm": "application/octet-stream",
    ".glb": "model/gltf-binary",
    ".png": "image/png",
    ".tif": "image/tiff",
    ".laz": "application/vnd.laszip",
    ".gpkg": "application/geopackage+sqlite3",
}


@require_GET
def area_list(request: HttpRequest) -> HttpResponse:
    """All areas with their status and latest job."""
    areas = Area.objects.select_related("current").prefetch_related("jobs").order_by("-created")
    rows = [(area, area.jobs.order_by("-created").first()) for area in areas]
    return render(request, "viewer/area_list.html", {"rows": rows})


def area_new(request: HttpRequest) -> HttpResponse:
    """The upload form; on success the job page of the new area's first job."""
    form = AreaUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = AreaUpload(
            name=data["name"], ortho=data["ortho"], dsm=data["dsm"], lidar=data["lidar"], epsg=data["epsg"]
        )
        try:
            with transaction.atomic():
                area, warnings = create_area(upload)
                job = start_job(area)
        except UploadRejected as err:
            form.add_error(err.field if err.field in form.fields else None, str(err))
        else:
            return redirect(reverse("viewer:job", args=[job.pk]) + ("?warned=1" if warnings else ""))
    return render(request, "viewer/area_form.html", {"form": form})


@require_GET
def area_view(request: HttpRequest, area_id: int) -> HttpResponse:
    """The 3D viewer page of an area."""
    area = get_object_or_404(Area, pk=area_id)
    config = {"areaUrl": reverse("api:area-detail", args=[area.pk])}
    return render(request, "viewer/area_view.html", {"area": area, "config": config})


@require_GET
def job_page(request: HttpRequest, job_id: int) -> HttpResponse:
    """A job's live progress."""
    job = get_object_or_404(Job.objects.select_related("area"), pk=job_id)
    return render(
        request,
        "viewer/job.html",
        {
            "job": job,
            "ws_url": f"/ws/jobs/{job.pk}/",
            "view_url": reverse("viewer:area-view", args=[job.area_id]),
            "events": job.events.order_by("pk"),
        },
    )


@require_GET
def area_data(request: HttpRequest, area_id: int, version: int, path: str) -> FileResponse:
    """A file of a published version (tileset, tile, image, raster, vector), never outside its folder."""
    publication = get_object_or_404(Publication, area_id=area_id, version=version)
    root = publication.folder.resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise Http404("No such file in this version.")
    content_type = _CONTENT_TYPES.get(target.suffix.lower()) or mimetypes.guess_type(target.name)[0]
    response = FileResponse(target.open("rb"), content_type=content_type or "application/octet-stream")
    # Versions are immutable: a published file never changes under its URL.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
