"""Issue 6: hostile and odd uploads, each answered with the right status, never a 500.

Every case goes to /detect and to /restore (forced, so the restorer sees the odd shapes too).
"""
import io

import numpy as np
import pytest
from PIL import Image

import images
from conftest import make_app

A = images.pattern(96, 128)


def rgba(arr):
    return np.dstack([arr, np.linspace(0, 255, arr.shape[1], dtype=np.uint8)[None].repeat(arr.shape[0], 0)])


# name: (upload bytes or None for a missing field, expected status, expected output size or None)
CASES = {
    "missing field": (None, 400, None),
    "empty field": (b"", 400, None),
    "text file": (b"Dear server,\nthis is not an image.\n" * 8, 415, None),
    "truncated JPEG": (images.jpeg(A)[: len(images.jpeg(A)) * 2 // 3], 415, None),
    "PNG decompression bomb 50000x50000": (images.png_bomb(50000), 422, None),
    "PNG header claiming 50000x50000": (images.png_by_hand(50000, 50000, 8, 2, b""), 422, None),
    "1x1": (images.png(A[:1, :1]), 422, None),
    "3x4000": (images.png(images.pattern(4000, 3)), 422, None),
    "JPEG with a corrupt marker": (images.jpeg_with_corrupt_marker(A), 415, None),
    "JPEG with a corrupt scan": (images.jpeg_with_corrupt_scan(A), 200, (128, 96)),
    "CMYK JPEG": (images.save(Image.fromarray(A).convert("CMYK"), "JPEG", quality=80), 200, (128, 96)),
    "16-bit grey PNG": (images.png((A[:, :, 0].astype(np.uint16) * 257)), 200, (128, 96)),
    "16-bit RGB PNG": (images.png16_rgb(A.astype(np.uint16) * 257), 200, (128, 96)),
    "palette GIF": (images.save(Image.fromarray(A).convert("P"), "GIF"), 200, (128, 96)),
    "animated GIF": (images.animated_gif([A, 255 - A, A]), 200, (128, 96)),
    "RGBA PNG": (images.png(rgba(A)), 200, (128, 96)),
    "EXIF-rotated JPEG": (images.exif_rotated_jpeg(A, 6), 200, (96, 128)),
    "WebP": (images.save(A, "WEBP", quality=80), 200, (128, 96)),
    "multi-page TIFF": (images.multipage_tiff([A, A[:40, :50]]), 200, (128, 96)),
    "8x8": (images.png(A[:8, :8]), 200, (8, 8)),
    "7x500": (images.png(images.pattern(500, 7)), 422, None),
    "zero-length PNG body": (images.png(A)[:8], 415, None),
    "HTML": (b"<!doctype html><html><body><img src=x></body></html>", 415, None),
}


def send(client, path, data, **fields):
    form = dict(fields)
    if data is not None:
        form["image"] = (io.BytesIO(data), "upload.bin")
    return client.post(path, data=form, content_type="multipart/form-data")


def check(r, status, size):
    assert r.status_code == status, r.get_data(as_text=True)[:300]
    if status != 200:
        body = r.get_json()
        assert r.mimetype == "application/problem+json"
        assert body["status"] == status and body["title"] and body["detail"]
    elif r.mimetype == "image/png":
        assert Image.open(io.BytesIO(r.data)).size == size
    else:
        assert (r.get_json()["image"]["width"], r.get_json()["image"]["height"]) == size


@pytest.mark.parametrize("name", CASES)
def test_detect(client, name):
    data, status, size = CASES[name]
    check(send(client, "/detect", data), status, size)


@pytest.mark.parametrize("name", CASES)
def test_restore(client, name):
    data, status, size = CASES[name]
    check(send(client, "/restore", data, force="true"), status, size)


def test_restore_output_of_odd_modes(client):
    """Alpha back on RGBA, grey back on 16-bit grey, first frame of an animation."""
    r = send(client, "/restore", CASES["RGBA PNG"][0], force="true")
    out = Image.open(io.BytesIO(r.data))
    assert out.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(out)[:, :, 3], rgba(A)[:, :, 3])
    r = send(client, "/restore", CASES["16-bit grey PNG"][0], force="true")
    assert Image.open(io.BytesIO(r.data)).mode == "L"


@pytest.mark.parametrize("fields, word", [
    ({"model": "unknown-model"}, "small-postgan"),
    ({"model": "c-tiny"}, "small-postgan"),
    ({"force": "maybe"}, "force"),
    ({"force": "TRUE"}, "force"),
    ({"force": "true", "model": "x" * 5000}, "model"),
])
def test_bad_fields_are_400(client, fields, word):
    r = send(client, "/restore", images.jpeg(A), **fields)
    check(r, 400, None)
    assert word in r.get_json()["detail"] and len(r.get_json()["detail"]) < 300


def test_limits_come_from_configuration(tiny_models, no_client):
    client = make_app(tiny_models, no_client, max_upload_bytes=5000, max_pixels=10_000).test_client()
    r = send(client, "/detect", images.png(images.pattern(200, 200)))
    check(r, 413, None)
    assert "5000 bytes" in r.get_json()["detail"]
    r = send(client, "/detect", images.jpeg(images.pattern(120, 120), 30))
    check(r, 422, None)
    assert "10000 pixels" in r.get_json()["detail"]
    # a body far over the limit is cut off by werkzeug (MAX_CONTENT_LENGTH), also as a problem
    r = send(client, "/restore", bytes(200_000))
    check(r, 413, None)
    assert "5000 bytes" in r.get_json()["detail"]


def test_too_many_form_parts_is_413(client):
    form = {f"f{i}": "x" for i in range(100)}
    form["image"] = (io.BytesIO(images.jpeg(A)), "a.jpg")
    r = client.post("/detect", data=form, content_type="multipart/form-data")
    check(r, 413, None)


def test_garbage_multipart_is_400(client):
    r = client.post("/detect", data=b"--xyz\r\nnot really multipart",
                    content_type="multipart/form-data; boundary=xyz")
    check(r, 400, None)
    r = client.post("/detect", data=b"whatever", content_type="multipart/form-data")
    check(r, 400, None)
