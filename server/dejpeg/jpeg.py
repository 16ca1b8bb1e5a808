"""JPEG round trips with Pillow (libjpeg, 4:2:0 chroma): the degradations we train and test on."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image


def compress(rgb: np.ndarray, quality: int, subsampling: int = 2) -> np.ndarray:
    """Encode an RGB (or grey) uint8 array as JPEG at `quality` and decode it again."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=int(quality), subsampling=subsampling)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB" if rgb.ndim == 3 else "L"))


def compress_double(rgb: np.ndarray, q1: int, q2: int, shift: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Compress at q1, crop `shift` = (dx, dy) pixels off the top-left, compress at q2.

    A non-zero shift moves the second grid off the first, as when a photo is cropped and
    resaved.  The result is smaller than the input by the shift.
    """
    once = compress(rgb, q1)
    dx, dy = shift
    return compress(np.ascontiguousarray(once[dy:, dx:]), q2)
