"""The job and area pages say how a version's inputs were prepared: registration residuals, stereo figures, trust."""

import pytest
from django.contrib.gis.geos import Polygon

from backend.areas.models import Area, Publication
from backend.jobs.models import Job
from backend.viewer.quality import input_quality

MANIFEST = {
    "registration": {
        "second_image": {
            "model": "affine",
            "semantic": True,
            "n_matches": 656,
            "n_inliers": 638,
            "rmse_m": 0.041,
            "shift_m": [2.31, -1.7],
            "check_points": None,
        }
    },
    "stereo": {"images": 2, "library": "cars 1.3.0", "valid_share": 0.952, "resolution": 0.5, "run_seconds": 196.2},
}


def test_lines_say_what_was_aligned_and_how_well():
    registration, stereo = input_quality(MANIFEST)
    assert registration.startswith("Second image aligned (affine model, with the semantic constraint)")
    assert "+2.31 m east, -1.70 m north" in registration and "638 of 656 matches" in registration
    assert "residual 0.04 m" in registration
    assert stereo == "Stereo DSM from 2 images (cars 1.3.0), 95 % of the area has a height, 0.5 m cells, 196 s."


def test_a_predicted_run_says_how_far_the_model_trusted_itself():
    trust = {"shift_score": 2.69, "untrusted_share": 0.62, "untrusted_m2": 9000.0, "removed_building_m2": 21777.0}
    (line,) = input_quality({"prediction": {"trust": trust}})
    assert line == (
        "Predicted heights: distribution-shift score 2.69 (1 is like the towns the model learned from); 62 % of "
        "the area left as ground with no buildings, 21,777 m² of predicted buildings removed."
    )
    assert input_quality({"prediction": {"trust": None}}) == []  # measured heights: no gate
    chipped = {**trust, "worst_chip_shift_score": 4.1, "chips": 6}
    (line,) = input_quality({"prediction": {"trust": chipped}})
    assert line.endswith("removed; its least familiar part (one of 6 chips) scored 4.10.")


def test_nothing_to_say_without_registration_or_stereo():
    assert input_quality(None) == [] and input_quality({"registration": {}, "stereo": {}}) == []


@pytest.mark.django_db
def test_job_and_area_pages_show_the_lines(web, user):
    area = Area.objects.create(name="Pair", owner=user, status=Area.Status.READY)
    bbox = Polygon.from_bbox((55.4, -21.1, 55.41, -21.09))
    area.current = Publication.objects.create(area=area, version=1, manifest=MANIFEST, crs="EPSG:32740", bbox=bbox)
    area.save(update_fields=["current"])
    job = Job.objects.create(area=area, status=Job.Status.SUCCEEDED, version=1)
    for page in (f"/jobs/{job.pk}/", f"/areas/{area.pk}/"):
        html = web.get(page).content.decode()
        assert "Stereo DSM from 2 images" in html and "Second image aligned" in html, page
