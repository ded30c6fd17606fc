"""The semantic constraint: class-disagreeing matches are dropped, boundary matches weigh more."""

import numpy as np

from reconstruction.registration.matching import Matches
from reconstruction.registration.semantics import ClassMap, boundary_weights, class_agreement


def _maps():
    ref = np.full((60, 60), 2, np.uint8)  # ground
    ref[10:30, 10:30] = 6  # a building
    ref[40:55, 35:55] = 5  # trees
    mov = ref.copy()
    mov[40:55, 5:25] = 0  # unknown in the moving map
    return ClassMap(ref, "test"), ClassMap(mov, "test")


def test_matches_whose_classes_disagree_are_dropped():
    ref, mov = _maps()
    matches = Matches(
        reference_px=np.array([[20.0, 20.0], [45.0, 47.0], [20.0, 20.0], [45.0, 47.0], [5.0, 5.0], [10.0, 45.0]]),
        moving_px=np.array([[21.0, 19.0], [44.0, 48.0], [45.0, 47.0], [20.0, 20.0], [50.0, 5.0], [15.0, 45.0]]),
        n_keypoints=(6, 6),
    )
    # roof-roof, tree-tree, roof-tree (drop), tree-roof (drop), ground-ground, ground-unknown (keep)
    keep = class_agreement(ref, mov, matches, radius_cells=1)
    assert keep.tolist() == [True, True, False, False, True, True]


def test_a_match_on_a_roof_edge_agrees_with_ground_or_roof_nearby():
    ref, mov = _maps()
    edge = Matches(np.array([[9.0, 20.0]]), np.array([[10.0, 20.0]]), (1, 1))  # ground beside roof / roof
    assert class_agreement(ref, mov, edge, radius_cells=2).tolist() == [True]


def test_matches_near_building_outlines_weigh_more():
    ref, mov = _maps()
    matches = Matches(np.array([[10.0, 20.0], [20.0, 20.0], [45.0, 47.0]]), np.array([[10.0, 20.0]] * 3), (3, 3))
    mov = ClassMap(np.full((60, 60), 2, np.uint8), "flat")
    weights = boundary_weights(ref, mov, matches, radius_cells=2, weight=3.0)
    assert weights.tolist() == [3.0, 1.0, 1.0]  # roof edge, roof centre, tree crown
