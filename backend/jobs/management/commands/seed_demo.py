"""``manage.py seed_demo``: create the public demo area from a generated city, unless it already exists."""

import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.management.base import BaseCommand, CommandParser

from backend.areas.models import Area
from backend.areas.permissions import set_sharing
from backend.areas.uploads import AreaUpload, create_area
from backend.jobs.services import start_job

DEMO_NAME = "Demo city (generated)"


class Command(BaseCommand):
    """Generate a procedural city (orthophoto + DSM), upload it as an area and queue its reconstruction."""

    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        """Scene size and seed."""
        parser.add_argument("--size", type=float, default=400.0, help="side of the area in metres")
        parser.add_argument("--seed", type=int, default=7, help="seed of the generated city")
        parser.add_argument("--force", action="store_true", help="create another demo area even if one exists")

    def handle(self, *args: Any, **options: Any) -> None:  # noqa: ANN401 - Django's signature
        """Create the area and queue its job (idempotent)."""
        existing = Area.objects.filter(name=DEMO_NAME).order_by("-created").first()
        if existing and not options["force"] and existing.status != Area.Status.FAILED:
            if existing.visibility != Area.Visibility.PUBLIC:  # made before areas had a visibility
                set_sharing(existing, Area.Visibility.PUBLIC)
            self.stdout.write(f"Demo area exists (id {existing.pk}, {existing.status}, public); nothing to do.")
            return
        folder = Path(settings.RS3D_HOME) / "demo" / f"seed{options['seed']}-{int(options['size'])}m"
        if not (folder / "dsm.tif").exists():
            self.stdout.write("Generating the demo city ...")
            # In a child process: the generator's shapely/GDAL must not share a process with GeoDjango's.
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "reconstruction",
                    "synthetic",
                    "--out",
                    str(folder),
                    "--size",
                    str(options["size"]),
                    "--seed",
                    str(options["seed"]),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        with ExitStack() as files:
            ortho = files.enter_context((folder / "ortho.tif").open("rb"))
            dsm = files.enter_context((folder / "dsm.tif").open("rb"))
            upload = AreaUpload(name=DEMO_NAME, ortho=File(ortho, "ortho.tif"), dsm=File(dsm, "dsm.tif"))
            area, _ = create_area(upload, on_stored=start_job)
        set_sharing(area, Area.Visibility.PUBLIC)  # the demo city opens without logging in
        job = area.jobs.get()
        self.stdout.write(f"Demo area {area.pk} created (public); job {job.pk} queued for the worker.")
