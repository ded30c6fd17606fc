import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from reconstruction.errors import InputError, OverlapError
from reconstruction.stereo import check_stereo_images
from tests.reconstruction.stereo.conftest import crop_view


def _plain_geotiff(path, side=128):
    profile = {"driver": "GTiff", "width": side, "height": side, "count": 1, "dtype": "uint16"}
    with rasterio.open(path, "w", crs="EPSG:32740", transform=from_origin(0, 0, 0.5, 0.5), **profile) as dst:
        dst.write(np.ones((1, side, side), np.uint16))
    return path


def test_a_pair_with_rpcs_is_accepted(pleiades):
    views = check_stereo_images([pleiades / "img_01.tif", pleiades / "img_02.tif"])
    assert [v.path.name for v in views] == ["img_01.tif", "img_02.tif"]
    assert views[0].bands == 1 and views[0].width == 1024
    assert views[0].height_offset_m == pytest.approx(1295.0)


@pytest.mark.parametrize("count", [1, 4])
def test_one_or_four_images_are_refused(pleiades, tmp_path, count):
    images = [pleiades / "img_01.tif"] * count if count == 1 else [tmp_path / f"{i}.tif" for i in range(4)]
    with pytest.raises(InputError, match=f"needs 2 or 3 images of the same area; {count} w"):
        check_stereo_images(images)


def test_the_same_image_twice_is_refused(pleiades):
    with pytest.raises(InputError, match="same image was given twice"):
        check_stereo_images([pleiades / "img_01.tif", pleiades / "img_01.tif"])


def test_an_image_without_rpc_is_refused_with_what_to_do(pleiades, tmp_path):
    plain = _plain_geotiff(tmp_path / "ortho.tif")
    with pytest.raises(InputError, match=r"ortho\.tif carries no RPC camera model.*NITF with RPC00B.*_RPC\.TXT"):
        check_stereo_images([pleiades / "img_01.tif", plain])


def test_a_file_that_is_not_an_image_is_refused(pleiades, tmp_path):
    text = tmp_path / "notes.tif"
    text.write_text("these are not pixels")
    with pytest.raises(InputError, match=r"'notes\.tif' is a text file, not one of the formats .*GeoTIFF or NITF"):
        check_stereo_images([text, pleiades / "img_02.tif"])


def test_a_truncated_image_is_refused(pleiades, tmp_path):
    broken = tmp_path / "broken.tif"
    broken.write_bytes((pleiades / "img_01.tif").read_bytes()[:5000])
    with pytest.raises(InputError, match=r"broken\.tif cannot be read"):
        check_stereo_images([broken, pleiades / "img_02.tif"])


def test_a_missing_file_is_refused(pleiades, tmp_path):
    with pytest.raises(InputError, match=r"'absent\.tif' does not exist"):
        check_stereo_images([pleiades / "img_01.tif", tmp_path / "absent.tif"])


@pytest.mark.parametrize("damage", ["zero numerators", "offsets off the planet"])
def test_damaged_rpcs_are_refused_with_what_to_do(pleiades, tmp_path, damage):
    view = crop_view(pleiades / "img_02.tif", tmp_path / "view.tif", 55.65, -21.232, 2330.0, 128)
    with rasterio.open(view, "r+") as dst:
        rpcs = dst.rpcs.to_dict()
        if damage == "zero numerators":  # GDAL: "Cannot invert geotransform", which used to end the check
            rpcs["line_num_coeff"] = rpcs["samp_num_coeff"] = [0.0] * 20
        else:
            rpcs["long_off"], rpcs["lat_off"] = 1e6, -1e6
        dst.rpcs = type(dst.rpcs)(**rpcs)
    with pytest.raises(InputError, match=r"The RPC camera model of view\.tif is damaged: GDAL cannot use it .*as the "):
        check_stereo_images([pleiades / "img_01.tif", view])


def test_a_tiny_view_is_refused(pleiades, tmp_path):
    tiny = crop_view(pleiades / "img_02.tif", tmp_path / "tiny.tif", 55.65, -21.232, 2330.0, 32)
    with pytest.raises(InputError, match="32 x 32 pixels; a stereo view needs at least 64"):
        check_stereo_images([pleiades / "img_01.tif", tiny])


def test_views_of_different_places_are_refused(shared_data):
    # The two WorldView-3 crops carry RPCs whose footprints lie about 1.2 km apart: no common ground.
    folder = shared_data / "stereo" / "wv3_buenos_aires"
    with pytest.raises(OverlapError, match="do not see the same ground"):
        check_stereo_images([folder / "wv3_20.NTF", folder / "wv3_30.NTF"])
