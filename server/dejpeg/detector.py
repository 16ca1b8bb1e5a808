"""Detector service: an image's JPEG history (never / once / twice) from its pixels."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from . import features, quality
from .archs import CLASSES
from .errors import UnusableImage


def aggregate(block_probs: np.ndarray) -> np.ndarray:
    """Image probabilities from block probabilities (N, 3).

    The mean of the block probabilities, so confident blocks (textured areas, which carry
    the quantisation evidence) and unsure ones (flat sky) each count for what they say; the
    seed's mode of block argmaxes throws that away.  `ai-research/eval_detector.py` compares
    the two on validation images.
    """
    return block_probs.mean(axis=0)


EVIDENCE_FLOOR = 1e-3


def calibration_features(image_p: np.ndarray, evidence: float) -> np.ndarray:
    """What the compressed-vs-not calibration looks at: the logit of the CNN's mean
    probability of 'uncompressed', the log of the grid evidence, and 1 (the bias)."""
    p = float(np.clip(image_p[0], 1e-6, 1 - 1e-6))
    return np.array([np.log(p / (1 - p)), np.log(evidence + EVIDENCE_FLOOR), 1.0])


def calibrate(image_p: np.ndarray, evidence: float, weights) -> np.ndarray:
    """Image probabilities with P(uncompressed) from a logistic regression on
    `calibration_features` (fitted on training pictures by ai-research/calibrate_detector.py);
    the rest is shared between single and double as the CNN shares it."""
    z = float(np.dot(weights, calibration_features(image_p, evidence)))
    p_u = 1.0 / (1.0 + np.exp(-z))
    rest = image_p[1:] / max(float(image_p[1:].sum()), 1e-12)
    return np.concatenate([[p_u], (1.0 - p_u) * rest])


def _probs(p) -> dict[str, float]:
    return {c: round(float(v), 4) for c, v in zip(CLASSES, p)}


class Detector:
    """C_Tiny on DCT histograms of up to 21 grid-aligned 256x256 luma blocks."""

    def __init__(self, model, name: str = "c-tiny", calibration=None):
        self.model = model
        self.name = name
        # weights of `calibrate` (3 numbers), or None: the CNN's mean probabilities as they are
        self.calibration = None if calibration is None else np.asarray(calibration, np.float64)
        if self.calibration is not None and self.calibration.shape != (3,):
            raise ValueError(f"calibration weights must be 3 numbers, got shape {self.calibration.shape}")
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | Path, name: str = "c-tiny", calibration=None) -> "Detector":
        import keras
        return cls(keras.saving.load_model(path, compile=False), name, calibration)

    def predict_blocks(self, feats: np.ndarray) -> np.ndarray:
        with self._lock:
            if hasattr(self.model, "predict_on_batch"):   # Keras: its compiled predict
                return np.asarray(self.model.predict_on_batch(feats), dtype=np.float64)
            return np.asarray(self.model(feats, training=False), dtype=np.float64)

    def blocks_and_evidence(self, rgb: np.ndarray):
        """The uncalibrated part of `detect`: (block probabilities (N, 3), blocks, grid offset,
        grid evidence).  ai-research/calibrate_detector.py fits the calibration on it."""
        h, w = rgb.shape[:2]
        if h < 8 or w < 8:
            raise UnusableImage(f"image is {w}x{h}; the detector needs at least 8x8 pixels")
        offset, evidence = features.grid_search(rgb)
        feats, blocks, offset = features.image_features(rgb, offset)
        return self.predict_blocks(feats), blocks, offset, evidence

    def detect(self, rgb: np.ndarray, jpeg_quality: int | None = None) -> dict:
        """Verdict, probabilities, per-block results, grid offset and quality estimate.

        Image probabilities: the mean of the block probabilities (`aggregate`), then, when
        the detector has a calibration, P(uncompressed) from the CNN and the grid evidence
        together (`calibrate`).

        `jpeg_quality` is the quality read from the file's own quantisation tables, when the
        upload was a JPEG; otherwise it is estimated from the pixels (when compression is
        detected).
        """
        probs, blocks, offset, evidence = self.blocks_and_evidence(rgb)
        image_p = aggregate(probs)
        if self.calibration is not None:
            image_p = calibrate(image_p, evidence, self.calibration)
        verdict = CLASSES[int(np.argmax(image_p))]
        if jpeg_quality is not None:
            q = {"estimate": int(jpeg_quality), "source": "quantization-table"}
        elif verdict != "uncompressed":
            est = quality.quality_from_pixels(rgb, offset)
            q = None if est is None else {"estimate": est, "source": "pixels"}
        else:
            q = None
        return {
            "verdict": verdict,
            "probabilities": _probs(image_p),
            "blocks": [{"x": b.x, "y": b.y, "size": features.BLOCK, "width": b.width,
                        "height": b.height, "tiled": b.tiled,
                        "verdict": CLASSES[int(np.argmax(p))], "probabilities": _probs(p)}
                       for b, p in zip(blocks, probs)],
            "grid": {"dx": offset[0], "dy": offset[1], "evidence": round(evidence, 4)},
            "quality": q,
            "model": self.name,
        }

