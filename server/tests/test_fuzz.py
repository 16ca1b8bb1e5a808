"""Property-based fuzzing (hypothesis) of the decoder and of the endpoints.

Properties: whatever the bytes and form fields, the decoder either returns well-formed
pixels or raises one of the user-error classes (400/413/415/422); the endpoints answer
200 or a problem-details 4xx/503, never a 500.
"""
import io
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

import images
from conftest import make_app
from dejpeg.errors import DejpegError
from dejpeg.imageio import decode

SEED = images.pattern(24, 40, seed=7)
VALID = {
    "png": images.png(SEED),
    "jpeg": images.jpeg(SEED, 60),
    "gif": images.save(Image.fromarray(SEED).convert("P"), "GIF"),
    "webp": images.save(SEED, "WEBP", quality=70),
    "tiff": images.save(SEED, "TIFF"),
    "bmp": images.save(SEED, "BMP"),
    "rgba-png": images.png(np.dstack([SEED, SEED[:, :, 0]])),
    "exif-jpeg": images.exif_rotated_jpeg(SEED, 8),
}
USER_ERRORS = {400, 413, 415, 422}
# a fixed, quick run in `make test`; DEJPEG_FUZZ_EXAMPLES=5000 for a long random one
LONG = int(os.environ.get("DEJPEG_FUZZ_EXAMPLES", 0))
FUZZ = settings(max_examples=LONG or 60, deadline=None, derandomize=not LONG,
                suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated_image(draw):
    """A valid file of some format with a few bytes changed, cut or inserted."""
    data = bytearray(VALID[draw(st.sampled_from(sorted(VALID)))])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "overwrite"]))
        at = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "cut":
            del data[at:at + draw(st.integers(1, 64))]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            chunk = draw(st.binary(min_size=1, max_size=8))
            data[at:at + len(chunk)] = chunk
        if not data:
            break
    return bytes(data)


def assert_decodes_or_refuses(data: bytes):
    try:
        d = decode(data, max_bytes=1 << 20, max_pixels=4_000_000)
    except DejpegError as e:
        assert e.status in USER_ERRORS and e.detail
        return
    assert d.rgb.dtype == np.uint8 and d.rgb.ndim == 3 and d.rgb.shape[2] == 3
    assert d.rgb.shape[0] * d.rgb.shape[1] <= 4_000_000
    assert d.alpha is None or d.alpha.shape == d.rgb.shape[:2]


@FUZZ
@given(st.binary(max_size=4096))
def test_decoder_on_arbitrary_bytes(data):
    assert_decodes_or_refuses(data)


@FUZZ
@given(mutated_image())
def test_decoder_on_mutated_images(data):
    assert_decodes_or_refuses(data)


@FUZZ
@given(prefix=st.sampled_from(sorted(VALID)), cut=st.floats(0, 1))
def test_decoder_on_truncated_images(prefix, cut):
    data = VALID[prefix]
    assert_decodes_or_refuses(data[: int(len(data) * cut)])


@pytest.fixture(scope="module")
def fuzz_client(tiny_models, no_client):
    return make_app(tiny_models, no_client, max_upload_bytes=256 * 1024).test_client()


text = st.text(max_size=40)
field = st.one_of(st.none(), text, st.sampled_from(["true", "false", "small-postgan", "small-pregan"]))


@settings(max_examples=LONG or 50, deadline=None, derandomize=not LONG,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(path=st.sampled_from(["/detect", "/restore"]),
       image=st.one_of(st.none(), mutated_image(), st.binary(max_size=512),
                       st.sampled_from(sorted(VALID.values()))),
       force=field, model=field, accept=st.sampled_from([None, "application/json", "image/png", "*/*"]),
       filename=text)
def test_endpoints_never_fail(fuzz_client, path, image, force, model, accept, filename):
    form = {k: v for k, v in (("force", force), ("model", model)) if v is not None}
    if image is not None:
        form["image"] = (io.BytesIO(image), filename or "x")
    r = fuzz_client.post(path, data=form, content_type="multipart/form-data",
                         headers={"Accept": accept} if accept else {})
    assert r.status_code in {200} | USER_ERRORS, r.get_data(as_text=True)[:300]
    if r.status_code != 200:
        assert r.mimetype == "application/problem+json"
        assert r.get_json()["status"] == r.status_code
    elif r.mimetype == "image/png":
        assert r.data.startswith(b"\x89PNG")


@settings(max_examples=LONG or 40, deadline=None, derandomize=not LONG,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=1024),
       content_type=st.sampled_from(["multipart/form-data", "multipart/form-data; boundary=b",
                                     "application/json", "text/plain", "image/png",
                                     "application/x-www-form-urlencoded", ""]))
def test_raw_bodies_never_fail(fuzz_client, body, content_type):
    r = fuzz_client.post("/detect", data=body, content_type=content_type)
    assert r.status_code in USER_ERRORS and r.mimetype == "application/problem+json"
