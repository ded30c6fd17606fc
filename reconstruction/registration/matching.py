"""Keypoints and descriptor matches between two representations (SIFT by default; ORB or AKAZE)."""

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from reconstruction.errors import ConfigError
from reconstruction.registration.represent import Representation

Detector = Literal["sift", "orb", "akaze"]


@dataclass(frozen=True)
class Matches:
    """Putative correspondences, in pixel coordinates (column, row) of each source's matching grid.

    Attributes:
        reference_px: ``(N, 2)`` float64.
        moving_px: ``(N, 2)`` float64.
        n_keypoints: keypoints found in (reference, moving).
    """

    reference_px: npt.NDArray[np.float64]
    moving_px: npt.NDArray[np.float64]
    n_keypoints: tuple[int, int]

    def __len__(self) -> int:
        """Number of matches."""
        return len(self.reference_px)

    def subset(self, keep: npt.NDArray[np.bool_]) -> "Matches":
        """The matches where ``keep`` is true."""
        return Matches(self.reference_px[keep], self.moving_px[keep], self.n_keypoints)


def match_keypoints(
    reference: Representation, moving: Representation, detector: Detector, max_features: int, ratio: float
) -> Matches:
    """Detect keypoints in both, match descriptors, keep matches passing Lowe's ratio test.

    Each moving keypoint takes its nearest reference descriptor when that one is clearly better than the
    second nearest (distance below ``ratio`` times it); a reference keypoint claimed twice is dropped.

    Raises:
        ConfigError: the detector is not available in this OpenCV build.
    """
    engine, norm = _detector(detector, max_features)
    kp_ref, desc_ref = engine.detectAndCompute(reference.image, reference.mask)
    kp_mov, desc_mov = engine.detectAndCompute(moving.image, moving.mask)
    counts = (len(kp_ref), len(kp_mov))
    empty = np.zeros((0, 2), dtype=np.float64)
    if desc_ref is None or desc_mov is None or len(kp_ref) < 2 or len(kp_mov) < 2:
        return Matches(empty, empty, counts)
    pairs = cv2.BFMatcher(norm).knnMatch(desc_mov, desc_ref, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < ratio * p[1].distance]
    claimed = np.bincount([m.trainIdx for m in good], minlength=len(kp_ref))
    good = [m for m in good if claimed[m.trainIdx] == 1]
    if not good:
        return Matches(empty, empty, counts)
    ref_px = np.array([kp_ref[m.trainIdx].pt for m in good], dtype=np.float64)
    mov_px = np.array([kp_mov[m.queryIdx].pt for m in good], dtype=np.float64)
    return Matches(ref_px, mov_px, counts)


def _detector(name: Detector, max_features: int) -> tuple[cv2.Feature2D, int]:
    factories = {"sift": ("SIFT_create", cv2.NORM_L2), "orb": ("ORB_create", cv2.NORM_HAMMING)}
    if name in factories:  # looked up by name: OpenCV's type stubs do not list them
        factory, norm = factories[name]
        return getattr(cv2, factory)(nfeatures=max_features), norm
    if name == "akaze" and hasattr(cv2, "AKAZE_create"):
        return cv2.AKAZE_create(), cv2.NORM_HAMMING
    raise ConfigError(
        f"The {name!r} detector is not available in this OpenCV build ({cv2.__version__}); use 'sift' or 'orb'."
    )
