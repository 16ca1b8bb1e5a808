"""Detector input: luma, 8x8-grid search, 256x256 blocks and DCT-histogram features.

The feature follows Park et al. (ECCV 2018) as described in DESIGN.md: for every 8x8 block
of a 256x256 luma block take the orthonormal 2-D DCT-II (pixel values as decoded, no level
shift); for each of the 64 frequencies histogram its 1024 coefficients into 120 unit bins,
bin k (b = k - 60) counting b < c <= b + 1, divided by 1024.  Shape: (120, 64, 1).

Everything here is NumPy and vectorised; the training pipeline and the server share it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLOCK = 256          # side of a detector block, in pixels
MAX_BLOCKS = 21      # blocks looked at per image
BINS = 120           # histogram bins per frequency
BIN_OFFSET = 60      # bin k holds coefficients in (k - 60, k - 59]


LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], np.float32)     # BT.601, JPEG's Y


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma (the Y of JPEG's YCbCr) of an RGB uint8 image, as float32.

    A 2-D array is taken to be luma already.
    """
    if rgb.ndim == 2:
        return rgb.astype(np.float32)
    return rgb.astype(np.float32) @ LUMA_WEIGHTS


def dct_matrix(n: int = 8) -> np.ndarray:
    """Orthonormal DCT-II matrix D, so that D @ x is the 1-D DCT of x."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    d = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    d[0] /= np.sqrt(2.0)
    return d


_D = dct_matrix(8)

# zig-zag scan: ZIGZAG[i] is the natural (row-major) index of the i-th coefficient in a file
ZIGZAG = np.array(sorted(range(64), key=lambda n: (
    n // 8 + n % 8, (n % 8) if (n // 8 + n % 8) % 2 else (n // 8))), dtype=np.int64)


def block_dct(plane: np.ndarray) -> np.ndarray:
    """8x8 block DCT of planes shaped (..., H, W) with H, W multiples of 8.

    Returns (..., H/8, W/8, 64): the 64 coefficients of every block, row-major (u, v).
    """
    *lead, h, w = plane.shape
    blocks = plane.reshape(*lead, h // 8, 8, w // 8, 8)
    coef = np.einsum("ui,...aibj,vj->...abuv", _D, blocks, _D, optimize=True)
    return coef.reshape(*lead, h // 8, w // 8, 64)


def dct_histograms(blocks: np.ndarray) -> np.ndarray:
    """Features of luma blocks shaped (N, 256, 256) -> (N, 120, 64, 1) float32."""
    blocks = np.asarray(blocks, dtype=np.float64)
    n = blocks.shape[0]
    coef = block_dct(blocks).reshape(n, -1, 64)          # (N, 1024, 64)
    per_block = coef.shape[1]
    # rounding to 1e-6 first settles values that are integers in exact arithmetic (the AC
    # coefficients of a flat block are 0, not +-1e-15) into the bin exact arithmetic gives
    idx = np.ceil(np.round(coef, 6)).astype(np.int64) + (BIN_OFFSET - 1)
    valid = (idx >= 0) & (idx < BINS)
    freq = np.broadcast_to(np.arange(64), idx.shape)
    img = np.broadcast_to(np.arange(n)[:, None, None], idx.shape)
    flat = (img[valid] * 64 + freq[valid]) * BINS + idx[valid]
    hist = np.bincount(flat, minlength=n * 64 * BINS).reshape(n, 64, BINS)
    hist = hist.astype(np.float32) / per_block
    return np.ascontiguousarray(hist.transpose(0, 2, 1))[..., None]


@dataclass(frozen=True)
class Block:
    """Where a detector block came from, in image pixel coordinates."""
    x: int
    y: int
    width: int      # image pixels covered (less than 256 when the image is smaller)
    height: int

    @property
    def tiled(self) -> bool:
        return self.width < BLOCK or self.height < BLOCK


def _positions(size: int, offset: int, count: int) -> list[int]:
    """`count` block starts along one axis, on the 8-pixel grid from `offset`, spread evenly."""
    last = offset + ((size - offset - BLOCK) // 8) * 8
    if count == 1:
        return [offset + ((last - offset) // 16) * 8]
    return [offset + int(round((last - offset) * i / (count - 1) / 8)) * 8 for i in range(count)]


def _grid_counts(nx: int, ny: int, limit: int) -> tuple[int, int]:
    """Blocks along x and y: all of them when they fit, else the best spread under limit."""
    if nx * ny <= limit:
        return nx, ny
    best = (1, 1)
    for gx in range(1, nx + 1):
        gy = min(ny, limit // gx)
        if gy < 1:
            break
        aspect_err = abs(np.log((gx / gy) / (nx / ny)))
        key = (gx * gy, -aspect_err)
        best_key = (best[0] * best[1], -abs(np.log((best[0] / best[1]) / (nx / ny))))
        if key > best_key:
            best = (gx, gy)
    return best


def select_blocks(width: int, height: int, offset: tuple[int, int] = (0, 0),
                  limit: int = MAX_BLOCKS) -> list[Block]:
    """Deterministic 256x256 blocks on the 8x8 grid starting at `offset` (dx, dy).

    Non-overlapping blocks cover the image when at most `limit` fit; otherwise an evenly
    spread grid of at most `limit` blocks.  An axis shorter than a block gets one block that
    covers what the grid allows (to be tiled up to 256 by `extract_blocks`).
    """
    dx, dy = offset
    if width - dx < 8 or height - dy < 8:
        dx, dy = 0, 0
    if width < 8 or height < 8:
        raise ValueError("image smaller than one 8x8 JPEG block")
    nx = max(1, (width - dx) // BLOCK)
    ny = max(1, (height - dy) // BLOCK)
    gx, gy = _grid_counts(nx, ny, limit)
    bw = min(BLOCK, ((width - dx) // 8) * 8)
    bh = min(BLOCK, ((height - dy) // 8) * 8)
    xs = _positions(width, dx, gx) if bw == BLOCK else [dx]
    ys = _positions(height, dy, gy) if bh == BLOCK else [dy]
    return [Block(x, y, bw, bh) for y in ys for x in xs]


def extract_blocks(image: np.ndarray, blocks: list[Block]) -> np.ndarray:
    """Cut `blocks` out of an RGB image or luma plane -> luma (N, 256, 256) float32.

    A block smaller than 256 (small image) is tiled periodically; since its sides are
    multiples of 8 and it sits on the grid, every 8x8 block of the result is a real one.
    """
    out = np.empty((len(blocks), BLOCK, BLOCK), np.float32)
    for i, b in enumerate(blocks):
        patch = luma(image[b.y:b.y + b.height, b.x:b.x + b.width])
        if b.tiled:
            reps = (-(-BLOCK // b.height), -(-BLOCK // b.width))
            patch = np.tile(patch, reps)[:BLOCK, :BLOCK]
        out[i] = patch
    return out


GRID_MIN_EVIDENCE = 0.02   # below this, no grid stands out: (0, 0) is assumed


def busiest_window(image: np.ndarray, side: int, candidates: int = 3) -> tuple[int, int]:
    """(x0, y0) of the side x side window, among up to candidates x candidates spread over
    the image (the central one first), with the most 8x8 blocks that carry JPEG evidence:
    some texture (green values spanning more than 2 levels) and no clipped pixel (0 or 255).
    A flat sky or a black border says nothing about the grid; a rendered wallpaper can be
    flat in the middle."""
    h, w = image.shape[:2]
    n = side // 8

    def starts(size):
        last = size - side
        spread = {int(round(last * i / (candidates - 1))) for i in range(candidates)}
        return [last // 2] + sorted(spread - {last // 2})

    def block_max(plane):       # (n*8, n*8) -> (n, n) maxima of the 8x8 blocks (fast axis order)
        return plane.reshape(n, 8, n * 8).max(axis=1).reshape(n, n, 8).max(axis=2)

    best, best_count = (max(0, (w - side) // 2), max(0, (h - side) // 2)), -1
    for y0 in starts(h):
        for x0 in starts(w):
            win = image[y0:y0 + n * 8, x0:x0 + n * 8]
            chans = [win[..., c] for c in range(win.shape[2])] if win.ndim == 3 else [win]
            green = chans[len(chans) // 2]
            busy = block_max(green).astype(np.int16) + block_max(255 - green) > 257   # span > 2
            for c in chans:             # no clipped pixel in any channel
                busy &= (block_max(c) < 255) & (block_max(255 - c) < 255)
            if busy.sum() > best_count:
                best, best_count = (x0, y0), int(busy.sum())
    return best


# lattice steps the periodicity of a grid is tried with, and the low frequencies it reads
# (row-major (u, v): (0,1), (1,0), (1,1), (0,2), (2,0)); steps from 4 so the tolerance is 1
PERIOD_STEPS = np.arange(4, 41)
PERIOD_FREQUENCIES = (1, 8, 9, 2, 16)
_PERIOD_BIN = 0.25          # histogram resolution of |coefficient| for the periodicity
_PERIOD_TOP = 256.0         # |coefficient| above this is left out


def _periodicity(coefs: np.ndarray) -> np.ndarray:
    """For coefficient sets (S, n) -> (S,): how much more often than chance the clearly
    non-zero values (|c| > 1.5) lie within 1 of a multiple of some step in PERIOD_STEPS (the
    best step's share minus its chance 2 / step), from a histogram of |c| in quarter units."""
    mag = np.abs(coefs)
    keep = (mag > 1.5) & (mag < _PERIOD_TOP - 2)
    nbins = int(_PERIOD_TOP / _PERIOD_BIN)
    rows = np.broadcast_to(np.arange(len(coefs))[:, None], mag.shape)[keep]
    idx = (mag[keep] / _PERIOD_BIN).astype(np.int64)
    hist = np.bincount(rows * nbins + idx, minlength=len(coefs) * nbins).reshape(len(coefs), nbins)
    cum = np.concatenate([np.zeros((len(coefs), 1)), np.cumsum(hist, axis=1)], axis=1)
    n = np.maximum(keep.sum(axis=1), 1)
    best = np.full(len(coefs), -1.0)
    for q in PERIOD_STEPS:
        centres = np.arange(q, _PERIOD_TOP - 2, q)
        lo = ((centres - 1) / _PERIOD_BIN).astype(np.int64)
        hi = ((centres + 1) / _PERIOD_BIN).astype(np.int64)
        share = (cum[:, hi] - cum[:, lo]).sum(axis=1) / n
        best = np.maximum(best, share - 2.0 / q)
    return np.where(keep.sum(axis=1) >= 30, best, 0.0)


LATTICE_MIN = 1.0          # |coefficient| from which the integer lattice is read (zeros say nothing)
LATTICE_MIN_COUNT = 500    # coefficients a grid must have for a score
WHOLE_LUMA_LATTICE = True  # read the lattice from the luma rounded to whole numbers: the decoder's Y


@dataclass(frozen=True)
class LatticeScan:
    """`lattice_scan`'s z-scores of the 64 grids of a window, indexed as GridScan's maps."""
    z: np.ndarray               # (8, 8)
    origin: tuple[int, int]     # (x0, y0)

    def at(self, offset: tuple[int, int]) -> float:
        """The lattice evidence of the grid at (dx, dy) in the picture: its z-score minus the
        best of the other 63 grids'.  A decoder's lattice is on one grid alone; a picture of
        few colours enlarged by repeating pixels (pixel art, a 2x or 4x nearest-neighbour
        upscale) puts near-whole coefficients on every grid aligned with its cells, 16 or 4 of
        64, with z-scores as high as a JPEG's but no margin between them."""
        dx, dy = offset
        sy, sx = (dy - self.origin[1]) % 8, (dx - self.origin[0]) % 8
        others = np.delete(self.z.ravel(), sy * 8 + sx)
        return float(self.z[sy, sx] - others.max())

    def best(self) -> tuple[tuple[int, int], float]:
        """The grid whose coefficients sit most on whole numbers and its evidence (`at`)."""
        sy, sx = np.unravel_index(np.argmax(self.z), self.z.shape)
        offset = (int(self.origin[0] + sx) % 8, int(self.origin[1] + sy) % 8)
        return offset, self.at(offset)


@dataclass(frozen=True)
class GridScan:
    """The 64 candidate 8x8 grids of a window of the picture, three ways.  Maps are (8, 8),
    indexed (sy, sx): the grid through (x0 + sx, y0 + sy) of the window at `origin`."""
    zero_share: np.ndarray      # share of AC coefficients near zero (|c| < 0.5)
    periodicity: np.ndarray     # `_periodicity` of the PERIOD_FREQUENCIES, averaged
    origin: tuple[int, int]     # (x0, y0)
    lattice: LatticeScan        # how far the AC coefficients sit on whole numbers (z-scores)

    def offset(self, sy: int, sx: int) -> tuple[int, int]:
        """The (dx, dy) grid offset in the picture of map entry (sy, sx)."""
        return int((self.origin[0] + sx) % 8), int((self.origin[1] + sy) % 8)


def _scan_window(image: np.ndarray, region: int) -> tuple[int, int, int, int] | None:
    """(x0, y0, side_x, side_y) of the window whose 64 grids a scan reads: the
    `busiest_window` of region x region when the image has room to choose, else the largest
    central one that leaves 8 px to shift into; None when the image is under 16 px a side."""
    h, w = image.shape[:2]
    side_y = min(region, ((h - 8) // 8) * 8)
    side_x = min(region, ((w - 8) // 8) * 8)
    if side_y < 8 or side_x < 8:
        return None
    if side_x == side_y == region:     # room to choose: the busiest window
        x0, y0 = busiest_window(image[:h - 8, :w - 8], region)
    else:
        x0, y0 = max(0, (w - side_x - 8) // 2), max(0, (h - side_y - 8) // 2)
    return x0, y0, side_x, side_y


def _shifted_dcts(area: np.ndarray, side_x: int, side_y: int):
    """Yield (sy, sx, coefficients (ny, nx, 8, 8)): the 8x8 block DCTs of a window's luma
    `area` (side_y + 8, side_x + 8) on each of its 64 grids, the one through (sx, sy).  The
    2-D DCT is separable: the 1-D DCT of the 8-pixel runs along x once per sx, then along y
    once per sy (4-5x faster than a 2-D DCT of each of the 64 shifted crops)."""
    area = area.astype(np.float64)
    runs = np.lib.stride_tricks.sliding_window_view(area, 8, axis=1)
    for sx in range(8):
        rows = runs[:, sx:sx + side_x:8] @ _D.T                           # (side_y + 8, nx, 8 v)
        cols = np.lib.stride_tricks.sliding_window_view(rows, 8, axis=0)   # (.., nx, 8 v, 8 y)
        for sy in range(8):
            yield sy, sx, np.einsum("ui,ajvi->ajuv", _D, cols[sy:sy + side_y:8], optimize=True)


def grid_scan(image: np.ndarray, region: int = 256) -> GridScan:
    """Score the 64 candidate grids on a region of the image (the `busiest_window`).

    zero_share: on the grid the encoder used, the quantiser has set many AC coefficients to
    exactly zero, off the grid they spread out.  periodicity: on a grid some compression used,
    the low-frequency coefficients sit on multiples of its quantisers, even after a later,
    light compression on another grid has moved them by a step or so (a picture cropped
    between two compressions).  lattice: on the grid a JPEG decoder used, the AC coefficients
    sit on whole numbers, at any quality (`lattice_scan`).  All-equal maps when the image is
    under 16 pixels a side."""
    window = _scan_window(image, region)
    if window is None:
        return GridScan(np.zeros((8, 8)), np.zeros((8, 8)), (0, 0), LatticeScan(np.zeros((8, 8)), (0, 0)))
    x0, y0, side_x, side_y = window
    area = luma(image[y0:y0 + side_y + 8, x0:x0 + side_x + 8])
    ny, nx = side_y // 8, side_x // 8
    score, mean, count = np.empty((8, 8)), np.empty((8, 8)), np.empty((8, 8))
    low = np.empty((8, 8, ny * nx, len(PERIOD_FREQUENCIES)))
    for sy, sx, coef in _shifted_dcts(area, side_x, side_y):
        near_zero = np.abs(coef) < 0.5
        score[sy, sx] = (near_zero.sum() - near_zero[..., 0, 0].sum()) / (ny * nx * 63)
        low[sy, sx] = coef.reshape(ny * nx, 64)[:, PERIOD_FREQUENCIES]
        if not WHOLE_LUMA_LATTICE:
            mean[sy, sx], count[sy, sx] = _whole_number_phase(coef)
    if WHOLE_LUMA_LATTICE:
        for sy, sx, coef in _shifted_dcts(np.round(area), side_x, side_y):
            mean[sy, sx], count[sy, sx] = _whole_number_phase(coef)
    per = _periodicity(low.transpose(0, 1, 3, 2).reshape(64 * len(PERIOD_FREQUENCIES), ny * nx))
    lattice = LatticeScan(np.zeros((8, 8)), window[:2])
    if count.min() >= LATTICE_MIN_COUNT:
        lattice = LatticeScan((mean - np.median(mean)) / np.sqrt(0.5 / count), window[:2])
    return GridScan(score, per.reshape(8, 8, len(PERIOD_FREQUENCIES)).mean(axis=2), window[:2], lattice)


def _whole_number_phase(coef: np.ndarray) -> tuple[float, int]:
    """(mean of cos(2 pi c), n) over the n AC coefficients with |c| >= LATTICE_MIN of blocks'
    DCTs (..., 8, 8).  In float32, every coefficient's cos, then one dot product with the
    mask (5x faster than picking the coefficients first: this runs for each of 64 grids)."""
    c = coef.reshape(-1, 64).astype(np.float32)
    keep = np.abs(c) >= LATTICE_MIN
    keep[:, 0] = False                                     # not the DC
    n = int(np.count_nonzero(keep))
    phases = np.cos(np.float32(2 * np.pi) * c)
    return float(np.vdot(phases.ravel(), keep.ravel().astype(np.float32))) / max(n, 1), n


def lattice_scan(image: np.ndarray, region: int = 256) -> LatticeScan:
    """How far each of the 64 grids' AC coefficients sit on whole numbers, as z-scores (read
    by `grid_scan`, in the same loop as the zeros: this is its `lattice`).

    A JPEG decoder multiplies whole-number quantised coefficients by whole-number steps, so on
    the encoder's grid every coefficient of its Y plane is a whole number plus the small error
    of rounding Y's pixels (a spread of 0.29 in DCT units).  That holds at any quality, QF 100
    (steps of 1, no zeros, no grid for `zero_share` to see) included.  The decoder then adds to
    Y what Cb and Cr give to each of R, G and B, rounded; the luma weights undo those additions
    to within 0.5, so the luma of the decoded R, G, B rounded to whole numbers is that Y plane
    wherever nothing was clipped (`WHOLE_LUMA_LATTICE`; unrounded, the colour conversion's
    rounding widens the spread to about 0.35 and halves the lattice's mean cos below).  On any other grid, and on a never-compressed picture on every grid, the
    fractional parts are uniform.  So for each grid: the mean of cos(2 pi c) over the AC
    coefficients with |c| >= LATTICE_MIN (the bet of Luo, Huang and Qiu's "JPEG error
    analysis", 2010: a JPEG's rounding errors are not uniform; this reading of it is our own),
    in standard errors (sqrt(0.5 / n), the spread of the mean of cos of uniform phases) above
    the median of the 64.  With no lattice the best of 64 is about 2.4; all 0 when a grid has
    fewer than LATTICE_MIN_COUNT such coefficients (flat pictures) or the image is under 16
    px a side."""
    return grid_scan(image, region).lattice


def grid_scores(image: np.ndarray, region: int = 256) -> tuple[np.ndarray, tuple[int, int]]:
    """The zero-share map of `grid_scan` and the window's (x0, y0)."""
    scan = grid_scan(image, region)
    return scan.zero_share, scan.origin


def locate_grid(scan: GridScan, min_evidence: float = GRID_MIN_EVIDENCE) -> tuple[tuple[int, int], float]:
    """The JPEG grid of a scan: ((dx, dy) in 0..7, evidence).

    The evidence is the best zero share minus the median one: about 0.005 for a
    never-compressed picture (up to ~0.05 on some renders), typically 0.1-0.4 for a JPEG (as
    ai-research/results/detector_calibration.md recorded them at commit 0e881b9, on a central
    window).  Without evidence (under `min_evidence`, GRID_MIN_EVIDENCE unless given) the
    offset is (0, 0).
    """
    score = scan.zero_share
    evidence = float(score.max() - np.median(score))
    if evidence < min_evidence:
        return (0, 0), evidence
    sy, sx = np.unravel_index(np.argmax(score), score.shape)
    return scan.offset(sy, sx), evidence


def grid_search(image: np.ndarray, region: int = 256,
                min_evidence: float = GRID_MIN_EVIDENCE) -> tuple[tuple[int, int], float]:
    """Find the 8x8 JPEG grid of a (possibly cropped) image: `locate_grid` of `grid_scan`."""
    return locate_grid(grid_scan(image, region), min_evidence)


def second_grid(scan: GridScan, last: tuple[int, int]) -> tuple[float, tuple[int, int]]:
    """The strongest sign of an earlier compression on another grid than `last` (dx, dy):
    (evidence, its offset).  Among the 49 grids that differ from `last` in both directions
    (those sharing a row or column with it are partly aligned with it and partly periodic
    for that reason alone), the best periodicity minus their median.  A first compression
    shows through a light last one (steps of 2-3) only; a heavier last pass wipes it out."""
    per = scan.periodicity
    ys, xs = np.mgrid[0:8, 0:8]
    offsets = [scan.offset(sy, sx) for sy, sx in zip(ys.ravel(), xs.ravel())]
    apart = np.array([o[0] != last[0] and o[1] != last[1] for o in offsets])
    values = per.ravel()[apart]
    best = int(np.argmax(values))
    return float(values[best] - np.median(values)), [o for o, a in zip(offsets, apart) if a][best]


def grid_offset(image: np.ndarray, region: int = 256) -> tuple[int, int]:
    """The (dx, dy) of `grid_search`."""
    return grid_search(image, region)[0]


def image_features(rgb: np.ndarray, offset: tuple[int, int] | None = None,
                   limit: int = MAX_BLOCKS) -> tuple[np.ndarray, list[Block], tuple[int, int]]:
    """Everything the detector needs from an RGB (or grey) uint8 image.

    Returns (features (N, 120, 64, 1), blocks, grid offset used).
    """
    if offset is None:
        offset = grid_offset(rgb)
    blocks = select_blocks(rgb.shape[1], rgb.shape[0], offset, limit)
    return dct_histograms(extract_blocks(rgb, blocks)), blocks, offset
