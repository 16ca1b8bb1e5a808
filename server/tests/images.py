"""Test images made on the spot: numpy patterns saved by Pillow, and hand-crafted bad files."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def pattern(height: int = 256, width: int = 256, seed: int = 0) -> np.ndarray:
    """A photo-like RGB uint8 image: smooth gradients, a few edges and mild noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 128 + 90 * np.sin(x / 23.0 + seed) * np.cos(y / 31.0)
    g = 128 + 80 * np.cos((x + y) / 40.0)
    b = np.where((x // 48 + y // 48) % 2 == 0, 60.0, 190.0)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 6, (height, width, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def save(image: Image.Image | np.ndarray, fmt: str, **kw) -> bytes:
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kw)
    return buf.getvalue()


def png(arr: np.ndarray, **kw) -> bytes:
    return save(arr, "PNG", **kw)


def jpeg(arr: np.ndarray, quality: int = 50, **kw) -> bytes:
    return save(arr, "JPEG", quality=quality, **kw)


def open_png(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    assert im.format == "PNG"
    im.load()
    return im


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_by_hand(width: int, height: int, bit_depth: int, colour_type: int, raw: bytes,
                compress: bool = True) -> bytes:
    """A PNG assembled chunk by chunk (signature, IHDR, IDAT, IEND)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    idat = zlib.compress(raw, 9) if compress else raw
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def png_bomb(side: int = 50000) -> bytes:
    """A few hundred bytes claiming side x side RGB: IDAT holds 1 MB of zeros compressed.

    A decoder that trusted the header would allocate side*side*3 bytes (7.5 GB at 50000).
    """
    return png_by_hand(side, side, 8, 2, b"\x00" * (1 << 20))


def png16_rgb(arr16: np.ndarray) -> bytes:
    """A 48-bit RGB PNG (16 bits per channel) from a (H, W, 3) uint16 array."""
    h, w, _ = arr16.shape
    rows = arr16.astype(">u2").reshape(h, w * 3)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    return png_by_hand(w, h, 16, 2, raw)


def exif_rotated_jpeg(arr: np.ndarray, orientation: int = 6, quality: int = 90) -> bytes:
    """A JPEG whose EXIF says 'rotate' (6: the stored image is displayed turned 90° clockwise)."""
    from dejpeg import jpeg
    return jpeg.encode(arr, quality, orientation=orientation)


def animated_gif(frames: list[np.ndarray]) -> bytes:
    ims = [Image.fromarray(f) for f in frames]
    buf = io.BytesIO()
    ims[0].save(buf, format="GIF", save_all=True, append_images=ims[1:], duration=100, loop=0)
    return buf.getvalue()


def multipage_tiff(pages: list[np.ndarray]) -> bytes:
    ims = [Image.fromarray(p) for p in pages]
    buf = io.BytesIO()
    ims[0].save(buf, format="TIFF", save_all=True, append_images=ims[1:])
    return buf.getvalue()


def jpeg_with_corrupt_marker(arr: np.ndarray) -> bytes:
    """A JPEG whose first DQT marker (FF DB) is overwritten with an undefined marker (FF 02)."""
    data = bytearray(jpeg(arr, 75))
    at = data.index(b"\xff\xdb")
    data[at + 1] = 0x02
    return bytes(data)


def jpeg_with_corrupt_scan(arr: np.ndarray) -> bytes:
    """A JPEG with a restart marker (FF D0) planted in the middle of its entropy-coded data."""
    data = bytearray(jpeg(arr, 75))
    sos = data.index(b"\xff\xda")
    mid = (sos + len(data)) // 2
    data[mid:mid + 2] = b"\xff\xd0"
    return bytes(data)


def camera_picture() -> np.ndarray:
    """scikit-image's coffee through a simulated camera's raw development
    (`data.camera_pipeline`, Bayer demosaicing, sensor noise, sharpening; seed 0)."""
    from skimage.data import coffee
    from dejpeg import data
    return data.camera_pipeline(coffee(), np.random.default_rng(0))


def camera_table(like: int = 92, seed: int | None = None) -> np.ndarray:
    """A luma table of a camera's kind: IJG's at `like` with every step moved, by -1..+2
    drawn with `seed`, or one coarser when `seed` is None (no IJG quality's exactly)."""
    from dejpeg import quality
    moved = 1 if seed is None else np.random.default_rng(seed).integers(-1, 3, 64)
    return np.clip(quality.ijg_table(like) + moved, 1, 255)


def camera_jpeg(rgb: np.ndarray, table: np.ndarray, chroma: np.ndarray | None = None):
    """`rgb` saved with the luma table `table` (and `chroma`, else the same), decoded: (the
    pixels, the luma table the file holds, natural order)."""
    chroma = table if chroma is None else chroma
    back = Image.open(io.BytesIO(save(rgb, "JPEG", qtables=[table.tolist(), chroma.tolist()])))
    return np.asarray(back.convert("RGB")), np.array(back.quantization[0])
