"""Restorer service: a generator run over a whole image in overlapping, blended tiles.

Tiling keeps memory bounded for any image size and lets the network see the 8x8 JPEG grid
where it saw it in training: tiles start on the grid of the image (or of the grid offset
the detector found, for cropped images).  Overlaps are blended with linear ramps, so no
seam shows; the output has exactly the input's size.

Strength: the output is input + strength x (network output - input).  A generator trained
at QF 10 over-smooths lighter compression (PSNR drops at QF 30 and above); each shipped
restorer has a table of the strength that scored best at each quality on training pictures
(`ai-research/calibrate_strength.py`, stored in models/catalog.json), and `strength_for`
interpolates it at the quality the detector or the file's tables give.
"""
from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np

MARGIN = 16   # reflected context around the image, a multiple of 8


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Starts of tiles of side `tile` covering 0..size with at least `overlap`, multiples of 8."""
    if size <= tile:
        return [0]
    n = math.ceil((size - overlap) / (tile - overlap))
    last = size - tile
    starts = [min(last, int(round(last * i / (n - 1) / 8)) * 8) for i in range(n)]
    starts[-1] = last
    return starts


def tile_size(size: int, max_tile: int, overlap: int, multiple: int) -> int:
    """Smallest tile (a multiple of `multiple`) that covers `size` with as few tiles as `max_tile`."""
    if size <= max_tile:
        return -(-size // multiple) * multiple
    n = math.ceil((size - overlap) / (max_tile - overlap))
    side = math.ceil((size - overlap) / n) + overlap
    return min(max_tile, -(-side // multiple) * multiple)


def ramp(side: int, overlap: int) -> np.ndarray:
    """1-D blending weights: linear from ~0 to 1 over `overlap` at both ends, 1 inside."""
    i = np.arange(side, dtype=np.float32) + 0.5
    return np.clip(np.minimum(i, side - i) / max(overlap, 1), 1e-3, 1.0)


class Restorer:
    """Apply a restorer network (RGB in [-1, 1]) to uint8 RGB images of any size."""

    def __init__(self, model, name: str, tile: int = 1024, overlap: int = 32, multiple: int = 8,
                 batch: int = 4, batch_pixels: int = 1 << 20,
                 strength: dict[int, float] | None = None):
        self.model = model
        self.name = name
        self.tile = tile
        self.overlap = overlap
        self.multiple = multiple
        self.batch = batch                  # at most this many tiles a call ...
        self.batch_pixels = batch_pixels    # ... and at most this many pixels (memory)
        self.strength = {int(q): float(v) for q, v in (strength or {}).items()}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | Path, name: str, **kw) -> "Restorer":
        import keras
        from .archs import multiple
        model = keras.saving.load_model(path, compile=False)
        return cls(model, name, multiple=max(8, multiple(model)), **kw)

    def strength_for(self, quality: int | None) -> float:
        """Calibrated strength at a JPEG quality (linear between table entries, the end
        values beyond them); 1.0 when the quality is unknown or there is no table."""
        if quality is None or not self.strength:
            return 1.0
        qs = sorted(self.strength)
        return float(np.interp(quality, qs, [self.strength[q] for q in qs]))

    def _run(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            # a Keras model runs its compiled predict (a graph), faster than an eager call
            if hasattr(self.model, "predict_on_batch"):
                return np.asarray(self.model.predict_on_batch(batch), dtype=np.float32)
            return np.asarray(self.model(batch, training=False), dtype=np.float32)

    def restore(self, rgb: np.ndarray, grid: tuple[int, int] = (0, 0),
                strength: float = 1.0) -> np.ndarray:
        """Restore an (H, W, 3) uint8 image; `grid` is the JPEG grid offset (dx, dy);
        `strength` in [0, 1] mixes the network's output with the input (1: all of it)."""
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength must be in [0, 1], got {strength}")
        h, w = rgb.shape[:2]
        dx, dy = grid
        # pad so that the JPEG grid falls on multiples of 8 of the padded image, with a
        # reflected margin of context; reflect needs the image to be larger than the pad
        top, left = MARGIN + (8 - dy) % 8, MARGIN + (8 - dx) % 8
        # the padded sides are multiples of 8 too: the last tile ends on the last pixel, so
        # only then does it also start on the grid
        bottom = MARGIN + (-(top + h + MARGIN)) % 8
        right = MARGIN + (-(left + w + MARGIN)) % 8
        x = rgb.astype(np.float32) / 127.5 - 1.0
        x = _pad(x, top, left, bottom, right)
        ph, pw = x.shape[:2]
        th = tile_size(ph, self.tile, self.overlap, self.multiple)
        tw = tile_size(pw, self.tile, self.overlap, self.multiple)
        x = _pad(x, 0, 0, max(0, th - ph), max(0, tw - pw))
        ys = tile_starts(x.shape[0], th, self.overlap)
        xs = tile_starts(x.shape[1], tw, self.overlap)
        weight = np.outer(ramp(th, self.overlap), ramp(tw, self.overlap))[..., None]
        acc = np.zeros(x.shape, np.float32)
        norm = np.zeros(x.shape[:2] + (1,), np.float32)
        starts = [(y0, x0) for y0 in ys for x0 in xs]
        per_call = max(1, min(self.batch, self.batch_pixels // (th * tw)))
        for i in range(0, len(starts), per_call):
            chunk = starts[i:i + per_call]
            out = self._run(np.stack([x[y0:y0 + th, x0:x0 + tw] for y0, x0 in chunk]))
            for (y0, x0), o in zip(chunk, out):
                acc[y0:y0 + th, x0:x0 + tw] += o * weight
                norm[y0:y0 + th, x0:x0 + tw] += weight
        acc /= norm
        del norm
        # in place from here on: a 24-megapixel image is ~290 MB per float plane of 3 channels
        out = acc[top:top + h, left:left + w]
        if strength != 1.0:
            src = x[top:top + h, left:left + w]
            out -= src
            out *= strength
            out += src
        del x
        out += 1.0
        out *= 127.5
        np.rint(out, out=out)
        np.clip(out, 0, 255, out=out)
        return out.astype(np.uint8)


def _pad(x: np.ndarray, top: int, left: int, bottom: int, right: int) -> np.ndarray:
    """Symmetric padding that also works when a pad exceeds the image side."""
    while top or left or bottom or right:
        h, w = x.shape[:2]
        t, l, b, r = min(top, h), min(left, w), min(bottom, h), min(right, w)
        x = np.pad(x, ((t, b), (l, r), (0, 0)), mode="symmetric")
        top, left, bottom, right = top - t, left - l, bottom - b, right - r
    return x
