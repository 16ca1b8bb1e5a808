"""The JPEG decoder's own inverse DCT: libjpeg's integer `islow` transform, bit for bit.

A decoder turns each block's dequantised coefficients into pixels with a fixed-point inverse
DCT, rounds, adds 128 and clips.  libjpeg (and libjpeg-turbo, which Pillow and the browsers
use) does it in two 1-D passes of the Loeffler-Ligtenberg-Moschytz factorisation with 13-bit
constants, keeping 2 extra bits between the passes.  A floating-point inverse DCT differs
from it by one grey level on a few % of pixels; this one reproduces Pillow's decoded Y plane
exactly (`tests/test_idct.py`), which is what lets `quality.exact_last_table` ask whether a
table reproduces a picture's blocks to the last pixel.  Written from the published
factorisation and constants (the IJG's documentation of jidctint.c: the constants are
round(c * 2^13) of the cosines and their combinations named below).
"""
from __future__ import annotations

import numpy as np

CONST_BITS = 13     # the constants' fixed point
PASS1_BITS = 2      # extra precision kept between the two passes

# round(x * 2^13) of the factorisation's multipliers
FIX_0_298631336 = 2446
FIX_0_390180644 = 3196
FIX_0_541196100 = 4433
FIX_0_765366865 = 6270
FIX_0_899976223 = 7373
FIX_1_175875602 = 9633
FIX_1_501321110 = 12299
FIX_1_847759065 = 15137
FIX_1_961570560 = 16069
FIX_2_053119869 = 16819
FIX_2_562915447 = 20995
FIX_3_072711026 = 25172


def _descale(x: np.ndarray, n: int) -> np.ndarray:
    """x / 2^n rounded half up, as the decoder's arithmetic right shift does."""
    return (x + (1 << (n - 1))) >> n


def _pass(s: list[np.ndarray]) -> list[np.ndarray]:
    """One 1-D 8-point inverse DCT of the inputs s[0..7] (frequencies), scaled by 2^13:
    the even part from s[0], s[2], s[4], s[6], the odd part from s[1], s[3], s[5], s[7]."""
    z1 = (s[2] + s[6]) * FIX_0_541196100
    even2 = z1 - s[6] * FIX_1_847759065
    even3 = z1 + s[2] * FIX_0_765366865
    even0 = (s[0] + s[4]) << CONST_BITS
    even1 = (s[0] - s[4]) << CONST_BITS
    t10, t13 = even0 + even3, even0 - even3
    t11, t12 = even1 + even2, even1 - even2

    o0, o1, o2, o3 = s[7], s[5], s[3], s[1]
    z5 = (o0 + o2 + o1 + o3) * FIX_1_175875602
    z1 = (o0 + o3) * -FIX_0_899976223
    z2 = (o1 + o2) * -FIX_2_562915447
    z3 = (o0 + o2) * -FIX_1_961570560 + z5
    z4 = (o1 + o3) * -FIX_0_390180644 + z5
    o0 = o0 * FIX_0_298631336 + z1 + z3
    o1 = o1 * FIX_2_053119869 + z2 + z4
    o2 = o2 * FIX_3_072711026 + z2 + z3
    o3 = o3 * FIX_1_501321110 + z1 + z4
    return [t10 + o3, t11 + o2, t12 + o1, t13 + o0, t13 - o0, t12 - o1, t11 - o2, t10 - o3]


def islow(coefficients: np.ndarray) -> np.ndarray:
    """Pixels (n, 8, 8) uint8 of blocks of dequantised DCT coefficients (n, 8, 8), natural
    order [vertical frequency, horizontal frequency], whole numbers (rounded if not): the
    columns first (kept with PASS1_BITS more bits), then the rows; then + 128, clipped."""
    c = np.rint(coefficients).astype(np.int64)
    columns = _pass([c[:, k, :] for k in range(8)])                 # [row y] (n, 8 columns)
    work = np.stack([_descale(x, CONST_BITS - PASS1_BITS) for x in columns], axis=1)
    rows = _pass([work[:, :, k] for k in range(8)])                 # [column x] (n, 8 rows)
    pixels = np.stack([_descale(x, CONST_BITS + PASS1_BITS + 3) for x in rows], axis=2)
    return np.clip(pixels + 128, 0, 255).astype(np.uint8)
