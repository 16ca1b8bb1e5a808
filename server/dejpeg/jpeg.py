"""JPEG round trips with Pillow (libjpeg, 4:2:0 chroma): the degradations we train and test on."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image


def encode(rgb: np.ndarray, quality: int, subsampling: int = 2, tables=None,
           orientation: int | None = None) -> bytes:
    """The JPEG file of an RGB (or grey) uint8 array at `quality` (or with quantisation
    `tables`, luma then chroma), with an EXIF orientation when given (6: shown turned a
    quarter clockwise, 8: anticlockwise, as cameras store portrait photographs)."""
    kw = {"qtables": tables} if tables else {"quality": int(quality)}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kw["exif"] = exif.tobytes()
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", subsampling=subsampling, **kw)
    return buf.getvalue()


def compress(rgb: np.ndarray, quality: int, subsampling: int = 2) -> np.ndarray:
    """Encode an RGB (or grey) uint8 array as JPEG at `quality` and decode it again."""
    with Image.open(io.BytesIO(encode(rgb, quality, subsampling))) as im:
        return np.asarray(im.convert("RGB" if rgb.ndim == 3 else "L"))


def compress_double(rgb: np.ndarray, q1: int, q2: int, shift: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Compress at q1, crop `shift` = (dx, dy) pixels off the top-left, compress at q2.

    A non-zero shift moves the second grid off the first, as when a photo is cropped and
    resaved.  The result is smaller than the input by the shift.
    """
    once = compress(rgb, q1)
    dx, dy = shift
    return compress(np.ascontiguousarray(once[dy:, dx:]), q2)
