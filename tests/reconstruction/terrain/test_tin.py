import numpy as np
import pydelatin
import pytest
import rasterio
from affine import Affine
from pyproj import CRS
from scipy.interpolate import LinearNDInterpolator
from scipy.spatial import Delaunay

from reconstruction.errors import ConfigError, ProcessingError
from reconstruction.io.grid import Grid
from reconstruction.terrain import Tin, TinConfig, build_tin

LAMBERT93 = CRS.from_epsg(2154)


def _grid(shape):
    return Grid(LAMBERT93, Affine(0.5, 0, 770000, 0, -0.5, 6277100), shape[1], shape[0])


def _check_against_dtm(tin: Tin, dtm, grid: Grid):
    """Interpolate the TIN at every cell centre with scipy, one triangle at a time.

    Returns (largest |TIN - DTM| over valid cells, mask of cells some triangle covers, valid cells per
    triangle). Not one LinearNDInterpolator over all vertices: it re-triangulates them, and on a lattice
    many four-cell squares are cocircular, where Qhull may take the other diagonal, a different surface
    (on Montpellier that reads 0.19 m for a TIN built and checked here to 0.1 m).
    """
    res, left, top = grid.resolution, grid.transform.c, grid.transform.f
    local = tin.vertices[:, :2] - (left, top)  # small coordinates for Qhull
    cols = np.rint(local[:, 0] / res - 0.5).astype(int)
    rows = np.rint(-local[:, 1] / res - 0.5).astype(int)
    worst, covered = 0.0, np.zeros(dtm.shape, dtype=bool)
    valid_per_triangle = np.zeros(len(tin), dtype=int)
    for i, tri in enumerate(tin.triangles):
        rr, cc = np.mgrid[rows[tri].min() : rows[tri].max() + 1, cols[tri].min() : cols[tri].max() + 1]
        z = LinearNDInterpolator(Delaunay(local[tri]), tin.vertices[tri, 2])((cc + 0.5) * res, -(rr + 0.5) * res)
        inside = np.isfinite(z)
        covered[rr[inside], cc[inside]] = True
        checked = inside & np.isfinite(dtm[rr, cc])
        valid_per_triangle[i] = checked.sum()
        worst = max(worst, float(np.abs(z[checked] - dtm[rr, cc][checked]).max(initial=0.0)))
    return worst, covered, valid_per_triangle


def _assert_counter_clockwise(tin: Tin):
    p = tin.vertices[tin.triangles, :2]
    cross = (p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1]) - (p[:, 1, 1] - p[:, 0, 1]) * (
        p[:, 2, 0] - p[:, 0, 0]
    )
    assert (cross > 0).all()


def _assert_vertices_on_cells(tin: Tin, dtm, grid: Grid):
    col = (tin.vertices[:, 0] - grid.transform.c) / grid.resolution - 0.5
    row = (grid.transform.f - tin.vertices[:, 1]) / grid.resolution - 0.5
    assert np.array_equal(col, np.rint(col)) and np.array_equal(row, np.rint(row))
    col, row = col.astype(int), row.astype(int)
    known = np.isfinite(dtm[row, col])
    assert np.array_equal(tin.vertices[known, 2], dtm[row[known], col[known]].astype(np.float64))
    assert np.isfinite(tin.vertices[:, 2]).all()
    assert len(np.unique(row * dtm.shape[1] + col)) == len(col)


def test_a_plane_needs_a_handful_of_triangles():
    yy, xx = np.mgrid[0:50, 0:80]
    plane = (120 + 0.1 * xx - 0.05 * yy).astype(np.float32)
    grid = _grid(plane.shape)
    tin, report = build_tin(plane, grid, TinConfig(max_error_m=0.01))
    assert 2 <= len(tin) <= 8
    assert report.max_error_m < 1e-4
    worst, covered, _ = _check_against_dtm(tin, plane, grid)
    assert worst < 1e-4 and covered.all()
    _assert_counter_clockwise(tin)


def test_small_scene_stays_within_the_bound_at_every_cell(small_scene):
    dtm = small_scene.dtm
    grid = Grid(CRS.from_user_input(small_scene.crs), small_scene.dsm_transform, dtm.shape[1], dtm.shape[0])
    cfg = TinConfig(max_error_m=0.1)
    tin, report = build_tin(dtm, grid, cfg)
    worst, covered, _ = _check_against_dtm(tin, dtm, grid)
    assert covered.all()
    assert worst <= cfg.max_error_m
    assert report.max_error_m == pytest.approx(worst, abs=1e-9)
    full_grid = 2 * (dtm.shape[0] - 1) * (dtm.shape[1] - 1)
    assert len(tin) < 0.01 * full_grid  # measured 27 of 114,242
    assert (report.cells, report.vertices, report.triangles) == (dtm.size, len(tin.vertices), len(tin))
    assert 0 < report.rmse_m <= report.max_error_m and not report.capped
    assert tin.vertices.dtype == np.float64 and tin.triangles.dtype == np.int32
    _assert_counter_clockwise(tin)
    _assert_vertices_on_cells(tin, dtm, grid)


def test_rough_surface_stays_within_the_bound(small_scene):
    dsm = small_scene.dsm[110:150, 70:130]  # a DSM: buildings, vertical walls of several metres
    grid = _grid(dsm.shape)
    tin, _ = build_tin(dsm, grid, TinConfig(max_error_m=0.5))
    worst, covered, _ = _check_against_dtm(tin, dsm, grid)
    assert covered.all() and worst <= 0.5
    assert len(tin) < 0.2 * 2 * 39 * 59  # measured 550 of 4,602
    _assert_counter_clockwise(tin)
    _assert_vertices_on_cells(tin, dsm, grid)


def test_smaller_error_gives_more_triangles(small_scene):
    grid = _grid(small_scene.dtm.shape)
    counts = [len(build_tin(small_scene.dtm, grid, TinConfig(max_error_m=e))[0]) for e in (0.5, 0.25, 0.1, 0.05)]
    assert counts == sorted(counts) and len(set(counts)) == 4  # measured [8, 10, 27, 68]


def test_montpellier_dtm(montpellier):
    with rasterio.open(montpellier / "dtm_50cm.tif") as src:
        dtm = src.read(1).astype(np.float32)
        grid = Grid(src.crs, src.transform, src.width, src.height)
    dtm[dtm == -9999] = np.nan
    counts = []
    for bound in (0.1, 0.25, 0.5):
        tin, report = build_tin(dtm, grid, TinConfig(max_error_m=bound))
        worst, covered, _ = _check_against_dtm(tin, dtm, grid)
        assert covered[np.isfinite(dtm)].all() and worst <= bound
        assert report.max_error_m == pytest.approx(worst, abs=1e-9)
        _assert_counter_clockwise(tin)
        _assert_vertices_on_cells(tin, dtm, grid)
        counts.append(len(tin))
    # 100 x 100 cells (5 NaN); measured 1016, 141 and 4 triangles (of 19,602 for the full grid).
    assert counts[0] > counts[1] > counts[2]


def test_nan_cells_are_holes_the_tin_need_not_fit():
    yy, xx = np.mgrid[0:60, 0:90]
    dtm = (50 + 0.02 * xx + 2 * np.sin(xx / 9) * np.cos(yy / 7)).astype(np.float32)
    dtm[20:35, 30:50] = np.nan  # a hole inside
    dtm[:, 70:] = np.nan  # and a missing strip along the border
    grid = _grid(dtm.shape)
    tin, report = build_tin(dtm, grid, TinConfig(max_error_m=0.1))
    worst, covered, valid_per_triangle = _check_against_dtm(tin, dtm, grid)
    assert covered[np.isfinite(dtm)].all() and worst <= 0.1
    assert report.cells == np.isfinite(dtm).sum()
    assert (valid_per_triangle > 0).all()  # no triangle lies wholly in the missing strip
    assert not covered[:, -5:].any()  # the far side of the 20-cell strip is left out
    _assert_counter_clockwise(tin)
    _assert_vertices_on_cells(tin, dtm, grid)


def test_all_nan_dtm_is_refused():
    dtm = np.full((10, 10), np.nan, dtype=np.float32)
    with pytest.raises(ProcessingError, match="NaN"):
        build_tin(dtm, _grid(dtm.shape), TinConfig())


def test_dtm_must_match_its_grid():
    with pytest.raises(ProcessingError, match="grid"):
        build_tin(np.zeros((10, 10), np.float32), _grid((10, 12)), TinConfig())


@pytest.mark.parametrize(
    "kwargs", [{"max_error_m": 0}, {"max_error_m": -0.1}, {"max_error_m": np.nan}, {"max_points": 3}]
)
def test_config_is_checked(kwargs):
    with pytest.raises(ConfigError):
        TinConfig(**kwargs)


def test_vertex_cap_is_reported(small_scene):
    dsm = small_scene.dsm[110:150, 70:130]
    tin, report = build_tin(dsm, _grid(dsm.shape), TinConfig(max_error_m=0.01, max_points=50))
    assert report.capped and report.vertices == 50 and report.max_error_m > 0.01
    assert report.to_dict() == {
        "cells": dsm.size,
        "vertices": 50,
        "triangles": len(tin),
        "max_error_m": report.max_error_m,
        "rmse_m": report.rmse_m,
        "capped": True,
    }


def test_a_triangulator_overshoot_is_caught_and_refined(small_scene, monkeypatch):
    real, calls = pydelatin.Delatin, []

    def sloppy(heights, *, max_error, max_points):
        calls.append(max_error)
        return real(heights, max_error=max_error * (1.5 if len(calls) == 1 else 1), max_points=max_points)

    monkeypatch.setattr(pydelatin, "Delatin", sloppy)
    _, report = build_tin(small_scene.dtm, _grid(small_scene.dtm.shape), TinConfig(max_error_m=0.1))
    assert len(calls) == 2 and calls[1] < 0.1
    assert report.max_error_m <= 0.1
