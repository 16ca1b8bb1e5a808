"""JPEG quality factors: IJG tables, estimate from a file's tables or from pixels.

The base tables are those of the JPEG standard (ITU T.81, Annex K); the quality scaling is
the Independent JPEG Group's (libjpeg's `jpeg_quality_scaling`), which Pillow, most
software and many cameras use: scale = 5000 / Q for Q < 50, else 200 - 2 Q, and each entry
becomes floor((base * scale + 50) / 100) clamped to 1..255.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import ndtr

from .features import GRID_MIN_EVIDENCE, ZIGZAG, dct_matrix, grid_search, luma
from .idct import islow

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


def ijg_table(quality: int, base: np.ndarray = LUMA_BASE) -> np.ndarray:
    """The 64 natural-order quantisers libjpeg uses at `quality` (1..100)."""
    q = int(np.clip(quality, 1, 100))
    scale = 5000 // q if q < 50 else 200 - 2 * q
    return np.clip((base * scale + 50) // 100, 1, 255)


_TABLES = np.stack([ijg_table(q) for q in range(1, 101)])   # (100, 64), row q-1
_AC_STEPS = _TABLES[:, ZIGZAG[1:]].astype(np.float32)      # (100, 63): AC steps, zig-zag order


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


READ_SIDE = 768     # the central area (px a side) whose blocks the pixel statistics read
CAMERA_END = 96     # the light end where cameras save: last qualities from here up (the CNN trained on <= 95)


class Reading(NamedTuple):
    """The kept blocks of a central area on a grid (`grid_coefficients`): their AC (n, 63,
    zig-zag order) and DC (n,) coefficients, and the row and column of each, in blocks."""
    ac: np.ndarray
    dc: np.ndarray
    rows: np.ndarray
    cols: np.ndarray


def grid_coefficients(image: np.ndarray, offset: tuple[int, int] = (0, 0),
                      max_side: int = READ_SIDE, with_dc: bool = False):
    """AC DCT coefficients (n, 63, zig-zag order, float32) of the luma 8x8 blocks of a central
    area (at most max_side a side) on the grid at `offset` (dx, dy), leaving out blocks with
    clipped pixels (0 or 255 in any channel), which break the multiples of the quantisers.
    None when the grid holds less than 16x16 pixels.  `with_dc`: (AC, DC) instead, the DC
    coefficients (n,) of the same blocks as JPEG has them (level-shifted by 128), (None, None)
    for too small a grid."""
    read = grid_reading(image, offset, max_side)
    if read is None:
        return (None, None) if with_dc else None
    return (read.ac, read.dc) if with_dc else read.ac


def grid_reading(image: np.ndarray, offset: tuple[int, int] = (0, 0),
                 max_side: int = READ_SIDE) -> Reading | None:
    """`grid_coefficients`' blocks as a `Reading` (None for too small a grid)."""
    read = _grid_area(image, offset, max_side)
    return None if read is None else Reading(*read[:4])


def nested_readings(image: np.ndarray, offset: tuple[int, int], inner: int,
                    outer: int) -> tuple[Reading | None, Reading | None]:
    """The `Reading`s `grid_coefficients` makes of the central areas at most `inner` and
    `outer` (> inner) px a side, from one: the inner area lies inside the outer one on the
    same grid, so its blocks are taken from the outer reading (the same numbers, in the same
    order), and the blocks both hold are transformed once.  (None, None) for too small a grid."""
    read = _grid_area(image, offset, outer)
    if read is None:
        return None, None
    ac, dc, rows, cols, (y0, x0) = read
    (iy, ix), (ih, iw) = _central_area(image, offset, inner)
    r0, c0 = (iy - y0) // 8, (ix - x0) // 8
    inside = (rows >= r0) & (rows < r0 + ih // 8) & (cols >= c0) & (cols < c0 + iw // 8)
    return (Reading(ac[inside], dc[inside], rows[inside] - r0, cols[inside] - c0),
            Reading(ac, dc, rows, cols))


def transposed_reading(reading: Reading) -> Reading:
    """The `Reading` of the same area with the picture's rows and columns swapped (what
    `grid_coefficients` makes of the transposed view, with the offset swapped): each block's
    coefficients transposed (`_TRANSPOSE`), the blocks in the transposed picture's order."""
    order = np.lexsort((reading.rows, reading.cols))     # by column, then row
    return Reading(reading.ac[order][:, _TRANSPOSE], reading.dc[order],
                   reading.cols[order], reading.rows[order])


def _central_area(image: np.ndarray, offset: tuple[int, int], max_side: int):
    """((y0, x0), (height, width)) of the central area at most max_side a side on the grid at
    `offset`, whole blocks only (the grid's height and width when less than 16 px: too small)."""
    dx, dy = offset
    h = ((image.shape[0] - dy) // 8) * 8
    w = ((image.shape[1] - dx) // 8) * 8
    if h < 16 or w < 16:
        return (dy, dx), (h, w)
    ch, cw = min(h, max_side), min(w, max_side)
    return (dy + ((h - ch) // 16) * 8, dx + ((w - cw) // 16) * 8), (ch, cw)


def _grid_area(image: np.ndarray, offset: tuple[int, int], max_side: int):
    """(AC, DC, block rows, block columns, (y0, x0)) of the kept blocks of the central area
    (`grid_coefficients`), the rows and columns counted in blocks from its corner (y0, x0);
    None when the grid holds less than 16x16 pixels."""
    (y0, x0), (ch, cw) = _central_area(image, offset, max_side)
    if ch < 16 or cw < 16:
        return None
    area = image[y0:y0 + ch, x0:x0 + cw]
    columns = cw // 8           # blocks a row, in the picture's own frame
    # a view whose columns lie further apart in memory than its rows (a transposed view: a
    # turned picture read the way it was compressed, `transposed`): its blocks are gathered
    # along the memory's own rows, each block's coefficients then transposed (`_TRANSPOSE`)
    # and the blocks put in the view's order: the same coefficients, without gathering every
    # pixel across rows
    turned = area.strides[0] < area.strides[1]
    if turned:
        area, ch, cw = np.swapaxes(area, 0, 1), cw, ch
    # one row per 8x8 block (its pixels, channels last), so every step below reads rows
    channels = area[0, 0].size
    blocks = area.reshape(ch // 8, 8, cw // 8, 8, channels).transpose(0, 2, 1, 3, 4)
    blocks = blocks.reshape(-1, 64, channels)
    if turned:
        blocks = blocks[np.arange(len(blocks)).reshape(ch // 8, cw // 8).T.ravel()]
    flat = blocks.reshape(len(blocks), -1)
    keep = np.flatnonzero((flat.min(axis=1) > 0) & (flat.max(axis=1) < 255))
    kept = blocks[keep]
    pixels = luma(kept) if kept.shape[2] == 3 else kept[..., 0].astype(np.float32)
    # only the kept blocks, only their AC coefficients, in one matrix product (float32: a
    # sum of 64 terms, within 1e-3 of float64's, where the statistics' tolerances are 0.25-1)
    ac = pixels @ _AC_TRANSFORM
    ac = ac[:, _TRANSPOSE] if turned else ac
    # the orthonormal DCT's DC is a block's sum over 8; JPEG shifts pixels by 128 first
    rows, cols = np.divmod(keep, columns)
    return ac, pixels.sum(axis=1) / 8 - 1024, rows, cols, (y0, x0)


# (64, 64): a block's 64 pixels (row-major) to its 64 DCT coefficients (natural order), the
# 2-D DCT of `features.block_dct` as one matrix; and (64, 63) to its AC ones in zig-zag order,
# in float32 as the luma it multiplies
_BLOCK_PIXELS = np.kron(dct_matrix(8), dct_matrix(8))
_AC_TRANSFORM = _BLOCK_PIXELS[ZIGZAG[1:]].T.astype(np.float32)


CLEARLY_NON_ZERO = 1.5   # |c| above which an AC coefficient counts as clearly non-zero


def _off_multiples(values: np.ndarray, q: np.ndarray) -> np.ndarray:
    """How far each value lies from the nearest multiple of its quantiser q.  In place on one
    array: `table_scores` asks it of 100 tables at once."""
    off = np.divide(values, q)
    np.round(off, out=off)
    off *= q
    np.subtract(values, off, out=off)
    np.abs(off, out=off)
    return off


def _tolerance(q: np.ndarray) -> np.ndarray:
    """How near a multiple of its quantiser q a value must lie to count as on it: min(1, q/4)."""
    return np.minimum(1.0, q / 4.0)


def _on_multiples(values: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Whether each value lies within `_tolerance` of a multiple of its quantiser q (chance:
    2 min(1, q/4) / q, at most one half)."""
    return _off_multiples(values, q) < _tolerance(q)


def table_fit(ac: np.ndarray | None, quality: int | None) -> float:
    """How much more often than chance the clearly non-zero AC coefficients (|c| > 1.5; from
    `grid_coefficients`) sit on multiples of the quantisers of `quality`: the share that do
    minus the share chance gives.  About 0 for a never-compressed picture, 0.25-0.75 for a
    JPEG at its own quality, QF 95 included (whose quantisers of 1-3 hardly make the grid
    stand out); 0 when there is nothing to measure."""
    if ac is None or quality is None:
        return 0.0
    keep = np.abs(ac) > CLEARLY_NON_ZERO
    if keep.sum() < 50:
        return 0.0
    q = np.broadcast_to(_AC_STEPS[quality - 1], ac.shape)[keep]
    return float(_on_multiples(ac[keep], q).mean() - _chance(q).mean())


def _chance(q: np.ndarray) -> np.ndarray:
    """How often a value lands within `_on_multiples`' tolerance of a multiple of q by chance."""
    return np.minimum(1.0, 2 * _tolerance(q) / q)


_CHANCE = _chance(_AC_STEPS)     # (100, 63): each IJG table's, by zig-zag frequency


class TableScores(NamedTuple):
    """The clearly non-zero AC coefficients of a picture as `_sampled` takes them, and how
    often they sit on the multiples of each IJG table's steps (`_on_multiples`)."""
    values: np.ndarray      # (m,) the coefficients
    freq: np.ndarray        # (m,) their zig-zag frequencies
    score: np.ndarray       # (100,) the share on multiples, by quality 1..100


def table_scores(ac: np.ndarray | None) -> TableScores | None:
    """`TableScores` of the AC coefficients (n, 63, zig-zag order), which the quality read
    and the turn's check both weigh (`quality_from_coefficients`, `best_table_fit`); None
    when fewer than 50 are clearly non-zero."""
    sampled = None if ac is None else _sampled(ac)
    if sampled is None:
        return None
    values, freq = sampled
    # the same coefficients are scored for every candidate, so scores compare
    return TableScores(values, freq, _on_multiples(values, _AC_STEPS[:, freq]).mean(axis=1))


def _sampled(ac: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The clearly non-zero AC coefficients (at most ~20000, evenly taken) and their zig-zag
    frequencies; None when fewer than 50 are clearly non-zero."""
    keep = np.abs(ac) > CLEARLY_NON_ZERO
    if keep.sum() < 50:
        return None
    step = max(1, int(keep.sum()) // 20000)
    return ac[keep][::step], np.nonzero(keep)[1][::step]


DQ_FREQUENCIES = 15     # the first AC frequencies (zig-zag) the double-quantisation test reads
DQ_NOISE = 0.5          # spread (DCT units) of a first pass's quantiser multiples once decoded
DQ_DECISIVE = 0.2       # evidence from which `Detector.detect` calls a picture double
DQ_MIN_AGREEING = 2     # frequencies whose step read must be the last IJG table's exactly


def _poisson_fit(counts: np.ndarray, x: np.ndarray, iterations: int = 25,
                 tolerance: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Expected counts and coefficients of a Poisson model log(mean) = x @ beta fitted to
    `counts` by Newton's method (x's first column the constant).  x (n, p), or a stack of
    designs (b, n, p) fitted each on its own in one batch (each stops when its own step is
    under `tolerance`), which returns (b, n) counts and (b, p) coefficients.

    The Hessian gets a ridge relative to its largest diagonal entry: a histogram with only a
    bin or two filled drives the other bins' means towards 0 and one towards the clip, and
    the Hessian is then of rank one or two to machine precision, where a plain solve fails
    (a 946 px training crop saved at QF 65 then 97 gave such a histogram, 13,621 zeros and
    66 coefficients 11 steps out).

    Newton starts from the least-squares fit of log(counts + 1/2), weighted by counts + 1/2
    (the usual start of a log-linear fit): from a flat start a histogram whose zero bin holds
    a hundred times its neighbours took 11-22 steps to converge, from this one a few."""
    xs = np.asarray(x, np.float64)
    xs = xs if xs.ndim == 3 else xs[None]
    eye = np.eye(xs.shape[2])

    def solve(xa: np.ndarray, weight: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        hessian = np.einsum("bnp,bn,bnq->bpq", xa, weight, xa)
        scale = np.abs(np.diagonal(hessian, axis1=1, axis2=2)).max(axis=1)
        hessian += (1e-6 + 1e-12 * scale)[:, None, None] * eye
        return np.linalg.solve(hessian, np.einsum("bnp,bn->bp", xa, rhs)[..., None])[..., 0]

    shifted = np.broadcast_to(counts + 0.5, xs.shape[:2])
    beta = solve(xs, shifted, shifted * np.log(shifted))
    active = np.arange(len(xs))
    for _ in range(iterations):
        xa = xs[active]
        mu = np.exp(np.clip(np.einsum("bnp,bp->bn", xa, beta[active]), -50, 50))
        step = solve(xa, mu, counts - mu)
        beta[active] += step
        active = active[np.abs(step).max(axis=1) >= tolerance]
        if len(active) == 0:
            break
    mu = np.exp(np.clip(np.einsum("bnp,bp->bn", xs, beta), -50, 50))
    return (mu, beta) if np.ndim(x) == 3 else (mu[0], beta[0])


def _fit_envelope(counts: np.ndarray, k: np.ndarray, iterations: int = 25) -> np.ndarray:
    """Expected counts of a Poisson model with log-quadratic mean in k: the smooth outline of
    a quantised coefficient histogram."""
    x = np.stack([np.ones_like(k, dtype=np.float64), k / k.max(), (k / k.max()) ** 2], axis=1)
    return _poisson_fit(counts, x, iterations)[0]


def _lattice_count(x: np.ndarray, step: np.ndarray, noise: float) -> np.ndarray:
    """Expected number of the points m * step (m = 0, 1, ...), each blurred by Gaussian noise
    of spread `noise`, that lie below x >= 0.  With steps of at least 4 spreads (2 for
    DQ_NOISE) only the two lattice points nearest x are partly below it, all those under
    them wholly."""
    m = np.floor(x / step)
    a = (x - m * step) / noise
    return m + ndtr(a) + ndtr(a - step / noise)


def last_steps(ac: np.ndarray, count: int = DQ_FREQUENCIES, largest: int = 64) -> np.ndarray:
    """The last compression's quantiser of each of the first `count` AC frequencies (zig-zag),
    read from the coefficients themselves, whatever table the encoder used (a camera's, not
    only IJG's): the largest step up to `largest` whose multiples the clearly non-zero
    coefficients sit on (`_on_multiples`) at least 90 % as often as on the best step's.
    After a heavier first pass on the same grid, a frequency can read a multiple of the last
    step instead (the first pass's multiples land on it).  0 where fewer than 50
    coefficients are clearly non-zero."""
    steps = np.zeros(count)
    candidates = np.arange(1, largest + 1, dtype=np.float32)[:, None]
    columns = np.ascontiguousarray(ac[:, :count].T)     # a frequency's coefficients side by side
    for f in range(min(count, len(columns))):
        c = columns[f][np.abs(columns[f]) > CLEARLY_NON_ZERO]
        if len(c) < 50:
            continue
        c = c[::max(1, len(c) // 4000)]
        score = _on_multiples(c[None, :], candidates).mean(axis=1)
        steps[f] = candidates[np.nonzero(score >= 0.9 * score.max())[0][-1], 0]
    return steps


def double_quantisation(ac: np.ndarray | None, quality: int | None,
                        seen: np.ndarray | None = None) -> tuple[float, int | None]:
    """Evidence that the picture was JPEG-compressed before its last compression, on the same
    grid, and the quality of that first compression: (evidence, IJG quality or None).

    A first compression leaves each DCT coefficient near a multiple of its quantiser q1; the
    last one rounds those to multiples of q2, so the histogram of c / q2 counts how many
    multiples of q1 each of its bins caught: bins go empty (q1 > q2) or alternate in height
    (q1 < q2, not dividing q2) around the smooth outline a single compression gives
    (Lukas and Fridrich 2003; Popescu and Farid 2004 describe these periodic artifacts).

    The steps are read from the coefficients (`last_steps`, or `seen` when the caller has
    read them already).  The last table must be the IJG
    table of `quality` (the last quality, estimated) at DQ_MIN_AGREEING frequencies or more,
    else the test stays silent (a camera's own table is not misread as a modulation); the
    frequencies whose step read is q2 >= 2 or a multiple of it (a first step near a multiple
    of q2 leaves the values on that multiple) are tested.  For each of those among the first
    DQ_FREQUENCIES AC frequencies, the histogram of |c| / q2 (bins k >= 1 up to its 99th
    percentile, at least four) gets a log-quadratic Poisson outline; every IJG quality's q1
    predicts the bins' modulation (`_lattice_count`, multiples blurred by DQ_NOISE); the
    evidence is the best quality's log-likelihood gain over the plain outline per counted
    coefficient.  On 40 training crops each (ad hoc runs, not a committed output): at most 0.041 for single compressions at QF
    20-90, at most 0.12 for JPEGs with IJG tables moved by -1..+2 per step (as a camera's), 0.2
    or more for 65-88 % of first-heavier doubles (30/70, 30/80, 50/70, 50/90, 60/85, 70/90,
    20/50); a lighter first pass leaves little (70 then 40: ~0.003) and q2 a multiple of q1
    (50 then 10) nothing.  (0.0, None) when the test is silent.
    """
    if ac is None or quality is None:
        return 0.0, None
    last = _AC_STEPS[quality - 1]
    seen = last_steps(ac) if seen is None else seen
    agree = (last[:len(seen)] == seen) & (seen >= 2)
    if agree.sum() < DQ_MIN_AGREEING:
        return 0.0, None
    gain, counted = np.zeros(100), 0.0
    for f, (q2, read) in enumerate(zip(last, seen)):
        if q2 < 2 or read == 0 or read % q2 != 0:
            continue
        k = np.round(np.abs(ac[:, f]) / q2).astype(np.int64)
        k = k[k >= 1]
        if len(k) < 50 or np.percentile(k, 99) < 4:
            continue
        top = int(np.percentile(k, 99))
        bins = np.arange(1, top + 1, dtype=np.float64)
        counts = np.bincount(k, minlength=top + 1)[1:top + 1].astype(np.float64)
        outline = _fit_envelope(counts, bins)
        q1 = _AC_STEPS[:, f][:, None]                               # (100, 1)
        caught = (_lattice_count((bins + 0.5) * q2, q1, DQ_NOISE)
                  - _lattice_count((bins - 0.5) * q2, q1, DQ_NOISE))  # (100, bins)
        weight = np.where(q1 >= 2, np.maximum(caught * q1 / q2, 1e-3), 1.0)
        weight *= outline.sum() / (weight * outline).sum(axis=1, keepdims=True)
        gain += (counts * np.log(weight)).sum(axis=1)
        counted += counts.sum()
    best = int(np.argmax(gain))
    if counted == 0 or gain[best] <= 0:
        return 0.0, None
    # neighbouring qualities often share the steps read (49 and 50 do): the middle of the tie
    tied = np.flatnonzero(gain >= gain[best] - 1e-9 * abs(gain[best]))
    return float(gain[best] / counted), int(tied[len(tied) // 2]) + 1


LIGHT_NOISE = 0.35          # spread (DCT units) of a light first pass's multiples once decoded
LIGHT_DECISIVE = 40.0       # evidence (a deviance) from which `Detector.detect` calls a picture double
LIGHT_MODULATION = (0.7, 2.5)   # the fitted modulation, in lattices (a first pass gives about 1)
LIGHT_MIN_COUNT = 20        # the histogram is read out to the last |k| with this many a side
LIGHT_SIDE = 2048           # the central area (px a side) whose blocks the test reads
LIGHT_MAX_RATIO = 2 / 3     # first steps tried up to this share of the last one
LIGHT_NO_GAIN = 1e-6        # gains up to this are the fits' rounding: no first quality named


def _log_likelihood(counts: np.ndarray, mu: np.ndarray) -> float:
    return float((counts * np.log(np.maximum(mu, 1e-300)) - mu).sum())


def _lattice_share(q1, q2: int, low: int, high: int, noise: float = LIGHT_NOISE) -> np.ndarray:
    """For the bins k = low..high of a last quantiser q2 (values in [(k - 1/2) q2, (k + 1/2)
    q2)), how many multiples of q1, each blurred by Gaussian noise of spread `noise`, fall
    in each bin, relative to the q2 / q1 of an even spread.  The lattice is symmetric about
    0, so the count below any x is odd in x from `_lattice_count`'s count below |x|.  `q1`
    one step (bins,), or a sequence of them (len(q1), bins)."""
    steps = np.asarray(q1, np.float64)[..., None]
    edges = (np.arange(low, high + 2) - 0.5) * q2
    below = np.sign(edges) * (_lattice_count(np.abs(edges), steps, noise)
                              - _lattice_count(np.zeros(1), steps, noise))
    return np.maximum(np.diff(below, axis=-1) * steps / q2, 1e-3)


def _log_shares(q1s: list[int], q2: int, low: int, high: int, noise: float = LIGHT_NOISE) -> dict:
    """{q1: log `_lattice_share`} for each step of `q1s`, computed together."""
    return dict(zip(q1s, np.log(_lattice_share(q1s, q2, low, high, noise)))) if q1s else {}


DC_NOISE = 2.0          # spread (DCT units) of a decoded block's DC about its quantiser multiple
DC_STEP_LOCK = 0.5      # how tightly the DC values must sit on a step for it to be read as the last
DC_MIN_BIN = 5          # the DC histogram is read over its longest run of bins this full ...
DC_MIN_BINS = 20        # ... which must span this many bins
DC_SPIKE = 4.0          # a bin holding this many times its neighbours' mean is left out (a flat area)
DC_OUTLINE = 40         # at most this many B-splines (at least 4 bins apart) draw its outline


def _lock(values: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """For each step, how tightly `values` sit on its multiples: the length of the mean unit
    vector of their phases 2 pi value / step (1 all on them, about 0 spread evenly)."""
    phase = (2 * np.pi / steps)[:, None] * values
    return np.hypot(np.cos(phase).mean(axis=1), np.sin(phase).mean(axis=1))


def last_dc_step(dc: np.ndarray) -> int:
    """The last compression's DC step, read from the DC coefficients (`grid_coefficients`):
    the step from 3 to 255 on whose multiples they sit most tightly, 0 when none does.  How
    tightly: how far their phase 2 pi DC / q locks (`_lock`, over up to 1,000 of them evenly
    taken), which must reach DC_STEP_LOCK: nearly 1 for the
    last pass's step, about 0 for its multiples (whose multiples only some of the values are)
    and for any other step, less for its divisors, whose lattice the noise blurs more; the
    largest step within 3 % of the tightest (without noise, its divisors lock as well).  A
    decoded block's DC strays from its multiple by about DC_NOISE: a flat block's 64 pixels
    are rounded alike, so its DC lands on a multiple of 8 (on 8 training crops of 768 px, an
    ad hoc look: QF 10's step of 80 locks at 1.0, QF 30's 27 at 0.72-0.97, QF 70's 10 at
    0.58-0.94, QF 90's 3 at 0.08-0.68: the steps of light passes often go unread, and their
    lattices are as blurred)."""
    if dc is None or len(dc) == 0:
        return 0
    sample = np.asarray(dc, np.float32)[::max(1, len(dc) // 1000)]
    steps = np.arange(3, 256, dtype=np.float32)
    lock = _lock(sample, steps)
    if lock.max() < DC_STEP_LOCK:
        return 0
    return int(steps[np.flatnonzero(lock >= 0.97 * lock.max())[-1]])


def _outline_basis(n: int, spacing: int) -> np.ndarray:
    """A smooth outline's design over n bins: a constant and cubic B-splines with knots
    `spacing` bins apart (all but one, which the constant stands for: together they sum to 1)."""
    x = np.arange(n, dtype=np.float64)
    splines = []
    for knot in np.arange(-2 * spacing, n + 2 * spacing, spacing, dtype=np.float64):
        t = np.abs(x - knot) / spacing
        b = np.where(t < 1, 2 / 3 - t ** 2 + t ** 3 / 2, np.where(t < 2, (2 - t) ** 3 / 6, 0.0))
        if b.any():
            splines.append(b)
    return np.column_stack([np.ones(n)] + splines[1:])


def _longest_run(full: np.ndarray) -> tuple[int, int]:
    """(start, length) of the longest run of True in `full`."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], full.astype(np.int8), [0]])))
    starts, ends = edges[::2], edges[1::2]
    if len(starts) == 0:
        return 0, 0
    i = int(np.argmax(ends - starts))
    return int(starts[i]), int(ends[i] - starts[i])


def _first_steps(q2: int) -> list[int]:
    """The first steps a lighter first pass is tried at under a last step q2: 2 to
    LIGHT_MAX_RATIO q2, those that do not divide q2 (whose multiples fill every bin alike)."""
    return [q1 for q1 in range(2, int(LIGHT_MAX_RATIO * q2) + 1) if q2 % q1]


def dc_first_gains(dc: np.ndarray | None) -> dict[int, float]:
    """The DC coefficients' evidence of a lighter first compression on the same grid, by first
    step: the AC frequencies' test of `light_first_pass`, on the DC.  A block's mean takes any
    value, so a single compression's DC histogram (round(DC / q2), q2 read by `last_dc_step`)
    follows the picture's smooth spread of block means, while after a first pass at a step q1
    that does not divide q2, each bin holds one or two (or two or three ...) of its multiples
    in turn, and its count follows: QF 50 (DC step 16) then QF 30 (27) leaves every third bin
    at half the others' -- a far plainer trace than the AC coefficients', whose histograms
    crowd the first bins.  The histogram is read over its longest run of bins holding
    DC_MIN_BIN values or more (a flat area piles one bin up; a gap leaves bins empty), at least
    DC_MIN_BINS of them, without the bins that hold DC_SPIKE times their neighbours' mean;
    its outline is a Poisson model whose log mean is a cubic B-spline (`_outline_basis`, at
    most DC_OUTLINE knots, 4 bins apart or more), and the first steps of `_first_steps` add
    their lattice's share (`_lattice_share`, blurred by DC_NOISE) as `light_first_pass`
    does (`_lattice_gains`).  Returns {first step: gain}, empty when nothing could be read."""
    if dc is None or len(dc) == 0:
        return {}
    q2 = last_dc_step(dc)
    if not _first_steps(q2):
        return {}
    k = np.round(np.asarray(dc, np.float64) / q2).astype(np.int64)
    counts = np.bincount(k - k.min()).astype(np.float64)
    start, length = _longest_run(counts >= DC_MIN_BIN)
    if length < DC_MIN_BINS:
        return {}
    counts, low = counts[start:start + length], int(k.min()) + start
    left = np.concatenate([counts[1:2], counts[:-1]])        # each bin's neighbours (the ends
    right = np.concatenate([counts[1:], counts[-2:-1]])      # count their one neighbour twice)
    kept = counts <= DC_SPIKE * (left + right) / 2
    outline = _outline_basis(length, max(4, -(-length // DC_OUTLINE)))[kept]
    shares = {q1: share[kept] for q1, share in
              _log_shares(_first_steps(q2), q2, low, low + length - 1, DC_NOISE).items()}
    return _lattice_gains(counts[kept], outline, shares)


def _lattice_gains(counts: np.ndarray, outline: np.ndarray, shares: dict) -> dict[int, float]:
    """{first step q1: gain} for a histogram `counts`: a Poisson model of log mean `outline`
    (a design whose first column is the constant), then again with the log of q1's lattice
    share of each bin (`shares`: {q1: that column}) added at a free weight, for every q1 at
    once.  A q1 counts when its weight is within LIGHT_MODULATION; its gain is the deviance
    gain (twice the log-likelihood gain) divided by the lattice model's residual deviance per
    degree of freedom when that is above 1 (the quasi-Poisson test)."""
    if not shares:
        return {}
    plain = _log_likelihood(counts, _poisson_fit(counts, outline, 30, 1e-8)[0])
    saturated = _log_likelihood(counts, counts)
    dof = max(1, len(counts) - outline.shape[1] - 1)
    x = np.stack([np.column_stack([outline, share]) for share in shares.values()])
    gains = {}
    for q1, mu, beta in zip(shares, *_poisson_fit(counts, x, 30, 1e-8)):
        fitted = _log_likelihood(counts, mu)
        if LIGHT_MODULATION[0] <= beta[-1] <= LIGHT_MODULATION[1] and np.isfinite(fitted):
            dispersion = max(1.0, 2 * (saturated - fitted) / dof)
            gains[q1] = max(0.0, 2 * (fitted - plain) / dispersion)
    return gains


GRID_DC_STEPS = np.arange(4, 41, dtype=np.float32)   # first DC steps looked for on another grid
GRID_DC_SAMPLE = 600      # block means read on each grid (evenly taken)
GRID_DC_LAST_STEP = 13    # the last DC step must be this fine (QF 60 or lighter): a heavier pass wipes the lattice out
GRID_DC_DECISIVE = 6.0    # z-score from which, on the grid `features.second_grid` points to, it is double


def quality_of_dc_step(step: int) -> int | None:
    """The IJG quality whose luma DC step is `step` (the middle one where several share it:
    16 is QF 49-51's, so 50), None where none has it."""
    qualities = np.flatnonzero(_TABLES[:, 0] == step) + 1
    return int(qualities[len(qualities) // 2]) if len(qualities) else None


def other_grid_dc(image: np.ndarray, last: tuple[int, int], last_step: int,
                  max_side: int = READ_SIDE) -> tuple[float, tuple[int, int], int]:
    """A first compression's lattice in the block means of another grid: a JPEG cropped and
    saved again.  The first pass left every block mean of its own grid on a multiple of its
    DC step (16 at QF 50); a last pass on another grid moves them by what it rounds away
    there, which at QF 60-85 still leaves the lattice standing (`second_grid`'s AC
    periodicity needs QF 85 or lighter).  On the central area (up to max_side px and a block
    more a side; every grid's block sums from one integral image of it), for each of the 49 grids that differ from the `last`
    one in both directions (those sharing its rows or columns see its own lattice) and each
    step of GRID_DC_STEPS: how far the phases 2 pi DC / step of GRID_DC_SAMPLE block means
    lock (`_lock`), as a z-score against the 49 grids at that step (median, and
    1.4826 median absolute deviations + 0.01).  Steps of which the last DC step is 1, 2, 4 or
    8 times are left out: a flat area's means on a shifted grid average 2 or 4 of its blocks,
    whose lattice is the last step's halves and quarters.  `last_step`: the last DC step
    (`last_dc_step`); nothing is read unless it is 1 to GRID_DC_LAST_STEP (a heavier last pass
    moves the means by more than the lattice holds).  Returns (the largest z-score, its grid,
    its step); (0, last, 0) when nothing was read.  Alone it does not tell singles well
    enough (ad hoc on training crops: recropped doubles' medians 5.5-9, singles up to 12), so
    `Detector` takes it only where `features.second_grid` names the same grid;
    `ai-research/other_grid_thresholds.py` measures it so (GRID_DC_DECISIVE)."""
    if not 0 < last_step <= GRID_DC_LAST_STEP:
        return 0.0, last, 0
    h, w = image.shape[:2]
    y0, x0 = ((h - min(h, max_side + 8)) // 16) * 8, ((w - min(w, max_side + 8)) // 16) * 8
    area = image[y0:y0 + max_side + 8, x0:x0 + max_side + 8]
    ch, cw = area.shape[:2]
    if ch < 24 or cw < 24:
        return 0.0, last, 0
    y = luma(area) if area.ndim == 3 else area.astype(np.float32)
    total = np.zeros((ch + 1, cw + 1))
    total[1:, 1:] = y.cumsum(axis=0, dtype=np.float64).cumsum(axis=1)

    def means(dx: int, dy: int) -> np.ndarray:
        ys, xs = np.arange(dy, ch - 7, 8)[:, None], np.arange(dx, cw - 7, 8)[None, :]
        sums = total[ys + 8, xs + 8] - total[ys, xs + 8] - total[ys + 8, xs] + total[ys, xs]
        dc = (sums / 8 - 1024).ravel().astype(np.float32)
        return dc[::max(1, len(dc) // GRID_DC_SAMPLE)]

    grids = [(dx, dy) for dy in range(8) for dx in range(8) if dx != last[0] and dy != last[1]]
    lock = np.stack([_lock(means(*grid), GRID_DC_STEPS) for grid in grids]).astype(np.float64)
    middle = np.median(lock, axis=0)
    z = (lock - middle) / (1.4826 * np.median(np.abs(lock - middle), axis=0) + 0.01)
    z[:, np.isin(GRID_DC_STEPS * np.array([[1], [2], [4], [8]]), last_step).any(axis=0)] = 0.0
    i, j = np.unravel_index(int(np.argmax(z)), z.shape)
    return float(z[i, j]), grids[i], int(GRID_DC_STEPS[j])


def light_first_pass(ac: np.ndarray | None, seen: np.ndarray | None = None,
                     count: int = DQ_FREQUENCIES,
                     dc: np.ndarray | None = None) -> tuple[float, int | None]:
    """Evidence of a first compression lighter than the last one, on the same grid: a camera's
    JPEG (steps of 1-4) resaved at an ordinary quality (steps of 5-12), or any JPEG resaved a
    few qualities lower (QF 85 then 75: steps of 3-7 then 5-12).  Where the last step q2 is not
    a multiple of the first q1, each bin of c / q2 caught two or three of the first pass's
    multiples of q1 in turn (q1 = 3, q2 = 7: 3, 2, 2, 3, 2, 2, ... from 0 outwards), or one or
    two (q1 = 3, q2 = 5: 1, 2, 1, 2, ...), so the histogram of the last quantised values
    alternates around its smooth outline, a pattern fixed by q1 and q2 (the periodic
    artifacts of Popescu and Farid 2004, for q1 < q2).  A single compression's histogram has
    only the outline.

    For each of the first `count` AC frequencies whose last step was read (`last_steps`, or
    `seen`) as q2 >= 3: the signed histogram of round(c / q2) over -top..top (top: the last |k|
    with LIGHT_MIN_COUNT coefficients a side, at most 12; at least 4, which leaves the models
    a degree of freedom) is fitted by a Poisson model whose log mean is smooth (1, k, |k|,
    k^2, |k|^3 and the zero bin apart), then with the log of the lattice's share
    (`_lattice_share`) added with a free weight, for every q1 from 2 to 2 q2 / 3
    (LIGHT_MAX_RATIO) that does not divide q2.  A fit counts when the weight is within
    LIGHT_MODULATION (about 1 is what a lattice does; much more or less is a histogram the
    outline cannot follow).  Its deviance
    gain (twice the log-likelihood gain) is divided by the lattice model's residual deviance
    per degree of freedom when that is above 1 (the quasi-Poisson test: a histogram that
    neither model follows closely -- a synthetic picture's many peaks, or the hundred
    thousand coefficients of a large photograph, whose outline is no exact cubic -- counts for
    less rather than all or nothing); the frequency's evidence is the best q1's.  Returns
    (evidence, first quality): the evidence is their sum, a likelihood-ratio statistic, which
    for a single compression stays about as small whatever the picture's size, and grows with
    the number of blocks where a first pass left its lattice -- so `Detector` reads it on up
    to LIGHT_SIDE px a side, where the other statistics read READ_SIDE: the smooth, dark or
    out-of-focus areas of a photograph fill the first bins only.  The first quality is the
    IJG quality whose steps at those frequencies gather the most of the gains (each frequency
    counts the gain of the step that quality has there, 0 where that step was not tried or
    not kept; the middle of a tie), None when no gain over LIGHT_NO_GAIN was kept: an
    estimate, since cameras use tables of their own.  With `dc`, the blocks' DC coefficients (`grid_coefficients(...,
    with_dc=True)`), the DC counts as one frequency more (`dc_first_gains`: its histogram
    follows the spread of block means, not a peak at 0, and keeps a first pass's lattice
    where a heavy last pass leaves the AC frequencies a few bins: QF 50 then 30), each IJG
    quality gathering the gain of its own DC step.  `ai-research/light_first_thresholds.py`
    measures both on training crops (its results file has the numbers that set LIGHT_DECISIVE) and
    `ai-research/eval_real_jpegs.py` on real JPEG files resaved.
    """
    if ac is None or len(ac) == 0:
        return 0.0, None
    seen = last_steps(ac, count) if seen is None else seen
    total, by_quality = 0.0, np.zeros(len(_AC_STEPS))
    columns = np.ascontiguousarray(ac[:, :min(count, len(seen))].T)
    for f, column in enumerate(columns):
        q2 = int(seen[f])
        if q2 < 3:
            continue
        # the histogram of round(c / q2) over -13..13, the ends holding all beyond
        k = np.clip(np.round(column / q2), -13, 13) + 13
        signed = np.bincount(k.astype(np.intp), minlength=27)
        per_side = (signed[13:26] + signed[13::-1][:13]) / 2
        per_side[0] = signed[13] / 2
        busy = np.flatnonzero(per_side >= LIGHT_MIN_COUNT)
        top = int(min(12, busy.max() if len(busy) else 0))
        if top < 4:
            continue
        counts = signed[13 - top:14 + top].astype(np.float64)
        u = np.arange(-top, top + 1) / top
        smooth = np.stack([np.ones_like(u), u, np.abs(u), u ** 2, np.abs(u) ** 3,
                           (u == 0).astype(np.float64)], axis=1)
        gains = _lattice_gains(counts, smooth, _log_shares(_first_steps(q2), q2, -top, top))
        total += max(gains.values(), default=0.0)
        by_quality += [gains.get(int(step), 0.0) for step in _AC_STEPS[:, f]]
    gains = dc_first_gains(dc)
    total += max(gains.values(), default=0.0)
    by_quality += [gains.get(int(step), 0.0) for step in _TABLES[:, 0]]
    if by_quality.max() <= LIGHT_NO_GAIN:
        return total, None
    tied = np.flatnonzero(by_quality >= by_quality.max() * (1 - 1e-9))
    return total, int(tied[len(tied) // 2]) + 1


COARSER_DECISIVE = 3    # frequencies read coarser than a JPEG file's own table: double


def coarser_than_table(seen: np.ndarray, table) -> tuple[int, int | None]:
    """A JPEG file's coefficients against its own luma table (64 steps, natural order, as
    the file holds it), or a picture's against the table that gives its blocks back
    (`exact_last_table`): (how many of the first AC frequencies read a step (`last_steps`,
    `seen`) that is a multiple, twice or more, of the table's step there; the IJG quality
    whose table matches most of those reads, or None).

    On the last compression's grid every coefficient sits on a multiple of the file's own
    steps; when it sits on multiples of coarser ones, an earlier, heavier compression on the
    same grid left them there, and a lighter last pass (QF 97 after QF 50) did not move them
    off.  The histogram test (`double_quantisation`) cannot see that case: from the pixels
    alone the coarser steps look like the last table.  Only clear reads count (>= 5; small
    reads can be noise).  COARSER_DECISIVE frequencies or more make a file double: in ad hoc
    runs on 35 training views a case (and the same on 21 validation views), single
    compressions at QF 60-99, IJG or camera-like tables, read none coarser on any view;
    doubles heavier-first on the same grid read 3 or more in 40-97 % of training views
    ((50, 70) 40 %, (50, 97) 94 %, (70, 95) 97 %).  `make eval-detector` measures it on
    validation files."""
    t = np.asarray(table, np.float64).reshape(64)[ZIGZAG[1:]][:len(seen)]
    coarse = (seen >= 5) & (seen >= 2 * t) & (np.mod(seen, np.maximum(t, 1)) == 0)
    count = int(coarse.sum())
    if count == 0:
        return 0, None
    matches = (_AC_STEPS[:, :len(seen)][:, coarse] == seen[coarse]).sum(axis=1)
    if matches.max() == 0:
        return count, None
    tied = np.flatnonzero(matches == matches.max())
    return count, int(tied[len(tied) // 2]) + 1


def quality_from_pixels(image: np.ndarray, offset: tuple[int, int] = (0, 0),
                        max_side: int = READ_SIDE) -> int | None:
    """Estimate the (last) JPEG quality of a decoded image (RGB or luma) from the DCT
    coefficients on its grid (`quality_from_coefficients`), transposed when the picture was
    turned a quarter since (`transposed`).  None when the image is too small or too flat.
    Only meaningful for a compressed image."""
    reading = grid_reading(image, offset, max_side)
    if reading is None:
        return None
    if transposed(reading.ac):      # read the way it was compressed, as the detector does
        reading = transposed_reading(reading)
    return quality_from_coefficients(reading.ac, dc=reading.dc)


LARGE_COEFFICIENT = 4.0     # |c| above which an AC coefficient is not the decoder's rounding around 0
LIGHT_TABLE_MIN_FIT = 0.75  # share of those a table matching no clear step read must fit
LIGHTER_LAST_FIT = 0.9      # share of them a lighter table must fit where it cannot by chance ...
LIGHTER_LAST_MIN_FIT = 0.7  # ... or this share, and LIGHTER_LAST_MARGIN more of them than the heavier table
LIGHTER_LAST_MARGIN = 0.1
LIGHTER_LAST_COMPARED_FROM = 25   # ... when the heavier table is of this quality or lighter
LIGHTER_LAST_MIN = 250      # large coefficients it is judged on


def quality_from_coefficients(ac: np.ndarray, seen: np.ndarray | None = None,
                              scores: TableScores | None = None,
                              dc: np.ndarray | None = None) -> int | None:
    """The quality whose table the AC coefficients (n, 63, zig-zag order) fit best.

    On the compression grid every coefficient sits near a multiple of its quantiser.  For each
    candidate quality, the share of the clearly non-zero coefficients that lie within a
    tolerance (min(1, q/4), so chance stays at or under one half) of a multiple of that
    quality's quantiser is measured.  The lowest quality scoring at least 90 % of the best
    is the coarsest table that fits (a finer table that divides the true one fits as well, a
    coarser one does not); the best fit among it and the next five settles near-identical
    neighbouring tables.  None when fewer than 50 coefficients are clearly non-zero.  Then
    three checks: against the steps read frequency by frequency (`_checked_against_steps`),
    for a heavy table whose multiples the decoder's staircase moved (`_heavier_under_staircase`),
    and for a lighter table that came last (`_lighter_last`).  With the blocks' DC
    coefficients (`dc`, from `grid_coefficients`), last, whether the table read gives the
    picture's blocks back to the pixel, else the coarsest nearby or lighter one that does
    (`exact_last_table`).

    `ai-research/eval_quality.py` measures the reading on random crops of the validation
    pictures (`results/quality_eval.md`).  Its thresholds were set on training crops (ad hoc:
    the last grids of the crops that `eval_quality.py --split train` draws with seeds 5, 6
    and 7, 1,000-2,000 each).  `scores`: `table_scores(ac)` when the caller has it already.
    """
    scores = table_scores(ac) if scores is None else scores
    if scores is None:
        return None
    values, freq, score = scores
    seen = last_steps(ac) if seen is None else seen
    lowest = int(np.argmax(score >= 0.9 * score.max()))
    # neighbouring qualities share most quantisers: take the best fit just above the lowest
    best = lowest + int(np.argmax(score[lowest:lowest + 6]))
    large = np.abs(values) > LARGE_COEFFICIENT
    best = _checked_against_steps(best, score, seen, values[large], freq[large])
    best = _heavier_under_staircase(best, score, values[large], freq[large], ac, seen)
    best = _lighter_last(best, score, values[large], freq[large])
    return (best if dc is None else exact_last_table(best, ac, dc)[0]) + 1


def _fit(values: np.ndarray, freq: np.ndarray, quality_index: int) -> float:
    """The share of `values` (AC coefficients at zig-zag frequencies `freq`) on multiples of
    the table of quality `quality_index` + 1 (`_on_multiples`)."""
    return float(_on_multiples(values, _AC_STEPS[quality_index, freq]).mean())


def _checked_against_steps(best: int, score: np.ndarray, seen: np.ndarray, large: np.ndarray,
                           large_freq: np.ndarray) -> int:
    """The table index `best` checked against the steps read frequency by frequency (`seen`,
    from `last_steps`); `score`: every table's fit, `large`: the coefficients over
    LARGE_COEFFICIENT (at frequencies `large_freq`).

    A picture with few busy blocks can score a fine table (QF 95, steps of 1) best overall
    while its low frequencies plainly read steps of 20 or 30.  When the chosen table matches
    none of the steps read (>= 2) and some read clearly (>= 5; smaller reads can be noise),
    the qualities whose tables match the most clear reads are taken instead, the best scoring
    among them.  (After a heavier first pass some steps read are its multiples; the true last
    table still matches others, so it stands.)

    And a table that matches small reads only, while others match clear ones, must fit the
    large coefficients too: the last quantisation put every coefficient on its lattice.  A
    heavy compression's decoder rounds a smooth block's pixels in a staircase that leaves AC
    coefficients of about 2 (`ai-research/notes/c-tiny-log.md`), which a light table (steps
    of 1-3) fits and a heavy one does not; the light table then fits the large coefficients,
    the heavy steps' odd multiples, no better than chance allows.  When it fits under
    LIGHT_TABLE_MIN_FIT of them and the table matching the clear reads fits more, that
    table is taken.  (After a heavier first pass at the same grid the light last table fits
    the large ones: its quantisation came last.)  On the crops of seed 5 (2,000), 57 reads
    came to this rule; it took the heavier table 9 times, 8 of them within 2 of the last
    quality, the ninth wrong either way; the 40 light tables within 2 of it fitted 0.65 or
    more of the large coefficients, all but one of them more than the heavier table did."""
    tables = _AC_STEPS[:, :len(seen)]
    read, clear = seen >= 2, seen >= 5       # small reads can be noise (QF 95's 1s read as 3)
    matches = (tables[:, clear] == seen[clear]).sum(axis=1)    # (100,)
    if matches.max() == 0:
        return best
    candidates = np.flatnonzero(matches == matches.max())
    heavy = int(candidates[np.argmax(score[candidates])])
    if not (tables[best, read] == seen[read]).any():
        return heavy
    if matches[best] == 0 and len(large) >= 30:
        fit = _fit(large, large_freq, best)
        if fit < LIGHT_TABLE_MIN_FIT and _fit(large, large_freq, heavy) > fit:
            return heavy
    return best


STAIRCASE_TOLERANCE = 3.5  # how far (DCT units) the staircase moves a heavy step's non-zero multiples at most
STAIRCASE_FIT = 0.95       # share of the large coefficients a heavier table must fit within it
STAIRCASE_KEEP_DQ = 0.05   # double-quantisation evidence at the lighter table that keeps it
STAIRCASE_MAX_QUALITY = 50  # the heavier tables looked at: QF 50 and heavier (steps of 10 and more)


def _staircase_fits(values: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Whether each value sits on a multiple of its quantiser q as a heavy compression's
    decoded coefficients do: within `_tolerance` of 0 (as `_on_multiples`), or, off 0, within
    q/8 (at least 1, at most STAIRCASE_TOLERANCE, never over q/4) of a non-zero multiple.
    Chance: about a quarter for steps of 8-28, less for larger ones."""
    off = _off_multiples(values, q)
    spread = np.minimum(q / 4.0, np.clip(q / 8.0, 1.0, STAIRCASE_TOLERANCE))
    return (off < _tolerance(q)) | ((off < spread) & (np.abs(values) >= q / 2))


def _heavier_under_staircase(best: int, score: np.ndarray, large: np.ndarray,
                             large_freq: np.ndarray, ac: np.ndarray, seen: np.ndarray) -> int:
    """The table index `best`, or a far heavier table that the large coefficients sit on once
    the decoder's staircase is allowed for.

    A heavily compressed smooth picture (a sky at QF 10-30) holds few non-zero coefficients,
    and the decoder's rounding of its ramps to whole numbers moves them off their steps'
    multiples by 1.5-3 units (28.5 or 29.5 where the step is 27; the rounding errors of a
    block's 64 pixels add up along a ramp), beyond the tolerance of 1 that the tables are
    scored with; a light table (steps of 1-4) then fits them better, and the picture reads
    QF 84-98 (`results/quality_eval.md` listed such reads before this check: single 11 read
    98 three times, single 22 read 84).
    Yet a light table that came last fits the large coefficients well; here it fits them
    under LIGHT_TABLE_MIN_FIT.  So when the table read fits under that share of the (at least
    30) coefficients over LARGE_COEFFICIENT, the heavier tables (6 qualities or more, and
    STAIRCASE_MAX_QUALITY or heavier: with steps under 8 the spread is the tolerance of 1
    anyway, and a QF 91 sky's few large coefficients, which its own steps of 2-3 fit at 0.5-0.6
    under the decoder's noise, fitted QF 83's 0.95) are scored on them with the staircase's
    spread (`_staircase_fits`), and the coarsest fitting STAIRCASE_FIT of them (the best
    scoring of it and the next five, as the read itself chooses) is taken.  Unless the
    double-quantisation test, given the lighter table, finds a heavier first pass
    (STAIRCASE_KEEP_DQ, above the 0.041 singles scored at most: see `double_quantisation`):
    the lighter table then came last over a heavy first pass, whose multiples it moved by at
    most half its steps.  A heavy first pass that the test does not
    find is read as its quality (QF 14 then 89 reads 14): the picture shows that pass's
    blocking, which the restorer's strength should answer.  `make staircase-check` measures
    it on training crops of 128-1024 px (`results/staircase_check.md`): of 2,744 singles at
    QF 10-40 read, 61 were more than 10 QF off without it and 22 with it; of 1,424 same-grid
    doubles at a last QF of 50-95, 9 reads changed, mostly from near the last quality to the
    first's (59 / 21 and 13 before `exact_last_table` joined the read, which the script
    reads with it either way).  Singles at QF 60-100 and camera-like tables read as before
    (ad hoc, `ai-research/notes/c-tiny-log.md`)."""
    if best < 6 or len(large) < 30 or _fit(large, large_freq, best) >= LIGHT_TABLE_MIN_FIT:
        return best
    heavier = min(best - 5, STAIRCASE_MAX_QUALITY)
    q = _AC_STEPS[:heavier, large_freq]
    fits = _staircase_fits(large, q).mean(axis=1)      # (tables, coefficients) by broadcasting
    if fits.max() < STAIRCASE_FIT:
        return best
    if double_quantisation(ac, best + 1, seen)[0] >= STAIRCASE_KEEP_DQ:
        return best
    lowest = int(np.argmax(fits >= STAIRCASE_FIT))
    return lowest + int(np.argmax(score[lowest:min(lowest + 6, heavier)]))


def _lighter_last(best: int, score: np.ndarray, large: np.ndarray, large_freq: np.ndarray) -> int:
    """The table index `best`, or a clearly lighter table that came after it.

    After a heavier first pass on the same grid and a light last one, the first table fits
    the coefficients nearly as well as the last (its multiples moved by a small step at
    most), and being the coarser it is chosen: (30, 93) read as 30.  But the last
    quantisation put every coefficient on its own lattice, also where the first table's
    step is no multiple of its step; there a single compression's coefficients sit on the
    heavier table's multiples, and on the lighter one's only by chance (about half the time
    for steps of 1-3).  So the best-scoring table at least 6 qualities lighter is taken
    when, on at least LIGHTER_LAST_MIN coefficients over LARGE_COEFFICIENT at such
    frequencies, it fits LIGHTER_LAST_FIT of them, or LIGHTER_LAST_MIN_FIT and
    LIGHTER_LAST_MARGIN more of them than the heavier table does there (a lighter table's
    multiples a step of 1-3 from the heavier one's fit both; the comparison is what tells
    when the lighter one fits less than 0.9).  The comparison is made when the heavier
    table is of quality LIGHTER_LAST_COMPARED_FROM or lighter: under heavier steps the
    decoder's staircase on a smooth block shifts its lowest coefficients by more than the
    tolerance of 1 (a sky at QF 20: 2,594 coefficients of 28.5 where the step is 30), off
    the heavier table's multiples and onto a lighter one's.  On training crops (ad hoc,
    `ai-research/notes/c-tiny-log.md`: seeds 5 and 6, 40 crops of at most 768 px, seed 7, 60
    of at most 1,024 px; singles at QF 10-99 and same-grid doubles) no single read right
    before changed (one QF 90 read too heavy became right), and (30, 93), (60, 95) and
    (80, 95) were read right 2-50 % of the time with the first rule alone and 60-72 % with
    both."""
    lighter = np.arange(best + 6, 100)
    if len(lighter) == 0:
        return best
    light = int(lighter[np.argmax(score[lighter])])
    apart = (_AC_STEPS[best] % _AC_STEPS[light] != 0)[large_freq]
    if apart.sum() < LIGHTER_LAST_MIN:
        return best
    values, freq = large[apart], large_freq[apart]
    fit = _fit(values, freq, light)
    if fit >= LIGHTER_LAST_FIT:
        return light
    compared = best + 1 >= LIGHTER_LAST_COMPARED_FROM and fit >= LIGHTER_LAST_MIN_FIT
    return light if compared and fit >= _fit(values, freq, best) + LIGHTER_LAST_MARGIN else best


EXACT_SAMPLE = 2000     # blocks (evenly taken) the exact check decodes
EXACT_SCREEN = 200      # of them, a first look at each other table
EXACT_MIN = 0.9995      # share of the pixels a table must give back to be the last one
EXACT_HEAVIER = 5       # tables this much heavier than the read are tried too
EXACT_REFINE = 3        # rounds of moving the coefficients of blocks that do not come back
EXACT_LIGHTEST = 92     # the lightest table taken: steps of 1 (QF 93 up) can give back nearly anything


def _gives_back(coefficients: np.ndarray, pixels: np.ndarray, index: int) -> float:
    """The share of `pixels` (n, 64: the decoder's Y, level-shifted coefficients'
    blocks rounded) that the IJG table of quality index + 1 gives back: each block's
    `coefficients` (n, 64, natural order) quantised with it and decoded as a decoder does
    (`idct.islow`).  Rounding recovers the quantised values only where the decoder's rounding
    (about 0.3) stays under half a step, so the blocks that do not come back have their
    coefficients moved by their residual's DCT and are quantised again, EXACT_REFINE times."""
    table = _TABLES[index].astype(np.float64)        # natural order, as `coefficients`
    k = np.round(coefficients / table)
    back = islow((k * table).reshape(-1, 8, 8)).reshape(-1, 64).astype(np.float64)
    for _ in range(EXACT_REFINE):
        off = np.flatnonzero((back != pixels).any(axis=1))
        if len(off) == 0:
            break
        residual = (pixels[off] - back[off]) @ _BLOCK_PIXELS.T
        k[off] = np.round((k[off] * table + residual) / table)
        back[off] = islow((k[off] * table).reshape(-1, 8, 8)).reshape(-1, 64)   # only those decoded again
    return float((back == pixels).mean())


def decoded_blocks(ac: np.ndarray, dc: np.ndarray, sample: int = EXACT_SAMPLE):
    """(coefficients (m, 64, natural order), pixels (m, 64)) of at most `sample` blocks
    evenly taken from `grid_coefficients`' AC (zig-zag) and DC ones: each block's whole
    coefficients, and its pixels as the decoder left them (the luma rounded: its Y plane)."""
    step = max(1, len(ac) // sample)
    coefficients = np.empty((len(ac[::step]), 64))
    coefficients[:, 0] = dc[::step]
    coefficients[:, ZIGZAG[1:]] = ac[::step]
    return coefficients, np.clip(np.round(coefficients @ _BLOCK_PIXELS + 128), 0, 255)


def exact_last_table(best: int, ac: np.ndarray, dc: np.ndarray) -> tuple[int, bool]:
    """(The table index `best`, or the table that gives the picture's blocks back; whether
    the table returned gives them back, EXACT_MIN of the pixels).

    The luma of a decoded picture's R, G, B, rounded, is the decoder's Y plane
    (`features.WHOLE_LUMA_LATTICE`), and the decoder made it from whole-number quantised
    coefficients with its own inverse DCT (`idct.islow`, bit for bit).  So the last table
    gives every block back to the pixel: quantised with it and decoded, a block comes back
    unchanged (the JPEG compatibility of Fridrich, Goljan and Du, 2001; this search is our
    own).  A heavier table does not, nor, after a heavier first pass and a lighter last one,
    the first pass's table, which the coefficients still fit best within the tolerances
    (`_lighter_last` catches some: (30, 93)); a finer table that divides the last one, or
    whose fine steps can reproduce it, does.  So when the table read gives back under
    EXACT_MIN of the pixels of EXACT_SAMPLE blocks, the coarsest table from EXACT_HEAVIER
    qualities heavier up to EXACT_LIGHTEST that gives back EXACT_MIN of them is taken (each
    first tried on EXACT_SCREEN blocks, which must all come back); none, and the read
    stands.  A read far too light stays so, or goes lighter still (a QF 10 crop read 20 can
    become 50, QF 10 lying outside the tables tried; looking from QF 1 instead, with filters
    to keep it fast, lost more than it mended: ad hoc, `ai-research/notes/c-tiny-log.md`;
    `make eval-quality` and `make staircase-check` measure the check as served).  Not lighter
    than EXACT_LIGHTEST: tables with steps of 1 (QF 93 up) rarely give back their own
    pictures (rounding cannot recover those steps' values under the decoder's rounding),
    and their fine steps can give back a heavier table's blocks (ad hoc, in the log), which
    would read a picture that another decoder (another inverse DCT) made far too light.  A
    picture turned since is checked as it is read, the way it was compressed
    (`transposed_reading`): its blocks are the decoder's again, mirrored at most, and
    libjpeg's inverse DCT gives mirrored blocks back mirrored.  A camera's own table gives
    back no IJG table's pixels and its read stands.  Blocks with clipped pixels are left out by `grid_coefficients`."""
    coefficients, pixels = decoded_blocks(ac, dc)
    if len(pixels) == 0:
        return best, False
    if _gives_back(coefficients, pixels, best) >= EXACT_MIN:
        return best, True
    screen = slice(0, len(pixels), max(1, len(pixels) // EXACT_SCREEN))
    for index in range(max(0, best - EXACT_HEAVIER), EXACT_LIGHTEST):
        if (index != best and _gives_back(coefficients[screen], pixels[screen], index) == 1.0
                and _gives_back(coefficients, pixels, index) >= EXACT_MIN):
            return int(index), True
    return best, False


# Turned pictures.  A quarter turn after the last compression (a portrait photograph shown
# upright from its EXIF orientation, or any picture rotated by 90 degrees, or mirrored across
# a diagonal) swaps the rows and columns of every 8x8 block, so its frequency (u, v) becomes
# (v, u).  The JPEG tables are not symmetric (IJG's base table has 11 at (0, 1) and 12 at
# (1, 0), 10 at (0, 2) and 14 at (2, 0)), so the coefficients fit their table clearly better
# one way round.  _TRANSPOSE: the zig-zag position (0..62 among the AC ones) of each AC
# frequency's transpose, so ac[:, _TRANSPOSE] are the coefficients of the transposed picture.
_ZIGZAG_POSITION = np.argsort(ZIGZAG)
_TRANSPOSE = np.array([_ZIGZAG_POSITION[(n % 8) * 8 + n // 8] - 1 for n in ZIGZAG[1:]])
TURNED_MARGIN = 0.15     # table fit gained by transposing, from which a picture counts as turned
TURNED_MIN_READ = 500    # clearly non-zero AC coefficients needed to tell


def best_table_fit(ac: np.ndarray, scores: TableScores | None = None) -> float | None:
    """`table_fit` of the AC coefficients at the quality whose table they fit best (None when
    fewer than 50 are clearly non-zero): the same at-most-20000 coefficients scored against
    all 100 IJG tables at once (`table_scores`, or `scores` when the caller has it)."""
    scores = table_scores(ac) if scores is None else scores
    if scores is None:
        return None
    return float((scores.score - _CHANCE[:, scores.freq].mean(axis=1)).max())


def turn_gain(ac: np.ndarray | None, scores: TableScores | None = None) -> float | None:
    """How much better the picture whose AC coefficients these are (from `grid_coefficients`)
    fits an IJG table with its rows and columns swapped back: `best_table_fit` transposed
    minus as they are.  None when either has nothing to measure.

    Each way round gets its best table, so neither is favoured: fits compared at the quality
    `quality_from_coefficients` read each way (as first shipped) made a misread the gain,
    when a smooth upright QF 50 picture read as 96 (steps of about 2 the decoder's rounding
    leaves) fitted that table so little that the transposed reading gained up to 0.21
    (`results/turned_thresholds.md` of commit 21d8701: 6 of 1,932 upright crops with 1,000
    or more coefficients at or over the margin); fits compared at the quality read
    transposed favour the transposed picture (its read chose that table) and call most
    upright pictures turned.  `scores`: `table_scores(ac)`, when the caller has it."""
    if ac is None:
        return None
    turned, upright = best_table_fit(ac[:, _TRANSPOSE]), best_table_fit(ac, scores)
    if turned is None or upright is None:
        return None
    return turned - upright


def transposed(ac: np.ndarray | None, scores: TableScores | None = None) -> bool:
    """Whether the rows and columns of the picture whose AC coefficients these are (from
    `grid_coefficients`) were swapped since its last compression: transposed back, they fit
    an IJG table better by TURNED_MARGIN of `table_fit` or more (`turn_gain`).  False when
    fewer than TURNED_MIN_READ coefficients are clearly non-zero (a flat picture's few can
    fit either way).

    `ai-research/turned_thresholds.py` measures the gain (`results/turned_thresholds.md`):
    on 150 training crops of 128-768 px under 18 compressed histories, as compressed it was
    at most 0.043 with 500-999 coefficients read and 0.088 with more (0.121 with 250-499,
    hence TURNED_MIN_READ; never compressed: 0.022); transposed, it reached the margin in
    80-95 % of the crops at last QF 10-90 (IJG tables, once or twice, recropped too; the
    double (30, 70): 60 %), fewer at the light end, where steps of 1-3 hardly differ ((u, v) and (v, u) share them: QF 97, 11 %),
    and hardly ever under camera-like tables.  `eval_detector.py` measures what the test
    does to the verdicts (its "Turned pictures", `turned_cases`).  `scores`: `table_scores(ac)`,
    when the caller has it."""
    if ac is None or np.count_nonzero(np.abs(ac) > CLEARLY_NON_ZERO) < TURNED_MIN_READ:
        return False
    gain = turn_gain(ac, scores)
    return gain is not None and gain >= TURNED_MARGIN


def grid_and_quality(image: np.ndarray) -> tuple[tuple[int, int], int | None]:
    """Without the CNN: the JPEG grid offset and, when a grid stands out (so the image was
    compressed), the quality estimated from the pixels on it; else ((0, 0), None).  Used
    when a restore is forced and detection skipped."""
    offset, evidence = grid_search(image)
    if evidence < GRID_MIN_EVIDENCE:
        return (0, 0), None
    return offset, quality_from_pixels(image, offset)
