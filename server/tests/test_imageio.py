"""Decoding uploads: every mode to 8-bit RGB, alpha kept aside, grayscale flagged, limits."""
import io

import numpy as np
import pytest
from PIL import Image

from dejpeg.errors import PayloadTooLarge, UnsupportedImage, UnusableImage
from dejpeg.imageio import decode, encode_png

import images

A = images.pattern(40, 56)


def test_rgb_png_is_exact():
    d = decode(images.png(A))
    assert d.rgb.dtype == np.uint8 and d.rgb.shape == (40, 56, 3)
    np.testing.assert_array_equal(d.rgb, A)
    assert d.alpha is None and not d.grayscale
    assert d.format == "PNG" and d.jpeg_quality is None and d.jpeg_table is None


@pytest.mark.parametrize("quality", [10, 30, 75, 95])
def test_jpeg_quality_from_the_file_tables(quality):
    d = decode(images.jpeg(A, quality))
    assert d.format == "JPEG"
    assert (d.jpeg_quality, d.jpeg_quality_exact) == (quality, True)
    from dejpeg.quality import ijg_table
    np.testing.assert_array_equal(d.jpeg_table, ijg_table(quality))     # natural order


def test_rgba_alpha_is_kept_aside():
    alpha = np.tile(np.arange(56, dtype=np.uint8) * 4, (40, 1))
    d = decode(images.png(np.dstack([A, alpha])))
    np.testing.assert_array_equal(d.rgb, A)
    np.testing.assert_array_equal(d.alpha, alpha)


def test_grey_and_grey_alpha():
    grey = A[:, :, 1]
    d = decode(images.png(grey))
    assert d.grayscale and d.alpha is None
    for c in range(3):
        np.testing.assert_array_equal(d.rgb[:, :, c], grey)
    la = Image.fromarray(grey).convert("LA")
    la.putalpha(77)
    d = decode(images.save(la, "PNG"))
    assert d.grayscale and (d.alpha == 77).all()


def test_16_bit_grey_png_is_scaled_to_8_bits():
    wide = (np.arange(40 * 56, dtype=np.uint32).reshape(40, 56) * 29).astype(np.uint16)
    d = decode(images.png(wide))
    assert d.mode == "I;16" and d.grayscale
    np.testing.assert_array_equal(d.rgb[:, :, 0], np.rint(wide / 257).astype(np.uint8))


def test_16_bit_rgb_png():
    wide = A.astype(np.uint16) * 257
    d = decode(images.png16_rgb(wide))
    assert d.rgb.shape == (40, 56, 3) and not d.grayscale
    np.testing.assert_array_equal(d.rgb, A)


def test_palette_with_transparency_gets_alpha():
    p = Image.fromarray(A).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    p.info["transparency"] = 0
    d = decode(images.save(p, "PNG", transparency=0))
    assert d.alpha is not None and set(np.unique(d.alpha)) <= {0, 255}
    assert (d.alpha == 0).any()


def test_cmyk_jpeg_becomes_rgb():
    d = decode(images.save(Image.fromarray(A).convert("CMYK"), "JPEG", quality=95))
    assert d.mode == "CMYK" and d.rgb.shape == (40, 56, 3)
    assert np.abs(d.rgb.astype(int) - A).mean() < 12


def test_exif_orientation_is_applied():
    d = decode(images.exif_rotated_jpeg(A, orientation=6))
    assert d.rgb.shape == (56, 40, 3)           # stored 56 wide, shown 40 wide
    upright = np.rot90(A, k=-1)                  # 6: rotate 90° clockwise to display
    assert np.abs(d.rgb.astype(int) - upright).mean() < 6


def test_animated_gif_and_multipage_tiff_give_the_first_frame():
    d = decode(images.animated_gif([A, 255 - A, A[:20]]))
    first = np.asarray(Image.open(io.BytesIO(images.save(A, "GIF"))).convert("RGB"))
    np.testing.assert_array_equal(d.rgb, first)
    d = decode(images.multipage_tiff([A, A[:20, :30]]))
    np.testing.assert_array_equal(d.rgb, A)


@pytest.mark.parametrize("fmt", ["WEBP", "BMP", "TIFF", "PPM", "TGA"])
def test_other_formats(fmt):
    d = decode(images.save(A, fmt, **({"lossless": True} if fmt == "WEBP" else {})))
    assert d.format == fmt
    np.testing.assert_array_equal(d.rgb, A)


def test_limits():
    with pytest.raises(PayloadTooLarge, match="limit is 100 bytes"):
        decode(images.png(A), max_bytes=100)
    with pytest.raises(UnusableImage, match="2240 pixels; the limit is 1000"):
        decode(images.png(A), max_pixels=1000)
    with pytest.raises(UnusableImage, match="limit is 50000000"):
        decode(images.png_bomb(), max_pixels=50_000_000)


@pytest.mark.parametrize("data", [b"", b"hello, world\n" * 20, images.jpeg(A)[:300],
                                  images.jpeg(A)[:-40], images.jpeg_with_corrupt_marker(A),
                                  images.png(A)[:-30]])
def test_undecodable_is_415(data):
    with pytest.raises(UnsupportedImage):
        decode(data)


def test_png_encoding_round_trips_rgb_grey_and_alpha():
    alpha = (A[:, :, 0] // 2).astype(np.uint8)
    im = Image.open(io.BytesIO(encode_png(A, alpha)))
    assert im.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(im)[:, :, :3], A)
    np.testing.assert_array_equal(np.asarray(im)[:, :, 3], alpha)
    grey = np.repeat(A[:, :, :1], 3, axis=2)
    im = Image.open(io.BytesIO(encode_png(grey, None, grayscale=True)))
    assert im.mode == "L"
    np.testing.assert_array_equal(np.asarray(im), A[:, :, 0])
    im = Image.open(io.BytesIO(encode_png(grey, alpha, grayscale=True)))
    assert im.mode == "LA"
