"""Data as published, through the API and the page: several tiles per input, JPEGs with sidecars, zips of them.

Each accepted upload is checked where it lands (one Source per file, each sidecar beside its image under the
image's stored name, the reconstruction inputs listing every tile); each refusal says which file and leaves
nothing behind.
"""

import io
import stat
import zipfile
from pathlib import Path

import pytest
import rasterio
from django.core.files.uploadedfile import SimpleUploadedFile
from pyproj import CRS
from rasterio.windows import Window

from backend.areas.models import Area, Source
from tests.backend.conftest import listing
from tests.hostile_files import world_file_text, write_image

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def tiles(scene_files, tmp_path_factory) -> list[Path]:
    """The scene's orthophoto cut into a west and an east GeoTIFF tile."""
    folder = tmp_path_factory.mktemp("tiles")
    out = []
    with rasterio.open(scene_files["ortho"]) as src:
        half = src.width // 2
        for name, window in (
            ("west.tif", Window(0, 0, half, src.height)),
            ("east.tif", Window(half, 0, src.width - half, src.height)),
        ):
            profile = src.profile | {
                "width": window.width,
                "height": window.height,
                "transform": src.window_transform(window),
            }
            with rasterio.open(folder / name, "w", **profile) as dst:
                dst.write(src.read(window=window))
            out.append(folder / name)
    return out


@pytest.fixture(scope="module")
def jpeg(scene_files, tmp_path_factory) -> dict[str, Path]:
    """The scene's orthophoto as a JPEG with its world file and .prj, as a national orthophoto is published."""
    folder = tmp_path_factory.mktemp("jpeg")
    image = write_image(folder / "Ortho Tile.jpg", scene_files["ortho"], "JPEG")
    with rasterio.open(scene_files["ortho"]) as src:
        (folder / "Ortho Tile.jgw").write_text(world_file_text(src.transform))
        (folder / "Ortho Tile.prj").write_text(CRS.from_user_input(src.crs).to_wkt("WKT1_ESRI"))
    return {"image": image, "world": folder / "Ortho Tile.jgw", "prj": folder / "Ortho Tile.prj"}


def _upload(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes())


def _zip(members: dict[str, bytes], links: tuple[str, ...] = ()) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            if name in links:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, data, zipfile.ZIP_DEFLATED)
    return SimpleUploadedFile("tiles.zip", buffer.getvalue())


def _post(api, **fields):
    return api.post("/api/areas/", {"name": "Tiled", **fields}, format="multipart")


def _stored(area: Area) -> dict[str, tuple[str, str | None]]:
    """Each stored file's name -> (its kind, the name of the image it georeferences)."""
    return {
        Path(s.path).name: (s.kind, Path(s.image.path).name if s.image else None)
        for s in area.sources.select_related("image")
    }


def test_orthophoto_tiles_become_one_area_with_every_tile_as_an_input(api, tiles, scene_files):
    response = _post(api, ortho=[_upload(t) for t in tiles], dsm=_upload(scene_files["dsm"]))
    assert response.status_code == 201, response.json()
    area = Area.objects.get()
    assert _stored(area) == {"west.tif": ("ortho", None), "east.tif": ("ortho", None), "dsm.tif": ("dsm", None)}
    inputs = area.pipeline_inputs()
    assert sorted(p.name for p in inputs.ortho) == ["east.tif", "west.tif"]
    assert [p.name for p in inputs.dsm] == ["dsm.tif"] and all(p.is_file() for p in inputs.ortho)


def test_a_jpeg_with_its_sidecars_is_stored_beside_them_under_its_safe_name(api, jpeg, scene_files):
    files = [_upload(jpeg["prj"]), _upload(jpeg["image"]), _upload(jpeg["world"])]  # any order
    response = _post(api, ortho=files, dsm=_upload(scene_files["dsm"]))
    assert response.status_code == 201, response.json()
    area = Area.objects.get()
    assert _stored(area) == {
        "Ortho_Tile.jpg": ("ortho", None),
        "Ortho_Tile.jgw": ("ortho", "Ortho_Tile.jpg"),
        "Ortho_Tile.prj": ("ortho", "Ortho_Tile.jpg"),
        "dsm.tif": ("dsm", None),
    }
    assert [p.name for p in area.pipeline_inputs().ortho] == ["Ortho_Tile.jpg"]  # sidecars are no inputs
    folders = {Path(s.file).parent for s in area.sources.filter(kind="ortho")}
    assert len(folders) == 1  # beside their image, where GDAL looks


def test_a_zip_of_a_jpeg_and_its_sidecars_is_unpacked_and_accepted(api, jpeg, scene_files):
    archive = _zip({f"export/{p.name}": p.read_bytes() for p in jpeg.values()})
    response = _post(api, ortho=archive, dsm=_upload(scene_files["dsm"]))
    assert response.status_code == 201, response.json()
    area = Area.objects.get()
    assert set(_stored(area)) == {"Ortho_Tile.jpg", "Ortho_Tile.jgw", "Ortho_Tile.prj", "dsm.tif"}
    assert area.sources.get(path__endswith=".jpg").original_name == "tiles.zip/export/Ortho Tile.jpg"


def test_the_page_takes_several_files_in_one_field(web, tiles, scene_files):
    response = web.post(
        "/areas/new/",
        {"name": "Tiled", "ortho": [_upload(t) for t in tiles], "dsm": _upload(scene_files["dsm"])},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Area.objects.get().sources.filter(kind="ortho").count() == 2


def test_several_staged_uploads_name_the_tiles_of_one_field(api, tiles, scene_files):
    ids = []
    for path in [*tiles, scene_files["dsm"]]:
        data = path.read_bytes()
        started = api.post("/api/uploads/", {"filename": path.name, "size": len(data)}, format="json").json()
        api.generic(
            "PUT",
            f"/api/uploads/{started['id']}/",
            data,
            content_type="application/octet-stream",
            HTTP_CONTENT_RANGE=f"bytes 0-{len(data) - 1}/{len(data)}",
        )
        ids.append(started["id"])
    response = api.post(
        "/api/areas/", {"name": "Staged tiles", "ortho_upload": ids[:2], "dsm_upload": ids[2]}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert Area.objects.get().sources.filter(kind="ortho").count() == 2


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (lambda j: [_upload(j["world"])], "no such image was given as the Orthophoto"),
        (
            lambda j: [_upload(j["image"]), _upload(j["world"], "Other.jgw")],
            "'Other.jgw' georeferences an image named 'other.*'",
        ),
        (lambda j: [_upload(j["image"]), _upload(j["image"], "ortho tile.JPG")], "are both named"),
        (lambda j: [_zip({"a.jpg": b"x", "a.vrt": b"<VRTDataset/>"})], "'tiles.zip/a.vrt' is neither an image"),
        (
            lambda j: [_zip({"Ortho Tile.jpg": b"x", "Ortho Tile.jgw": b"/etc/passwd"}, links=("Ortho Tile.jgw",))],
            "is a link",
        ),
        (lambda j: [_zip({"Ortho Tile.jpg": b"\0" * 5_000_000})], "zip bombs"),
        (lambda j: [_zip({"../../Ortho Tile.jgw": b"1\n0\n0\n-1\n0\n0\n"})], "no such image"),
        (lambda j: [SimpleUploadedFile("broken.zip", b"PK\x03\x04 not a zip")], "not a readable zip"),
    ],
    ids=[
        "sidecar-alone",
        "sidecar-of-another",
        "same-name",
        "zip-vrt",
        "zip-link",
        "zip-bomb",
        "zip-path",
        "zip-broken",
    ],
)
def test_sidecars_and_zips_that_name_anything_but_their_image_are_refused(
    api, jpeg, scene_files, media_root, files, message
):
    before = listing(media_root)
    response = _post(api, ortho=files(jpeg), dsm=_upload(scene_files["dsm"]))
    assert response.status_code == 400
    assert message in str(response.json()), response.json()
    assert "ortho" in response.json()  # the field at fault
    assert Area.objects.count() == 0 and Source.objects.count() == 0
    assert listing(media_root) == before


def test_one_file_inputs_still_take_one_file(api, scene_files, tiles):
    response = _post(api, ortho=_upload(tiles[0]), second_image=[_upload(tiles[0]), _upload(tiles[1])])
    assert response.status_code == 400
    assert Area.objects.count() == 0


def test_too_many_files_for_one_input_are_refused_before_anything_is_stored(api, tiles, settings, media_root):
    settings.RS3D_MAX_FILES_PER_INPUT = 1
    response = _post(api, ortho=[_upload(t) for t in tiles])
    assert response.status_code == 400
    assert "at most 1 per input (RS3D_MAX_FILES_PER_INPUT)" in str(response.json())
    assert listing(media_root) == set()


def test_training_says_it_reads_one_tile_of_each(api, tiles, scene_files, tmp_path, user):
    from backend.models_registry.services import CannotTrain, can_train_on, start_training
    from tests.conftest import sparse_lidar

    lidar = sparse_lidar(scene_files["dsm"], tmp_path / "points.las")
    response = _post(api, ortho=[_upload(t) for t in tiles], lidar=_upload(lidar))
    assert response.status_code == 201, response.json()
    area = Area.objects.get()
    assert not can_train_on(area)
    with pytest.raises(CannotTrain, match="2 orthophoto and 1 LiDAR tiles. Train on an area of one tile"):
        start_training(area, user)


def test_lidar_tiles_alone_make_one_area(api, scene_files, tmp_path):
    from tests.conftest import sparse_lidar

    first = sparse_lidar(scene_files["dsm"], tmp_path / "tile_a.las")
    second = tmp_path / "tile_b.las"
    second.write_bytes(first.read_bytes())  # the same survey twice: overlapping tiles are allowed
    response = _post(api, lidar=[_upload(first), _upload(second)])
    assert response.status_code == 201, response.json()
    inputs = Area.objects.get().pipeline_inputs()
    assert sorted(p.name for p in inputs.lidar) == ["tile_a.las", "tile_b.las"] and inputs.ortho == ()
