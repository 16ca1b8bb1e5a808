"""Training and evaluation data: compression cases and samples, made from clean corpus images.

NumPy and Pillow only (backend-agnostic).  The detector's samples go through exactly the
feature code the server uses (`features.image_features`, grid search included).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from . import features, jpeg, quality
from .archs import CLASSES


HALVED_EVIDENCE = features.GRID_MIN_EVIDENCE / 2   # a grid this strong where halving puts one


def source_grid(image: np.ndarray) -> tuple[bool, float, tuple[int, int]]:
    """Whether a corpus picture, meant as never compressed, still shows its source's JPEG grid:
    (shows, evidence, offset) of the detector's grid search (`features.grid_search`, the
    best of the 64 grids whatever its evidence).  It shows when the grid stands out
    (GRID_MIN_EVIDENCE), or from HALVED_EVIDENCE when it sits where a halved JPEG's 4x4 blocks
    put it (0 or 4 in both directions): on the corpus of 2026-11-28 before this check (an ad
    hoc scan) every one of the nine pictures of JPEG sources between 0.01 and 0.02 had its
    best grid there (4 of the 64 grids), while clean PNG sources reach 0.013 at any grid."""
    offset, evidence = features.grid_search(image, min_evidence=0.0)
    halved = offset[0] % 4 == 0 and offset[1] % 4 == 0
    shows = evidence >= features.GRID_MIN_EVIDENCE or (halved and evidence >= HALVED_EVIDENCE)
    return shows, evidence, offset


@dataclass(frozen=True)
class Case:
    """One compression history.  kind: "uncompressed" | "single" | "double".

    `recrop` = (dx, dy) cropped between the two passes of a double compression (grids not
    aligned); `shift` = (dx, dy) cropped off at the very end (the last grid moves off the
    image origin, as after any crop).
    """
    kind: str
    q1: int = 0
    q2: int = 0
    recrop: tuple[int, int] = (0, 0)
    shift: tuple[int, int] = (0, 0)

    @property
    def label(self) -> int:
        return CLASSES.index(self.kind)

    @property
    def name(self) -> str:
        if self.kind == "uncompressed":
            base = "uncompressed"
        elif self.kind == "single":
            base = f"single {self.q1}"
        else:
            base = f"double ({self.q1},{self.q2})" + (" recrop" if self.recrop != (0, 0) else "")
        return base + (" shifted" if self.shift != (0, 0) else "")

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        if self.kind == "single":
            out = jpeg.compress(rgb, self.q1)
        elif self.kind == "double":
            out = jpeg.compress_double(rgb, self.q1, self.q2, self.recrop)
        else:
            out = rgb
        dx, dy = self.shift
        return np.ascontiguousarray(out[dy:, dx:])


SEED_SINGLE = (10, 30, 50, 70, 90)
SEED_DOUBLE = tuple((50, q) for q in (10, 30, 50, 70, 90))


def seed_cases(shift=(0, 0)) -> list[Case]:
    """The eleven cases the seed reported."""
    return ([Case("uncompressed", shift=shift)]
            + [Case("single", q, shift=shift) for q in SEED_SINGLE]
            + [Case("double", a, b, shift=shift) for a, b in SEED_DOUBLE])


def grid_after_crop(crop: tuple[int, int]) -> tuple[int, int]:
    """The offset (dx, dy) of a JPEG's 8x8 grid in the picture left when `crop` = (dx, dy)
    pixels are cut off its left and top."""
    return (8 - crop[0]) % 8, (8 - crop[1]) % 8


def _shift(rng) -> tuple[int, int]:
    while True:
        s = (int(rng.integers(0, 8)), int(rng.integers(0, 8)))
        if s != (0, 0):
            return s


def random_case(rng: np.random.Generator) -> Case:
    """A training case: a third each uncompressed / single / double, wide QF ranges.

    Single: half the seed's QFs, half uniform in 10..95.  Double: 40 % (50, seed QF), else
    a random pair at least 5 apart; half of the doubles are recropped between the passes.
    Half of all cases end with a crop that moves the grid.  Aligned (q, q) doubles are left
    out: recompressing at the same quality is nearly idempotent, a label no pixel can carry.
    """
    shift = _shift(rng) if rng.random() < 0.5 else (0, 0)
    u = rng.random()
    if u < 1 / 3:
        return Case("uncompressed", shift=shift)
    if u < 2 / 3:
        q = int(rng.choice(SEED_SINGLE)) if rng.random() < 0.5 else int(rng.integers(10, 96))
        return Case("single", q, shift=shift)
    recrop = _shift(rng) if rng.random() < 0.5 else (0, 0)
    while True:
        if rng.random() < 0.4:
            q1, q2 = 50, int(rng.choice(SEED_SINGLE))
        else:
            q1, q2 = int(rng.integers(10, 96)), int(rng.integers(10, 96))
        if abs(q1 - q2) >= 5 or recrop != (0, 0):
            return Case("double", q1, q2, recrop, shift)


CAMERA_QUALITIES = (quality.CAMERA_END, 99)    # the light end where cameras save, left out of `random_case`


def camera_case(rng: np.random.Generator) -> Case:
    """A case at the light end of the JPEG range, where cameras save their pictures (IJG
    quality 96-99), which `random_case` (QF 10-95, the CNN's training cases) leaves out: half
    single, a quarter double with such a last pass (first pass 10-95, half recropped), a
    quarter uncompressed; half end with a crop that moves the grid.  The detector's
    compressed-vs-not calibration sees these too (ai-research/calibrate_detector.py): the
    CNN calls most of them uncompressed, their 8x8 grid and quantiser multiples do not."""
    shift = _shift(rng) if rng.random() < 0.5 else (0, 0)
    u = rng.random()
    last = int(rng.integers(CAMERA_QUALITIES[0], CAMERA_QUALITIES[1] + 1))
    if u < 0.5:
        return Case("single", last, shift=shift)
    if u < 0.75:
        recrop = _shift(rng) if rng.random() < 0.5 else (0, 0)
        return Case("double", int(rng.integers(10, 96)), last, recrop, shift)
    return Case("uncompressed", shift=shift)


def load_image(path: str | Path) -> np.ndarray:
    """One corpus image as a uint8 RGB array."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def load_images(folder: str | Path) -> list[np.ndarray]:
    """All images of a corpus split as uint8 RGB arrays, in name order."""
    return [load_image(p) for p in sorted(Path(folder).glob("*.png"))]


def vary(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A clean picture varied before a detector case is applied to it (training only): 54
    pictures teach the CNN their own textures (its validation accuracy stalls while training
    accuracy climbs), so each draw may see them at another scale and tone, sharpened or
    noisy, as photographs come.  Independently: half the time downscaled by 0.5-0.95
    (Lanczos, antialiased: new texture scales, no JPEG trace), a third of the time a gamma of
    0.7-1.4, a third an unsharp mask (amount 0.3-1, Gaussian sigma 0.7-1.5 px), a third
    Gaussian noise of sigma 0.5-3 grey levels.  Uncompressed cases get the same, so none of
    it becomes a sign of compression."""
    x = rgb
    if rng.random() < 0.5:
        f = rng.uniform(0.5, 0.95)
        h, w = x.shape[:2]
        size = (max(8, round(w * f)), max(8, round(h * f)))
        x = np.asarray(Image.fromarray(x).resize(size, Image.Resampling.LANCZOS))
    gamma, sharpen, noise = (rng.random(3) < 1 / 3)
    if not (gamma or sharpen or noise):
        return np.ascontiguousarray(x)
    y = x.astype(np.float32)
    if gamma:
        y = 255.0 * (y / 255.0) ** rng.uniform(0.7, 1.4)
    if sharpen:
        amount, sigma = rng.uniform(0.3, 1.0), rng.uniform(0.7, 1.5)
        y += amount * (y - ndimage.gaussian_filter(y, (sigma, sigma, 0)))
    if noise:
        y += rng.normal(0.0, rng.uniform(0.5, 3.0), y.shape).astype(np.float32)
    return np.clip(np.rint(y), 0, 255).astype(np.uint8)


def camera_pipeline(rgb: np.ndarray, rng: np.random.Generator, sharpen: float = 0.6,
                    noise: float = 1.0) -> np.ndarray:
    """What a camera does before any JPEG, played on a clean picture: back to linear light
    (gamma 2.2), one colour a pixel through a Bayer (RGGB) mosaic, shot and read noise (noise
    standard deviation `noise` x sqrt(0.002 x + 0.003^2) at linear level x in [0, 1]),
    bilinear demosaicing, gamma again, and an unsharp mask (amount `sharpen`, Gaussian sigma
    1 px).  Its interpolation, noise and sharpening are statistics that the downscaled corpus
    pictures lack; a camera photograph developed from raw has them and no JPEG grid.  The
    evaluation plays it with the defaults (`eval_detector.conditions`), training with random
    strengths (`random_camera`)."""
    x = (rgb.astype(np.float64) / 255) ** 2.2
    h, w = x.shape[:2]
    mosaic = np.zeros((h, w, 3))
    mosaic[0::2, 0::2, 0] = mosaic[0::2, 1::2, 1] = mosaic[1::2, 0::2, 1] = mosaic[1::2, 1::2, 2] = 1
    raw = (x * mosaic).sum(axis=2)
    raw += rng.normal(0, 1, raw.shape) * (noise * np.sqrt(0.002 * raw + 0.003 ** 2))
    green = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]]) / 4
    red_blue = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 4
    out = np.stack([ndimage.convolve(raw * mosaic[..., c], green if c == 1 else red_blue, mode="mirror")
                    for c in range(3)], axis=2)
    out = np.clip(out, 0, 1) ** (1 / 2.2)
    out += sharpen * (out - ndimage.gaussian_filter(out, (1, 1, 0)))
    return np.clip(np.round(out * 255), 0, 255).astype(np.uint8)


def random_camera(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`camera_pipeline` at random strengths (training only): sharpening amount 0-1, noise
    0.5-2 times the default, the mosaic's phase moved by a random crop of 0-1 px each way
    (a crop of at most 1 px off the picture's top and left)."""
    dy, dx = (int(v) for v in rng.integers(0, 2, 2))
    return camera_pipeline(np.ascontiguousarray(rgb[dy:, dx:]), rng,
                           sharpen=rng.uniform(0.0, 1.0), noise=rng.uniform(0.5, 2.0))


def random_crop(rgb: np.ndarray, side: int, rng: np.random.Generator, align: int = 1) -> np.ndarray:
    """A random crop of at most side x side, its corner on multiples of `align`."""
    h, w = rgb.shape[:2]
    ch, cw = min(side, h), min(side, w)
    y = int(rng.integers(0, (h - ch) // align + 1)) * align
    x = int(rng.integers(0, (w - cw) // align + 1)) * align
    return rgb[y:y + ch, x:x + cw]


def detector_samples(rgb: np.ndarray, case: Case, max_blocks: int = 64):
    """Features (N, 120, 64, 1) as uint16 counts out of 1024, and the case's label, per block."""
    img = case.apply(rgb)
    feats, blocks, _ = features.image_features(img, limit=max_blocks)
    counts = np.rint(feats * 1024).astype(np.uint16)
    return counts, np.full(len(blocks), case.label, np.uint8)


def restorer_pair(rgb: np.ndarray, size: int, rng: np.random.Generator,
                  qualities=(10,), double_first=(50,), p_double: float = 0.5,
                  p_recrop: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(jpeg, clean) crops of side `size` for the restorer, grid-aligned (corner at 8k).

    The JPEG side is single-compressed at a quality from `qualities`, or double-compressed
    (first pass from `double_first`), the second pass sometimes after a crop between passes.
    Compression runs on a larger area than the crop so crop edges carry no border effects.
    """
    area = random_crop(rgb, size + 32, rng, align=8)
    q = int(rng.choice(qualities))
    if rng.random() < p_double:
        q1 = int(rng.choice(double_first))
        recrop = _shift(rng) if rng.random() < p_recrop else (0, 0)
        first = jpeg.compress(area, q1)
        dx, dy = recrop
        # keep the clean and the last grid aligned: shift both, recompress only the JPEG side
        area = np.ascontiguousarray(area[dy:, dx:])
        comp = jpeg.compress(np.ascontiguousarray(first[dy:, dx:]), q)
    else:
        comp = jpeg.compress(area, q)
    return comp[8:8 + size, 8:8 + size], area[8:8 + size, 8:8 + size]
