from dataclasses import replace

import numpy as np
import pytest

from reconstruction.errors import ConfigError, InputError
from reconstruction.fusion import Camera, FusionConfig, View, fuse_labels
from tests.reconstruction.fusion.scene import ORIGIN, TREE, corrupt


def test_fusion_restores_a_corrupted_cloud(scene):
    noisy, wrong = corrupt(scene.cloud, 0.2, seed=1)
    result = fuse_labels(noisy, scene.views)
    seen = result.vote.views > 0
    correct = result.cloud.classification == scene.cloud.classification
    report = result.report
    assert seen.mean() > 0.95  # five views see nearly every point
    assert correct[seen].mean() >= 0.95
    assert correct[seen & wrong].mean() >= 0.95  # corrupted points come back
    assert correct[seen & ~wrong].mean() >= 0.99  # correct points stay
    assert report.points == len(noisy) and report.seen == int(seen.sum())
    assert report.changed == int(np.count_nonzero(result.cloud.classification != noisy.classification))
    assert report.agreement == pytest.approx(0.8, abs=0.02)  # 20 % were corrupted
    assert [v.name for v in report.views] == [v.name for v in scene.views]
    assert np.all(result.vote.confidence[seen] > 0) and np.all(result.vote.confidence[~seen] == 0)


def test_confident_views_outvote_unsure_ones(scene):
    honest, liar = scene.views[0], scene.views[4]
    lie = np.where(liar.labels > 0, TREE, 0).astype(np.uint8)
    unsure = np.full(lie.shape, 0.02, np.float32)
    views = [honest, replace(liar, labels=lie, confidence=unsure)]
    result = fuse_labels(scene.cloud, views)
    both = result.vote.views == 2
    assert both.sum() > 1000
    assert np.mean(result.vote.winner[both] == scene.cloud.classification[both]) > 0.99
    lying_loudly = fuse_labels(scene.cloud, [honest, replace(liar, labels=lie, confidence=None)])
    assert np.mean(lying_loudly.vote.winner[both] == TREE) > 0.3


def test_no_clear_majority_or_too_few_views_changes_nothing(scene):
    noisy, _ = corrupt(scene.cloud, 0.2, seed=2)
    result = fuse_labels(noisy, scene.views, FusionConfig(min_views=len(scene.views) + 1))
    assert result.report.changed == 0
    assert np.array_equal(result.cloud.classification, noisy.classification)


def _view(scene, **change) -> View:
    return replace(scene.views[0], **change)


def test_a_label_image_of_the_wrong_size_is_refused(scene):
    with pytest.raises(InputError, match=r"is 100 x 80 pixels but its camera is 480 x 360"):
        fuse_labels(scene.cloud, [_view(scene, labels=np.zeros((80, 100), np.uint8))])


def test_unknown_class_codes_are_refused(scene):
    labels = scene.views[0].labels.copy()
    labels[0, :3] = 42
    with pytest.raises(InputError, match=r"unknown class codes \[42\]"):
        fuse_labels(scene.cloud, [_view(scene, labels=labels)])
    accepted = fuse_labels(scene.cloud, [_view(scene, labels=labels)], FusionConfig(classes=(2, 5, 6, 11, 42)))
    assert accepted.report.seen > 0


def test_a_camera_behind_every_point_is_refused(scene):
    up = Camera.looking_at(ORIGIN + [0, 0, 100], ORIGIN + [0, 0, 200], 420.0, 480, 360)
    with pytest.raises(InputError, match="behind every point"):
        fuse_labels(scene.cloud, [_view(scene, camera=up)])


def test_views_that_see_no_point_are_refused(scene):
    away = Camera.looking_at(ORIGIN + [0, 0, 200], ORIGIN + [1000, 0, 200], 420.0, 480, 360)
    with pytest.raises(InputError, match="No point of the cloud is visible"):
        fuse_labels(scene.cloud, [_view(scene, camera=away)])
    result = fuse_labels(scene.cloud, [_view(scene, camera=away, name="lost"), scene.views[1]])
    assert result.report.warnings == ("View 'lost' sees none of the points: its camera looks elsewhere.",)


def test_bad_confidences_and_empty_inputs_are_refused(scene):
    with pytest.raises(InputError, match=r"values in \[0, 1\]"):
        fuse_labels(scene.cloud, [_view(scene, confidence=np.full((360, 480), 2.0, np.float32))])
    with pytest.raises(InputError, match="No views were given"):
        fuse_labels(scene.cloud, [])
    with pytest.raises(ConfigError, match="majority"):
        FusionConfig(majority=0.3)
