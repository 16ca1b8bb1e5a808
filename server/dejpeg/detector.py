"""Detector service: an image's JPEG history (never / once / twice) from its pixels."""
from __future__ import annotations

import threading
from dataclasses import dataclass
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
PROB_FLOOR = 1e-6
CALIBRATION_FEATURES = ("log mean block P(uncompressed)", "log mean block P(single)",
                        "log mean block P(double)", "log(grid evidence + 0.001)",
                        "quantiser-table fit", "1")


def calibration_features(image_p: np.ndarray, evidence: float, fit: float) -> np.ndarray:
    """What the image-level calibration looks at (CALIBRATION_FEATURES): the log of the CNN's
    mean block probabilities, the log of the grid evidence (`features.grid_search`), the
    quantiser-table fit (`quality.table_fit`) and 1 (the bias)."""
    p = np.log(np.clip(np.asarray(image_p, np.float64), PROB_FLOOR, 1.0))
    return np.concatenate([p, [np.log(evidence + EVIDENCE_FLOOR), fit, 1.0]])


def calibrate(image_p: np.ndarray, evidence: float, fit: float, weights) -> np.ndarray:
    """Image probabilities from a multinomial logistic regression (softmax of
    `calibration_features` @ weights, weights (6, 3)), fitted on training pictures by
    ai-research/calibrate_detector.py.  The CNN alone knows single from double only so well;
    the two pixel statistics tell compressed from not where it hesitates (light QF 95 JPEGs,
    flat renders)."""
    z = calibration_features(image_p, evidence, fit) @ np.asarray(weights, np.float64)
    z = np.exp(z - z.max())
    return z / z.sum()


def file_evidence(image_p: np.ndarray) -> np.ndarray:
    """Image probabilities given that the upload is a JPEG file (so compressed at least
    once): P(uncompressed) is 0, single and double keep their ratio.  When the pixels are
    certain of neither (both under 1e-9), single: one compression is what the file shows."""
    p = np.asarray(image_p, np.float64).copy()
    p[CLASSES.index("uncompressed")] = 0.0
    if p.sum() < 1e-9:
        p[:] = 0.0
        p[CLASSES.index("single")] = 1.0
    return p / p.sum()


@dataclass
class Evidence:
    """What `Detector.blocks_and_evidence` measures of an image."""
    block_probs: np.ndarray          # (N, 3) CNN probabilities of the blocks
    blocks: list                     # their `features.Block`s
    offset: tuple[int, int]          # the 8x8 grid used (dx, dy)
    grid_evidence: float             # `features.grid_search`
    quality: int | None              # last JPEG quality estimated from the pixels on the grid
    table_fit: float                 # `quality.table_fit` at that quality


def _probs(p) -> dict[str, float]:
    return {c: round(float(v), 4) for c, v in zip(CLASSES, p)}


class Detector:
    """C_Tiny on DCT histograms of up to 21 grid-aligned 256x256 luma blocks."""

    def __init__(self, model, name: str = "c-tiny", calibration=None):
        self.model = model
        self.name = name
        # weights of `calibrate` (6 x 3), or None: the CNN's mean probabilities as they are
        self.calibration = None if calibration is None else np.asarray(calibration, np.float64)
        shape = (len(CALIBRATION_FEATURES), len(CLASSES))
        if self.calibration is not None and self.calibration.shape != shape:
            raise ValueError(f"calibration weights must be {shape[0]} x {shape[1]} numbers, "
                             f"got shape {self.calibration.shape}")
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

    def blocks_and_evidence(self, rgb: np.ndarray) -> Evidence:
        """The uncalibrated part of `detect`: block probabilities and the pixel statistics
        the calibration weighs.  ai-research/calibrate_detector.py fits the calibration on it."""
        h, w = rgb.shape[:2]
        if h < 8 or w < 8:
            raise UnusableImage(f"image is {w}x{h}; the detector needs at least 8x8 pixels")
        offset, evidence = features.grid_search(rgb)
        feats, blocks, offset = features.image_features(rgb, offset)
        ac = quality.grid_coefficients(rgb, offset)
        qf = None if ac is None else quality.quality_from_coefficients(ac)
        return Evidence(self.predict_blocks(feats), blocks, offset, evidence, qf,
                        quality.table_fit(ac, qf))

    def detect(self, rgb: np.ndarray, jpeg_quality: int | None = None) -> dict:
        """Verdict, probabilities, per-block results, grid offset and quality estimate.

        Image probabilities: the mean of the block probabilities (`aggregate`), then, when
        the detector has a calibration, a logistic regression on them, the grid evidence and
        the quantiser-table fit together (`calibrate`).  These are the pixels' own verdict,
        returned as `pixel_probabilities`.

        `jpeg_quality` is the quality read from the file's own quantisation tables, when the
        upload was a JPEG; otherwise it is estimated from the pixels (when compression is
        detected).  A JPEG file has been compressed at least once, whatever its pixels look
        like (a camera's QF 97 leaves little trace): then `probabilities` are the pixels'
        single and double ones renormalised (`file_evidence`) and the verdict is one of the two.
        """
        ev = self.blocks_and_evidence(rgb)
        pixel_p = aggregate(ev.block_probs)
        if self.calibration is not None:
            pixel_p = calibrate(pixel_p, ev.grid_evidence, ev.table_fit, self.calibration)
        image_p = file_evidence(pixel_p) if jpeg_quality is not None else pixel_p
        verdict = CLASSES[int(np.argmax(image_p))]
        if jpeg_quality is not None:
            q = {"estimate": int(jpeg_quality), "source": "quantization-table"}
        elif verdict != "uncompressed" and ev.quality is not None:
            q = {"estimate": ev.quality, "source": "pixels"}
        else:
            q = None
        blocks, offset = ev.blocks, ev.offset
        return {
            "verdict": verdict,
            "probabilities": _probs(image_p),
            "pixel_probabilities": _probs(pixel_p),
            "blocks": [{"x": b.x, "y": b.y, "size": features.BLOCK, "width": b.width,
                        "height": b.height, "tiled": b.tiled,
                        "verdict": CLASSES[int(np.argmax(p))], "probabilities": _probs(p)}
                       for b, p in zip(blocks, ev.block_probs)],
            "grid": {"dx": offset[0], "dy": offset[1], "evidence": round(ev.grid_evidence, 4)},
            "quality": q,
            "model": self.name,
        }

