"""JPEG quality factors: IJG tables, estimate from a file's tables or from pixels.

The base tables are those of the JPEG standard (ITU T.81, Annex K); the quality scaling is
the Independent JPEG Group's (libjpeg's `jpeg_quality_scaling`), which Pillow, most
software and many cameras use: scale = 5000 / Q for Q < 50, else 200 - 2 Q, and each entry
becomes floor((base * scale + 50) / 100) clamped to 1..255.
"""
from __future__ import annotations

import numpy as np

from .features import GRID_MIN_EVIDENCE, block_dct, grid_search, luma

LUMA_BASE = np.array([
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
], dtype=np.int64)

# zig-zag scan: ZIGZAG[i] is the natural (row-major) index of the i-th coefficient in a file
ZIGZAG = np.array(sorted(range(64), key=lambda n: (
    n // 8 + n % 8, (n % 8) if (n // 8 + n % 8) % 2 else (n // 8))), dtype=np.int64)


def ijg_table(quality: int, base: np.ndarray = LUMA_BASE) -> np.ndarray:
    """The 64 natural-order quantisers libjpeg uses at `quality` (1..100)."""
    q = int(np.clip(quality, 1, 100))
    scale = 5000 // q if q < 50 else 200 - 2 * q
    return np.clip((base * scale + 50) // 100, 1, 255)


_TABLES = np.stack([ijg_table(q) for q in range(1, 101)])   # (100, 64), row q-1


def quality_from_table(table, natural_order: bool = True) -> tuple[int, bool]:
    """Closest IJG quality to a luma quantisation table; (quality, exact match?)."""
    t = np.asarray(table, dtype=np.int64).reshape(64)
    if not natural_order:
        nat = np.empty(64, np.int64)
        nat[ZIGZAG] = t
        t = nat
    err = np.abs(_TABLES - t).sum(axis=1)
    best = int(np.argmin(err))
    return best + 1, bool(err[best] == 0)


def quality_from_pixels(image: np.ndarray, offset: tuple[int, int] = (0, 0),
                        max_side: int = 768) -> int | None:
    """Estimate the (last) JPEG quality of a decoded image (RGB or luma) from its DCT coefficients.

    On the compression grid every coefficient sits near a multiple of its quantiser.  For each
    candidate quality, the share of the clearly non-zero AC coefficients (of blocks with no
    clipped pixel) that lie
    within a tolerance (min(1, q/4), so chance stays at or under one half) of a multiple of
    that quality's quantiser is measured.  The lowest quality scoring at least 90 % of the best
    is the coarsest table that fits (a finer table that divides the true one fits as well, a
    coarser one does not); the best fit among it and the next five settles near-identical
    neighbouring tables.  Returns None
    when the plane is too small.  Only meaningful for a compressed image.
    """
    dx, dy = offset
    h = ((image.shape[0] - dy) // 8) * 8
    w = ((image.shape[1] - dx) // 8) * 8
    if h < 16 or w < 16:
        return None
    # central area, at most max_side on a side, on the grid
    ch, cw = min(h, max_side), min(w, max_side)
    y0 = dy + ((h - ch) // 16) * 8
    x0 = dx + ((w - cw) // 16) * 8
    area = image[y0:y0 + ch, x0:x0 + cw]
    coef = block_dct(luma(area).astype(np.float64)).reshape(-1, 64)
    # blocks with clipped pixels (0 or 255 in any channel) break the multiples: leave them out
    sat = (area == 0) | (area == 255)
    if sat.ndim == 3:
        sat = sat.any(axis=2)
    clipped = sat.reshape(ch // 8, 8, cw // 8, 8).any(axis=(1, 3)).reshape(-1)
    c = coef[~clipped][:, ZIGZAG[1:]]                          # (n, 63) AC coefficients
    keep = np.abs(c) > 1.5                                    # clearly non-zero ones
    if keep.sum() < 50:
        return None
    values = c[keep][::max(1, int(keep.sum()) // 20000)]      # at most ~20000, evenly taken
    freq = np.nonzero(keep)[1][::max(1, int(keep.sum()) // 20000)]
    # the same coefficients are scored for every candidate, so scores compare
    q = _TABLES[:, ZIGZAG[1:]][:, freq].astype(np.float64)   # (100, m)
    hit = np.abs(values - q * np.round(values / q)) < np.minimum(1.0, q / 4.0)
    score = hit.mean(axis=1)
    lowest = int(np.argmax(score >= 0.9 * score.max()))
    # neighbouring qualities share most quantisers: take the best fit just above the lowest
    return lowest + int(np.argmax(score[lowest:lowest + 6])) + 1


def grid_and_quality(image: np.ndarray) -> tuple[tuple[int, int], int | None]:
    """Without the CNN: the JPEG grid offset and, when a grid stands out (so the image was
    compressed), the quality estimated from the pixels on it; else ((0, 0), None).  Used
    when a restore is forced and detection skipped."""
    offset, evidence = grid_search(image)
    if evidence < GRID_MIN_EVIDENCE:
        return (0, 0), None
    return offset, quality_from_pixels(image, offset)
