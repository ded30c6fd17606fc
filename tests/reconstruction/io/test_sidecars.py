"""Orthophotos as published: JPEG or PNG placed by a world file, a .prj or GDAL's .aux.xml beside them.

Each accepted image is read onto a metric working grid and compared with the GeoTIFF it was made from (or,
in US survey feet, with where its marked square must land); each refusal says which sidecar is missing
or wrong and what to do.
"""

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.enums import Resampling

from reconstruction.errors import CRSError, InputError
from reconstruction.io import Grid, inspect_raster, read_onto_grid
from reconstruction.io.sidecars import read_aux_xml, read_prj, read_world_file
from tests.hostile_files import world_file_text, write_image

LIMIT = 10**9


def _on_grid(info, like: Path) -> np.ndarray:
    with rasterio.open(like) as src:
        grid = Grid(CRS.from_user_input(src.crs), src.transform, src.width, src.height)
    return read_onto_grid(info, grid, Resampling.nearest)


def test_a_jpeg_with_a_world_file_and_a_prj_is_read_like_its_geotiff(small_scene_files, tmp_path):
    tif = small_scene_files["ortho"]
    image = write_image(tmp_path / "photo.jpg", tif, "JPEG")
    with rasterio.open(tif) as src:
        (tmp_path / "photo.jgw").write_text(world_file_text(src.transform))
    (tmp_path / "photo.prj").write_text(CRS.from_epsg(32631).to_wkt("WKT1_ESRI"))  # as ArcGIS writes it
    info = inspect_raster(image, "orthophoto", None, LIMIT)
    reference = inspect_raster(tif, "orthophoto", None, LIMIT)
    assert info.crs.to_epsg() == 32631 and info.transform.almost_equals(reference.transform)
    got, want = _on_grid(info, tif), _on_grid(reference, tif)
    assert np.isfinite(got).all()
    assert np.abs(got - want).mean() < 6  # JPEG is lossy; a shift of one pixel would cost far more
    assert np.corrcoef(got.ravel(), want.ravel())[0, 1] > 0.95


def test_a_png_with_a_world_file_and_an_epsg_code_is_read_exactly(small_scene_files, tmp_path):
    tif = small_scene_files["ortho"]
    image = write_image(tmp_path / "photo.png", tif, "PNG")
    with rasterio.open(tif) as src:
        (tmp_path / "photo.pgw").write_text(world_file_text(src.transform))
    info = inspect_raster(image, "orthophoto", 32631, LIMIT)
    assert info.crs.to_epsg() == 32631 and "using EPSG:32631 as you gave it" in info.warnings[0]
    reference = inspect_raster(tif, "orthophoto", None, LIMIT)
    np.testing.assert_array_equal(_on_grid(info, tif), _on_grid(reference, tif))  # PNG is lossless


def test_a_jpeg_with_a_gdal_aux_xml_in_us_survey_feet_lands_right_on_a_metric_grid(tmp_path):
    """NAD83 / Florida East (ftUS): a bright square must land where PROJ puts it in metres, not 3.28x off."""
    ft = CRS.from_epsg(2236)
    x0, y0 = 922_700.0, 523_000.0  # Miami, in US survey feet
    image = np.full((3, 200, 200), 40, np.uint8)
    image[:, 80:120, 100:140] = 230  # rows 80-120, columns 100-140: 40 x 40 ft
    image[1] += (np.arange(200, dtype=np.uint8) % 7)[None, :]  # some texture, so it holds information
    path = tmp_path / "miami.jpg"
    with rasterio.open(
        path,
        "w",
        driver="JPEG",
        width=200,
        height=200,
        count=3,
        dtype="uint8",
        crs=ft,
        transform=Affine(1, 0, x0, 0, -1, y0),
    ) as dst:
        dst.write(image)
    with rasterio.open(path) as src:
        src.stats()  # GDAL adds its statistics to the .aux.xml, as gdalinfo -stats does
    assert "STATISTICS_MEAN" in (tmp_path / "miami.jpg.aux.xml").read_text()
    info = inspect_raster(path, "orthophoto", None, LIMIT)
    assert info.crs.to_epsg() == 2236 and info.warnings == ()
    utm = CRS.from_epsg(26917)  # NAD83 / UTM 17N, metres
    cx, cy = Transformer.from_crs(ft, utm, always_xy=True).transform(x0 + 120, y0 - 100)  # the square's centre
    grid = Grid(utm, Affine(0.5, 0, round(cx) - 40, 0, -0.5, round(cy) + 40), 160, 160)
    red = read_onto_grid(info, grid, Resampling.bilinear)[0]
    bright = np.argwhere(red > 150)
    centre = grid.transform @ (bright[:, 1].mean() + 0.5, bright[:, 0].mean() + 0.5)
    assert np.hypot(centre[0] - cx, centre[1] - cy) < 1.0  # metres
    side = np.sqrt(len(bright)) * 0.5
    assert 11 < side < 13.5  # 40 US survey feet is 12.19 m


def test_a_jpeg_without_any_sidecar_is_refused_naming_the_sidecars_it_needs(small_scene_files, tmp_path):
    image = write_image(tmp_path / "photo.jpg", small_scene_files["ortho"], "JPEG")
    with pytest.raises(InputError, match=r"JPEG image without georeferencing.*'photo.jgw'.*'photo.jpg.aux.xml'"):
        inspect_raster(image, "orthophoto", 32631, LIMIT)


def test_a_world_file_without_a_crs_needs_a_prj_or_an_epsg_code(small_scene_files, tmp_path):
    image = write_image(tmp_path / "photo.png", small_scene_files["ortho"], "PNG")
    (tmp_path / "photo.wld").write_text("0.5\n0\n0\n-0.5\n574000.25\n5096079.75\n")
    with pytest.raises(CRSError, match=r"placed by its world file 'photo.wld'.*'photo.prj'.*EPSG code"):
        inspect_raster(image, "orthophoto", None, LIMIT)


@pytest.mark.parametrize(
    "text",
    [
        "0.5\n0\n0\n-0.5\n574000.25\n",  # five numbers
        "0.5\n0\n0\n-0.5\n574000.25\n5096079.75\n7\n",  # seven
        "0,5\n0\n0\n-0,5\n574000,25\n5096079,75\n",  # decimal commas
        "0\n0\n0\n-0.5\n574000.25\n5096079.75\n",  # no pixel width
    ],
)
def test_a_malformed_world_file_is_refused(small_scene_files, tmp_path, text):
    image = write_image(tmp_path / "photo.jpg", small_scene_files["ortho"], "JPEG")
    (tmp_path / "photo.jgw").write_text(text)
    with pytest.raises(InputError, match=r"'photo.jgw', the world file of the orthophoto 'photo.jpg'"):
        inspect_raster(image, "orthophoto", 32631, LIMIT)


def test_sidecars_that_disagree_are_refused(small_scene_files, tmp_path):
    tif = small_scene_files["ortho"]
    image = write_image(tmp_path / "photo.jpg", tif, "JPEG", crs="EPSG:32631")  # GDAL writes photo.jpg.aux.xml
    (tmp_path / "photo.jgw").write_text("0.5\n0\n0\n-0.5\n600000.25\n5096079.75\n")
    with pytest.raises(InputError, match="disagree about where it lies"):
        inspect_raster(image, "orthophoto", None, LIMIT)
    (tmp_path / "photo.jgw").unlink()
    (tmp_path / "photo.prj").write_text(CRS.from_epsg(2154).to_wkt("WKT1_ESRI"))
    with pytest.raises(InputError, match="disagree about its coordinate system"):
        inspect_raster(image, "orthophoto", None, LIMIT)
    (tmp_path / "photo.prj").write_text(CRS.from_epsg(32631).to_wkt("WKT1_ESRI"))
    assert inspect_raster(image, "orthophoto", None, LIMIT).crs.to_epsg() == 32631


def test_a_dsm_may_not_be_a_jpeg_or_png(small_scene_files, tmp_path):
    image = write_image(tmp_path / "heights.png", small_scene_files["ortho"], "PNG", crs="EPSG:32631")
    with pytest.raises(InputError, match=r"is a PNG file, not one of the formats this input takes \(GeoTIFF or JPEG"):
        inspect_raster(image, "DSM", None, LIMIT)


def test_what_gdal_writes_in_an_aux_xml_passes_and_gives_its_georeferencing(tmp_path):
    wkt = CRS.from_epsg(2236).to_wkt("WKT1_GDAL")
    histogram = (
        "<Histograms><HistItem><HistMin>-0.5</HistMin><HistMax>255.5</HistMax><BucketCount>256</BucketCount>"
        "<IncludeOutOfRange>0</IncludeOutOfRange><Approximate>0</Approximate><HistCounts>"
        + "|".join(["3"] * 256)
        + "</HistCounts></HistItem></Histograms>"
    )
    band = (
        "<PAMRasterBand band='1'><NoDataValue le_hex_equiv='0000000000000000'>0</NoDataValue>"
        f"<ColorInterp>Red</ColorInterp>{histogram}<Metadata><MDI key='STATISTICS_MEAN'>12</MDI></Metadata>"
        "</PAMRasterBand>"
    )
    path = tmp_path / "a.jpg.aux.xml"
    path.write_text(
        "<?xml version='1.0' encoding='UTF-8'?>\n<!-- written by GDAL -->\n<PAMDataset>"
        f"<SRS dataAxisToSRSAxisMapping='1,2'>{wkt}</SRS>"
        "<GeoTransform>  7.0e+05,  1.0e+00,  0.0e+00,  6.0e+05,  0.0e+00, -1.0e+00</GeoTransform>"
        f"<Metadata domain='IMAGE_STRUCTURE'><MDI key='INTERLEAVE'>PIXEL</MDI></Metadata>{band}</PAMDataset>"
    )
    transform, crs = read_aux_xml(path, "orthophoto 'a.jpg'")
    assert transform == Affine(1, 0, 700000, 0, -1, 600000) and crs is not None and crs.to_epsg() == 2236


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<?xml version='1.0' encoding='UTF-16'?><PAMDataset/>", "encoding UTF-16"),
        ("<PAMDataset><![CDATA[<VRTDataset/>]]></PAMDataset>", "DOCTYPE, entity"),
        ("<PAMDataset/><?x y?>", "processing instruction"),
        ("<PAMDataset><Metadata domain='xml:XMP'><MDI key='a'>b</MDI></Metadata></PAMDataset>", "domain 'xml:XMP'"),
        ("<PAMDataset><Metadata format='xml'/></PAMDataset>", "attribute 'format'"),
        ("<PAMDataset><GeoTransform>1, 2, 3</GeoTransform></PAMDataset>", "not six numbers"),
        ("<PAMDataset><SRS>EPSG:2236</SRS></PAMDataset>", "not the WKT"),
        ("<PAMDataset><Metadata><MDI key='a'>file:///etc/passwd</MDI></Metadata></PAMDataset>", "names another"),
        ("<PAMDataset", "not well-formed"),
    ],
)
def test_an_aux_xml_beyond_gdals_own_georeferencing_is_refused(tmp_path, text, message):
    path = tmp_path / "a.jpg.aux.xml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_aux_xml(path, "orthophoto 'a.jpg'")


@pytest.mark.parametrize("text", ["+proj=utm +zone=31", "EPSG:2154", "Projection UTM\nZone 31\n", "PROJCS[oops"])
def test_a_prj_must_be_the_wkt_of_a_crs(tmp_path, text):
    (tmp_path / "a.prj").write_text(text)
    with pytest.raises(InputError, match="'a.prj', beside the orthophoto 'a.jpg'"):
        read_prj(tmp_path / "a.prj", "orthophoto 'a.jpg'")


def test_a_world_file_gives_the_corner_of_the_upper_left_pixel(tmp_path):
    (tmp_path / "a.jgw").write_text("0.5\n0.0\n0.0\n-0.5\n574000.25\n5096079.75\n\n")
    assert read_world_file(tmp_path / "a.jgw", "orthophoto 'a.jpg'") == Affine(0.5, 0, 574000, 0, -0.5, 5096080)


def test_a_jpeg_2000_orthophoto_is_read_with_its_own_georeferencing(small_scene_files, tmp_path):
    tif = small_scene_files["ortho"]
    with rasterio.open(tif) as src:
        profile = {"crs": src.crs, "transform": src.transform, "width": src.width, "height": src.height}
        data = src.read((1, 2, 3))
    path = tmp_path / "ortho.jp2"
    with rasterio.open(
        path, "w", driver="JP2OpenJPEG", count=3, dtype="uint8", QUALITY=100, REVERSIBLE=True, **profile
    ) as dst:
        dst.write(data)
    info = inspect_raster(path, "orthophoto", None, LIMIT)
    assert info.crs.to_epsg() == 32631
    np.testing.assert_array_equal(_on_grid(info, tif), _on_grid(inspect_raster(tif, "orthophoto", None, LIMIT), tif))
