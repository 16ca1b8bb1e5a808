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

`Restorer.load` runs the network through LiteRT once `lite` has folded it (the same
arithmetic, faster), or through Keras when that fails.

A generator with a noise input (`archs.unet(noise=...)`: `small-postgan`) gets each tile's
part of one endless noise map (`noise_tile`), so overlapping tiles see the same noise at a
pixel and the same image always gives the same output.
"""
from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np

MARGIN = 16   # reflected context around the image, a multiple of 8
# largest tile side: an image of 1024 px, with its margins and any grid offset, is one tile
TILE = 1024 + 2 * MARGIN + 16


def noise_tile(y0: int, x0: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """Rows y0 .. y0 + h, columns x0 .. x0 + w of an endless map of unit Gaussian noise,
    (h, w, 1) float32: each pixel's value comes from its coordinates alone (two splitmix64
    hashes, then Box-Muller), so any tile of the map agrees with any other where they meet."""
    y = np.arange(y0, y0 + h, dtype=np.uint64)[:, None]
    x = np.arange(x0, x0 + w, dtype=np.uint64)[None, :]
    key = (y << np.uint64(32)) | x

    def uniform(salt: int) -> np.ndarray:
        z = key * np.uint64(0x9E3779B97F4A7C15) + np.uint64((seed * 2 + salt) & (2**64 - 1))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
        return ((z >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53     # in (0, 1)

    r = np.sqrt(-2.0 * np.log(uniform(0)))
    return (r * np.cos(2 * np.pi * uniform(1))).astype(np.float32)[..., None]


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

    def __init__(self, model, name: str, tile: int = TILE, overlap: int = 32, multiple: int = 8,
                 batch: int = 4, batch_pixels: int = 1 << 20,
                 strength: dict[int, float] | None = None, runner=None):
        self.model = model
        self.noise = len(getattr(model, "inputs", None) or ()) == 2   # takes a noise map too
        self.runner = runner                # the same network, folded for LiteRT (`lite`)
        self.name = name
        self.tile = tile
        self.overlap = overlap
        self.multiple = multiple
        self.batch = batch                  # at most this many tiles a call ...
        self.batch_pixels = batch_pixels    # ... and at most this many pixels (memory)
        self.strength = {int(q): float(v) for q, v in (strength or {}).items()}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | Path, name: str, lite: bool = True,
             strength: dict[int, float] | None = None, **kw) -> "Restorer":
        """Load a saved restorer; with `lite`, run it folded for LiteRT when that works
        (the Keras model otherwise, with a warning); `kw` go to the constructor (tiling).
        `load_all` does many at once."""
        return cls.load_all({name: path}, lite=lite, strengths={name: strength}, **kw)[name]

    @classmethod
    def load_all(cls, paths: dict[str, str | Path], lite: bool = True,
                 strengths: dict[str, dict | None] | None = None, **kw) -> dict[str, "Restorer"]:
        """Restorers {name: path}, with their strength tables {name: table}, converted for
        LiteRT together (one child process); `kw` go to every constructor."""
        import keras
        from .archs import multiple
        models = {n: keras.saving.load_model(p, compile=False) for n, p in paths.items()}
        runners = {}
        if lite:
            from .lite import compile_restorers
            runners = compile_restorers(models)
        return {n: cls(m, n, multiple=max(8, multiple(m)), runner=runners.get(n),
                       strength=(strengths or {}).get(n), **kw)
                for n, m in models.items()}

    @staticmethod
    def damage_quality(quality: dict | None) -> int | None:
        """The quality whose damage the automatic strength answers, from /detect's
        `quality`: the last compression's (`estimate`), or a heavier first one's where the
        detector named it (`first_estimate`): its blocking stays under a lighter last pass,
        which the last quality alone would restore too weakly."""
        if not quality:
            return None
        first = quality.get("first_estimate")
        return quality["estimate"] if first is None else min(quality["estimate"], first)

    def strength_for(self, quality: int | None) -> float:
        """Calibrated strength at a JPEG quality (linear between table entries, the end
        values beyond them); 1.0 when the quality is unknown or there is no table."""
        if quality is None or not self.strength:
            return 1.0
        qs = sorted(self.strength)
        return float(np.interp(quality, qs, [self.strength[q] for q in qs]))

    def _run(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            if self.runner is not None:
                out = self.runner(batch)
            # a Keras model runs its compiled predict (a graph), faster than an eager call
            elif hasattr(self.model, "predict_on_batch"):
                out = self.model.predict_on_batch(batch)
            else:
                out = self.model(batch, training=False)
        return np.require(np.asarray(out), np.float32, ["W"])   # the caller works in place

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
        src = _pad(rgb, top, left, bottom, right)        # uint8: a quarter of float memory
        ph, pw = src.shape[:2]
        th = tile_size(ph, self.tile, self.overlap, self.multiple)
        tw = tile_size(pw, self.tile, self.overlap, self.multiple)
        src = _pad(src, 0, 0, max(0, th - ph), max(0, tw - pw))
        ys = tile_starts(src.shape[0], th, self.overlap)
        xs = tile_starts(src.shape[1], tw, self.overlap)
        ry, rx = ramp(th, self.overlap), ramp(tw, self.overlap)
        weight = np.outer(ry, rx)[..., None]
        # the weights of a grid of tiles are separable: their sum is an outer product too
        norm_y = np.zeros(src.shape[0], np.float32)
        norm_x = np.zeros(src.shape[1], np.float32)
        for y0 in ys:
            norm_y[y0:y0 + th] += ry
        for x0 in xs:
            norm_x[x0:x0 + tw] += rx
        inv_x = (1.0 / norm_x[left:left + w])[None, :, None]
        # LiteRT gains nothing from batching tiles and would plan its memory for each size
        per_call = 1 if self.runner is not None else max(
            1, min(self.batch, self.batch_pixels // (th * tw)))
        out = np.empty((h, w, 3), np.uint8)
        # one row of tiles at a time: `acc` holds padded rows y0 .. y0 + th; the rows above
        # the next row of tiles are then final and written out (memory: one strip of floats)
        acc = np.zeros((th, src.shape[1], 3), np.float32)
        for i, y0 in enumerate(ys):
            for j in range(0, len(xs), per_call):
                chunk = xs[j:j + per_call]
                batch = _unit(np.stack([src[y0:y0 + th, x0:x0 + tw] for x0 in chunk]))
                if self.noise:
                    batch = [batch, np.stack([noise_tile(y0, x0, th, tw) for x0 in chunk])]
                res = self._run(batch)
                res *= weight
                for x0, o in zip(chunk, res):
                    acc[:, x0:x0 + tw] += o
            done = ys[i + 1] - y0 if i + 1 < len(ys) else th
            a, b = max(y0, top), min(y0 + done, top + h)       # image rows, padded coordinates
            if a < b:
                rows = acc[a - y0:b - y0, left:left + w] * (1.0 / norm_y[a:b])[:, None, None]
                rows *= inv_x
                if strength != 1.0:
                    orig = _unit(src[a:b, left:left + w])
                    rows -= orig
                    rows *= strength
                    rows += orig
                out[a - top:b - top] = _to_uint8(rows)
            acc[:th - done] = acc[done:]
            acc[th - done:] = 0.0
        return out


def _unit(x: np.ndarray) -> np.ndarray:
    """uint8 -> float32 in [-1, 1]."""
    x = x.astype(np.float32)
    x *= 1 / 127.5
    x -= 1.0
    return x


def _to_uint8(x: np.ndarray) -> np.ndarray:
    """float32 in [-1, 1] -> uint8, rounded (in place on x)."""
    x += 1.0
    x *= 127.5
    np.rint(x, out=x)
    np.clip(x, 0, 255, out=x)
    return x.astype(np.uint8)


def _pad(x: np.ndarray, top: int, left: int, bottom: int, right: int) -> np.ndarray:
    """Symmetric padding that also works when a pad exceeds the image side."""
    while top or left or bottom or right:
        h, w = x.shape[:2]
        t, l, b, r = min(top, h), min(left, w), min(bottom, h), min(right, w)
        x = np.pad(x, ((t, b), (l, r), (0, 0)), mode="symmetric")
        top, left, bottom, right = top - t, left - l, bottom - b, right - r
    return x
