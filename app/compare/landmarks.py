"""Landmark pairs and the registration region of the compare controller.

:class:`CompareLandmarks` is mixed into :class:`~.controller.CompareController`: a landmark
is clicked in the baseline view, then the same anatomy in the follow-up view (kept in the
follow-up's own frame, so it survives a new transform); three or more pairs place the
follow-up by their least-squares fit (:func:`~cbctviewer.core.registration.landmark_transform`)
or start an automatic registration. The region is a box (baseline mm) that restricts the
automatic registration.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import SignalInstance

from cbctviewer.core.registration import (
    RegistrationResult,
    RigidTransform,
    landmark_residuals,
    landmark_transform,
)

__all__ = ["CompareLandmarks"]


class CompareLandmarks:
    """Landmarks, the pending landmark and the region (see the module docstring)."""

    landmarks: list[tuple[np.ndarray, np.ndarray]]
    pending_landmark: np.ndarray | None
    region: tuple[np.ndarray, np.ndarray] | None
    transform: RigidTransform
    result: RegistrationResult | None
    quality: dict[str, Any]
    message: SignalInstance
    failed: SignalInstance
    landmarks_changed: SignalInstance

    def set_transform(self, transform: RigidTransform, *, registered: bool) -> None:
        raise NotImplementedError  # the controller resamples the follow-up

    def request_save(self) -> None:
        raise NotImplementedError  # the controller saves with the case

    def landmark_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(baseline points, follow-up points) of the complete pairs, shape (n, 3) each."""
        if not self.landmarks:
            return np.zeros((0, 3)), np.zeros((0, 3))
        return np.array([b for b, _ in self.landmarks]), np.array([f for _, f in self.landmarks])

    def add_baseline_landmark(self, point: Any) -> None:
        """A landmark clicked in the baseline view (starts a new pair)."""
        self.pending_landmark = np.asarray(point, dtype=float).reshape(3)
        self.message.emit("Now click the same point in the follow-up view")
        self.landmarks_changed.emit()

    def add_followup_landmark(self, point_shown: Any) -> None:
        """A landmark clicked in the follow-up view (baseline-frame point of the shown image)."""
        if self.pending_landmark is None:
            self.message.emit("Click the landmark in the baseline view first")
            return
        follow = self.transform.apply(np.asarray(point_shown, dtype=float).reshape(3))
        self.landmarks.append((self.pending_landmark, follow))
        self.pending_landmark = None
        n = len(self.landmarks)
        self.message.emit(
            f"{n} landmark pair{'s' if n != 1 else ''}" + ("" if n >= 3 else " (at least 3 needed)")
        )
        self.landmarks_changed.emit()
        self.request_save()

    def remove_landmark(self, index: int) -> None:
        """Delete the ``index``-th pair (out of range: nothing happens)."""
        if 0 <= index < len(self.landmarks):
            del self.landmarks[index]
            self.landmarks_changed.emit()
            self.request_save()

    def clear_landmarks(self) -> None:
        """Delete every pair and the pending landmark."""
        self.landmarks, self.pending_landmark = [], None
        self.landmarks_changed.emit()
        self.request_save()

    def landmark_residuals(self) -> np.ndarray:
        """Distance (mm) of each pair under the current transform."""
        if not self.landmarks:
            return np.zeros(0)
        return landmark_residuals(self.transform, *self.landmark_arrays())

    def use_landmarks(self) -> bool:
        """Place the follow-up by the landmark fit (≥ 3 pairs); False with a message otherwise."""
        try:
            transform = landmark_transform(*self.landmark_arrays())
        except ValueError as exc:
            self.failed.emit("Landmarks", str(exc))
            return False
        residuals = landmark_residuals(transform, *self.landmark_arrays())
        self.result = None
        self.quality = {"method": "landmarks", "landmark_residual_mm": float(np.sqrt(np.mean(residuals**2)))}
        self.set_transform(transform, registered=True)
        self.request_save()
        return True

    def set_region(self, lower: Any, upper: Any) -> None:
        """Restrict automatic registration to a box (baseline mm)."""
        lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
        self.region = (np.minimum(lo, hi), np.maximum(lo, hi))
        self.landmarks_changed.emit()

    def clear_region(self) -> None:
        """Register the whole overlap again."""
        self.region = None
        self.landmarks_changed.emit()
