"""Decoding uploads into what the models take, and encoding results as PNG.

`decode` turns the bytes of any image Pillow reads into 8-bit RGB pixels, with the alpha
channel (if any) kept aside and a flag saying the picture was grayscale, so a restored image
can be given back in the shape it came in (`encode_png`).  Every failure is one of the
`errors` classes, so the API answers it with the right status and never a 500:

- too many bytes → 413; too many pixels (including Pillow's decompression-bomb check) → 422;
- not an image, truncated or corrupt → 415.
"""
from __future__ import annotations

import dataclasses
import io

import numpy as np
from PIL import Image, ImageOps

from .errors import PayloadTooLarge, UnsupportedImage, UnusableImage
from .quality import quality_from_table

GRAYSCALE_MODES = {"1", "L", "LA", "La", "I", "F"}
ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}


@dataclasses.dataclass
class Decoded:
    rgb: np.ndarray                  # uint8, (height, width, 3)
    alpha: np.ndarray | None         # uint8, (height, width), or None when opaque
    grayscale: bool                  # the upload had no colour (L, LA, I;16, ...)
    format: str                      # Pillow's name for the file format: "JPEG", "PNG", ...
    mode: str                        # Pillow's mode of the upload: "RGB", "P", "I;16", ...
    jpeg_quality: int | None = None  # IJG quality read from a JPEG file's luma table
    jpeg_quality_exact: bool = False # the table is exactly an IJG table
    jpeg_table: np.ndarray | None = None   # that luma table itself (64 steps, natural order)

    @property
    def width(self) -> int:
        return self.rgb.shape[1]

    @property
    def height(self) -> int:
        return self.rgb.shape[0]

    def info(self) -> dict:
        """What the API reports about the upload."""
        return {"width": self.width, "height": self.height, "format": self.format,
                "mode": self.mode, "alpha": self.alpha is not None,
                "grayscale": self.grayscale}


def decode(data: bytes, max_bytes: int | None = None, max_pixels: int | None = None) -> Decoded:
    """Decode an uploaded file (first frame only), EXIF orientation applied."""
    if max_bytes is not None and len(data) > max_bytes:
        raise PayloadTooLarge(f"The upload has {len(data)} bytes; the limit is {max_bytes} bytes.")
    if not data:
        raise UnsupportedImage("The file is empty.")
    try:
        im = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise UnusableImage(_too_many_pixels_message(None, max_pixels)) from None
    except Exception:   # Pillow raises many kinds of errors on arbitrary bytes
        raise UnsupportedImage("The file is not an image this server can read "
                               "(JPEG, PNG, WebP, BMP, TIFF, GIF, ...).") from None
    with im:
        width, height = im.size
        if width < 1 or height < 1:
            raise UnusableImage(f"The image has no pixels ({width}x{height}).")
        if max_pixels is not None and width * height > max_pixels:
            raise UnusableImage(_too_many_pixels_message((width, height), max_pixels))
        table = _jpeg_luma_table(im)
        quality, exact = (None, False) if table is None else quality_from_table(table)
        fmt, mode = im.format or "unknown", im.mode
        try:
            im.load()                     # the first frame: truncation and corruption show here
            im = _upright(im)
            rgb, alpha, grayscale = _to_rgb8(im)
        except (MemoryError, Image.DecompressionBombError):
            raise UnusableImage(_too_many_pixels_message((width, height), max_pixels)) from None
        except Exception:
            raise UnsupportedImage(f"The {fmt} file cannot be decoded: it is truncated, corrupt "
                                   "or of a kind this server does not read.") from None
    return Decoded(rgb, alpha, grayscale, fmt, mode, quality, exact, table)


def encode_png(rgb: np.ndarray, alpha: np.ndarray | None = None, grayscale: bool = False,
               compress_level: int = 3) -> bytes:
    """PNG bytes of an RGB uint8 image, turned back to grey and/or given back its alpha."""
    im = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB")
    if grayscale:
        im = im.convert("L")
    if alpha is not None:
        im.putalpha(Image.fromarray(np.ascontiguousarray(alpha, dtype=np.uint8), "L"))
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def _too_many_pixels_message(size: tuple[int, int] | None, max_pixels: int | None) -> str:
    what = f"The image has {size[0]}x{size[1]} = {size[0] * size[1]} pixels" if size else \
        "The image claims too many pixels"
    limit = f"; the limit is {max_pixels} pixels." if max_pixels else "."
    return what + limit


def _jpeg_luma_table(im: Image.Image) -> np.ndarray | None:
    """A JPEG file's luma quantisation table (Pillow keeps natural order), or None."""
    tables = getattr(im, "quantization", None)
    if im.format not in ("JPEG", "MPO") or not tables or 0 not in tables:
        return None
    try:
        table = np.asarray(tables[0], dtype=np.int64).reshape(64)
    except (ValueError, TypeError):
        return None
    return table if (table >= 1).all() else None


def _upright(im: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a broken EXIF block is ignored, not fatal."""
    try:
        return ImageOps.exif_transpose(im)
    except Exception:
        return im


def _to_rgb8(im: Image.Image) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """(rgb uint8 HxWx3, alpha uint8 HxW or None, grayscale?) from any Pillow mode."""
    mode = im.mode
    alpha = None
    has_alpha = mode in ALPHA_MODES or (mode == "P" and "transparency" in im.info) \
        or (mode in ("L", "RGB") and "transparency" in im.info)
    if mode.startswith("I") or mode == "F":
        grey = _wide_to_uint8(np.asarray(im), mode)
        return np.repeat(grey[:, :, None], 3, axis=2), None, True
    grayscale = mode in GRAYSCALE_MODES or mode == "LA"
    if has_alpha:
        rgba = np.asarray(im.convert("LA" if grayscale else "RGBA"))
        alpha = np.ascontiguousarray(rgba[:, :, -1])
        colour = rgba[:, :, 0] if grayscale else rgba[:, :, :3]
    else:
        colour = np.asarray(im.convert("L" if grayscale else "RGB"))
    if grayscale:
        colour = np.repeat(colour[:, :, None], 3, axis=2)
    return np.ascontiguousarray(colour, dtype=np.uint8), alpha, grayscale


def _wide_to_uint8(values: np.ndarray, mode: str) -> np.ndarray:
    """16-bit, 32-bit integer or float grey to 8 bits.

    16-bit modes (I;16*) and 32-bit "I" (which Pillow also uses for 16-bit files of some
    formats) are taken as 0..65535; floats as 0..1 when they fit there, else 0..255.
    """
    v = values.astype(np.float64)
    if mode == "F":
        finite = v[np.isfinite(v)]
        scale = 255.0 if finite.size and finite.max() <= 1.0 else 1.0
        v = np.nan_to_num(v, nan=0.0, posinf=255.0, neginf=0.0) * scale
    else:
        v = v / 257.0
    return np.clip(np.rint(v), 0, 255).astype(np.uint8)
