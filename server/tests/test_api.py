"""The HTTP contract of shared/API.md, on tiny untrained models (plumbing, not accuracy)."""
import base64
import dataclasses
import io
import tempfile

import numpy as np
import pytest
from PIL import Image

import images
from conftest import make_app

A = images.pattern(200, 296)


def post(client, path, data: bytes | None, filename="photo.jpg", headers=None, **fields):
    form = dict(fields)
    if data is not None:
        form["image"] = (io.BytesIO(data), filename)
    return client.post(path, data=form, headers=headers or {}, content_type="multipart/form-data")


def is_problem(r, status):
    body = r.get_json()
    return (r.status_code == status and r.mimetype == "application/problem+json"
            and body["status"] == status and set(body) == {"type", "title", "status", "detail"}
            and body["detail"])


class StubDetector:
    """Always the same verdict: lets tests take the restored / not-restored branches."""
    name = "stub"

    def __init__(self, verdict):
        self.verdict = verdict

    def detect(self, rgb, jpeg_quality=None, jpeg_table=None):
        p = {"uncompressed": 0.0, "single": 0.0, "double": 0.0, self.verdict: 1.0}
        return {"verdict": self.verdict, "probabilities": p, "pixel_probabilities": p, "blocks": [],
                "grid": {"dx": 0, "dy": 0}, "quality": None, "model": self.name}


@pytest.fixture()
def stub_client(tiny_models, no_client):
    def build(verdict):
        models = dataclasses.replace(tiny_models, detector=StubDetector(verdict))
        return make_app(models, no_client).test_client()
    return build


# --- /detect -------------------------------------------------------------------------------

def test_detect_reads_the_files_own_table(client):
    """A JPEG file resaved lightly after a heavy compression: its coefficients sit on the first
    pass's coarser steps, which only the file's own table shows (`file_table`); a PNG of the
    same pixels has no table to compare with."""
    from skimage.data import astronaut
    from dejpeg.jpeg import compress
    data = images.jpeg(compress(astronaut(), 50), 97)
    body = post(client, "/detect", data).get_json()
    assert body["file_table"]["decisive"] and abs(body["file_table"]["first_quality"] - 50) <= 1
    assert body["verdict"] == "double" and body["quality"]["estimate"] == 97
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert post(client, "/detect", images.png(decoded), "a.png").get_json()["file_table"] is None


def test_detect_body(client):
    r = post(client, "/detect", images.jpeg(A, 30))
    assert r.status_code == 200 and r.mimetype == "application/json"
    body = r.get_json()
    assert body["verdict"] in ("uncompressed", "single", "double")
    assert set(body["probabilities"]) == {"uncompressed", "single", "double"}
    assert abs(sum(body["probabilities"].values()) - 1) < 1e-3
    assert body["blocks"] and all(b["size"] == 256 for b in body["blocks"])
    assert body["quality"] == {"estimate": 30, "source": "quantization-table", "exact": True}
    assert body["image"]["width"] == 296 and body["image"]["height"] == 200
    assert body["image"]["format"] == "JPEG"
    assert body["model"] == "c-tiny"
    assert {"detect_s", "decode_s", "total_s"} <= set(body["timings"])


def test_detect_png_has_no_table_quality(client):
    body = post(client, "/detect", images.png(A), "a.png").get_json()
    assert body["image"]["format"] == "PNG"
    assert body["quality"] is None or body["quality"]["source"] == "pixels"


def test_a_jpeg_file_is_at_least_single(client):
    """Whatever the pixels say, a JPEG upload was compressed: the verdict is single or double,
    the pixels' own probabilities come alongside; a PNG of the same pixels keeps them."""
    for quality in (30, 100):
        body = post(client, "/detect", images.jpeg(A, quality)).get_json()
        assert body["verdict"] in ("single", "double")
        assert body["probabilities"]["uncompressed"] == 0.0
        assert set(body["pixel_probabilities"]) == {"uncompressed", "single", "double"}
    png = post(client, "/detect", images.png(A), "a.png").get_json()
    assert png["probabilities"] == png["pixel_probabilities"]


def test_detect_answers_are_repeatable(client):
    data = images.jpeg(A, 50)
    assert post(client, "/detect", data).get_json()["probabilities"] == \
        post(client, "/detect", data).get_json()["probabilities"]


# --- /restore ------------------------------------------------------------------------------

def png_pixels(data: bytes) -> Image.Image:
    return images.open_png(data)


def test_restore_png_by_default(client):
    r = post(client, "/restore", images.jpeg(A, 10), force="true")
    assert r.status_code == 200 and r.mimetype == "image/png"
    assert r.headers["X-Dejpeg-Restored"] == "true"
    assert r.headers["X-Dejpeg-Verdict"] == "skipped"
    assert r.headers["X-Dejpeg-Model"] == "small-postgan"
    assert 'filename="photo-dejpeg.png"' in r.headers["Content-Disposition"]
    assert png_pixels(r.data).size == (296, 200)


@pytest.mark.parametrize("accept", [None, "*/*", "image/png", "image/*", "text/html"])
def test_restore_accept_png(client, accept):
    r = post(client, "/restore", images.jpeg(A, 10), headers={"Accept": accept} if accept else {},
             force="true")
    assert r.status_code == 200 and r.mimetype == "image/png"


def test_restore_json(client):
    r = post(client, "/restore", images.jpeg(A, 10), headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.mimetype == "application/json"
    body = r.get_json()
    assert body["verdict"] in ("uncompressed", "single", "double")   # detection ran
    assert body["restored"] == (body["verdict"] != "uncompressed")
    assert body["model"] == "small-postgan" and body["detector"] == "c-tiny"
    assert "detect_s" in body["timings"]
    assert body["image_png"].startswith("data:image/png;base64,")
    im = png_pixels(base64.b64decode(body["image_png"].split(",", 1)[1]))
    assert im.size == (296, 200)


def test_restore_json_forced_skips_detection(client):
    body = post(client, "/restore", images.jpeg(A, 10), headers={"Accept": "application/json"},
                force="true", model="small-pregan").get_json()
    assert body["restored"] is True and body["model"] == "small-pregan"
    assert "verdict" not in body and "detect_s" not in body["timings"]
    assert body["timings"]["restore_s"] > 0
    assert body["image"]["width"] == 296


def test_not_restored_when_uncompressed_returns_the_input(stub_client):
    client = stub_client("uncompressed")
    alpha = np.full(A.shape[:2], 200, np.uint8)
    rgba = np.dstack([A, alpha])
    r = post(client, "/restore", images.png(rgba), "a.png")
    assert r.status_code == 200
    assert r.headers["X-Dejpeg-Restored"] == "false"
    assert r.headers["X-Dejpeg-Verdict"] == "uncompressed"
    np.testing.assert_array_equal(np.asarray(png_pixels(r.data)), rgba)


def test_restored_when_compressed(stub_client):
    r = post(stub_client("double"), "/restore", images.jpeg(A, 10))
    assert r.headers["X-Dejpeg-Restored"] == "true" and r.headers["X-Dejpeg-Verdict"] == "double"


@pytest.mark.parametrize("height, width", [(8, 8), (9, 13), (8, 1000), (257, 513), (600, 40)])
def test_restore_keeps_exact_size(client, height, width):
    data = images.png(images.pattern(height, width))
    r = post(client, "/restore", data, "a.png", force="true")
    assert r.status_code == 200
    assert png_pixels(r.data).size == (width, height)


def test_restore_keeps_alpha_and_grey(client):
    alpha = np.tile(np.arange(A.shape[1], dtype=np.uint8) % 251, (A.shape[0], 1))
    r = post(client, "/restore", images.png(np.dstack([A, alpha])), "a.png", force="true")
    im = png_pixels(r.data)
    assert im.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(im)[:, :, 3], alpha)

    r = post(client, "/restore", images.jpeg(A[:, :, 0], 20), force="true")
    assert png_pixels(r.data).mode == "L"
    la = Image.fromarray(A[:, :, 0]).convert("LA")
    la.putalpha(128)
    r = post(client, "/restore", images.save(la, "PNG"), "a.png", force="true")
    im = png_pixels(r.data)
    assert im.mode == "LA" and (np.asarray(im)[:, :, 1] == 128).all()


# --- fields --------------------------------------------------------------------------------

@pytest.mark.parametrize("force", ["yes", "True", "1", "", "true ", "on"])
def test_bogus_force_is_400(client, force):
    r = post(client, "/restore", images.jpeg(A), force=force)
    assert is_problem(r, 400) and "force" in r.get_json()["detail"]


@pytest.mark.parametrize("model", ["nope", "", "c-tiny", "SMALL-POSTGAN"])
def test_unknown_model_is_400_and_lists_the_valid_ones(client, model):
    r = post(client, "/restore", images.jpeg(A), model=model)
    assert is_problem(r, 400)
    assert "small-postgan, small-pregan" in r.get_json()["detail"]


def test_missing_and_empty_image_are_400(client):
    assert is_problem(post(client, "/detect", None), 400)
    assert is_problem(post(client, "/detect", b""), 400)
    r = client.post("/detect", data={"image": "not a file"})
    assert is_problem(r, 400) and "file" in r.get_json()["detail"]
    r = client.post("/detect", data=images.jpeg(A), content_type="image/jpeg")
    assert is_problem(r, 400) and "multipart" in r.get_json()["detail"]


# --- other endpoints and errors ------------------------------------------------------------

def test_models(client):
    body = client.get("/models").get_json()
    names = {m["name"]: m for m in body["models"]}
    assert set(names) == {"c-tiny", "small-pregan", "small-postgan"}
    assert names["c-tiny"]["kind"] == "detector"
    assert names["small-postgan"]["default"] is True
    assert body["default_restorer"] == "small-postgan" and body["detector"] == "c-tiny"


def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200 and r.get_json()["status"] == "ok"
    assert r.get_json()["limits"]["max_upload_bytes"] == 32 * 1024 * 1024


def test_openapi_lists_every_endpoint(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {"/detect", "/restore", "/models", "/health", "/openapi.json"}
    restore = spec["paths"]["/restore"]["post"]
    assert set(restore["responses"]) >= {"200", "400", "413", "415", "422", "503"}
    fields = restore["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert fields["model"]["enum"] == ["small-postgan", "small-pregan"]
    assert fields["force"]["enum"] == ["true", "false"]


def test_404_and_405_are_problems(client):
    assert is_problem(client.get("/nowhere"), 404)
    assert is_problem(client.get("/detect"), 405)
    r = client.delete("/restore")
    assert is_problem(r, 405) and "POST" in r.headers["Allow"]
    assert is_problem(client.post("/models"), 405)


def test_root_without_client_build(client):
    r = client.get("/")
    assert r.status_code == 200 and b"deJPEG" in r.data


def test_built_client_is_served_with_spa_fallback(tiny_models, tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>app</title>")
    (tmp_path / "assets" / "app.js").write_text("console.log(1)")
    client = make_app(tiny_models, tmp_path).test_client()
    assert client.get("/").data.startswith(b"<!doctype html><title>app")
    assert client.get("/assets/app.js").data == b"console.log(1)"
    r = client.get("/about", headers={"Accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 200 and b"<title>app" in r.data
    assert is_problem(client.get("/about"), 404)                       # an API client
    assert is_problem(client.get("/assets/missing.js", headers={"Accept": "text/html"}), 404)
    for sneaky in ("/../../etc/passwd", "/assets/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "//etc/passwd"):
        assert b"root:" not in client.get(sneaky, headers={"Accept": "text/html"}).data
    assert is_problem(client.get("/detect", headers={"Accept": "text/html"}), 405)


def test_cors_only_when_configured(tiny_models, no_client):
    closed = make_app(tiny_models, no_client).test_client()
    r = closed.get("/health", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in r.headers
    opened = make_app(tiny_models, no_client, cors_origins=("http://ok.example",)).test_client()
    r = opened.get("/health", headers={"Origin": "http://ok.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "http://ok.example"
    r = opened.get("/health", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in r.headers


def test_uploads_are_never_written_to_disk(app, monkeypatch):
    """Werkzeug spools multipart files above 500 kB to temporary files; ours stay in memory."""
    import werkzeug.formparser

    def no_disk(*args, **kwargs):
        raise AssertionError("an upload was about to be written to disk")

    for name in ("SpooledTemporaryFile", "TemporaryFile", "NamedTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, no_disk)
    monkeypatch.setattr(werkzeug.formparser, "SpooledTemporaryFile", no_disk)
    big = images.png(images.pattern(700, 700, seed=3))           # ~1.4 MB, over 500 kB
    assert len(big) > 600_000
    r = post(app.test_client(), "/detect", big, "big.png")
    assert r.status_code == 200

    # the check is real: a stock Flask app would spool this upload to disk
    import flask
    stock = flask.Flask("stock")
    stock.testing = True                                        # let the error propagate

    @stock.post("/u")
    def upload():
        return str(len(flask.request.files["image"].read()))
    with pytest.raises(AssertionError, match="disk"):
        post(stock.test_client(), "/u", big)


# --- strength ------------------------------------------------------------------------------

def negate(batch, training=False):
    """A 'restorer' whose full output is the negative image: strength is easy to read off."""
    return -batch


@pytest.fixture()
def strength_client(tiny_models, no_client):
    from dejpeg.restorer import Restorer

    def build(detector=None):
        rest = Restorer(negate, "small-postgan", strength={10: 1.0, 50: 0.2})
        models = dataclasses.replace(tiny_models, restorers={"small-postgan": rest},
                                     detector=detector or tiny_models.detector)
        return make_app(models, no_client).test_client()
    return build


def expected(rgb, strength):
    x = rgb.astype(np.float64) / 127.5 - 1.0
    return np.clip(np.rint((x + strength * (-x - x) + 1.0) * 127.5), 0, 255)


def test_auto_strength_follows_the_file_quality(strength_client):
    client = strength_client()
    for quality, want in [(10, 1.0), (30, 0.6), (50, 0.2), (90, 0.2)]:
        data = images.jpeg(A, quality)
        r = post(client, "/restore", data, force="true")
        assert r.headers["X-Dejpeg-Strength"] == f"{want:.2f}", quality
        decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        got = np.asarray(png_pixels(r.data).convert("RGB")).astype(np.float64)
        assert np.abs(got - expected(decoded, want)).max() <= 1, quality


def test_auto_strength_without_a_known_quality_is_full(strength_client):
    r = post(strength_client(), "/restore", images.png(A), "a.png", force="true")
    assert r.headers["X-Dejpeg-Strength"] == "1.00"
    assert np.abs(np.asarray(png_pixels(r.data)).astype(np.float64) - expected(A, 1.0)).max() <= 1


def test_forced_png_of_a_jpeg_gets_the_strength_of_its_pixels(strength_client):
    """Forced: no detection, yet the quality is estimated from the pixels on the grid."""
    decoded = np.asarray(Image.open(io.BytesIO(images.jpeg(A, 50))).convert("RGB"))
    r = post(strength_client(), "/restore", images.png(decoded), "a.png", force="true")
    assert r.headers["X-Dejpeg-Verdict"] == "skipped"
    assert 0.15 <= float(r.headers["X-Dejpeg-Strength"]) <= 0.3      # QF ~50 -> 0.2


def test_auto_strength_uses_the_detected_quality(strength_client):
    class Detected(StubDetector):
        def detect(self, rgb, jpeg_quality=None, jpeg_table=None):
            return {**super().detect(rgb), "quality": {"estimate": 30, "source": "pixels"}}

    r = post(strength_client(Detected("single")), "/restore", images.png(A), "a.png",
             headers={"Accept": "application/json"})
    body = r.get_json()
    assert body["restored"] is True and body["strength"] == pytest.approx(0.6)
    assert r.headers["X-Dejpeg-Strength"] == "0.60"


@pytest.mark.parametrize("first, want", [(10, 1.0), (90, 0.4)])
def test_auto_strength_answers_a_heavier_first_compression(strength_client, first, want):
    """A double whose first compression was heavier than its last: the strength answers the
    first's blocking (QF 10: 1.0), not the last quality's (QF 40: 0.4); a lighter first one
    changes nothing."""
    class Detected(StubDetector):
        def detect(self, rgb, jpeg_quality=None, jpeg_table=None):
            return {**super().detect(rgb),
                    "quality": {"estimate": 40, "first_estimate": first, "source": "pixels"}}

    r = post(strength_client(Detected("double")), "/restore", images.png(A), "a.png")
    assert r.headers["X-Dejpeg-Strength"] == f"{want:.2f}"


@pytest.mark.parametrize("value, want", [("0", 0.0), ("0.25", 0.25), ("1", 1.0), ("auto", 0.2)])
def test_asked_strength(strength_client, value, want):
    data = images.jpeg(A, 50)
    r = post(strength_client(), "/restore", data, force="true", strength=value)
    assert r.status_code == 200 and r.headers["X-Dejpeg-Strength"] == f"{want:.2f}"
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    got = np.asarray(png_pixels(r.data).convert("RGB")).astype(np.float64)
    assert np.abs(got - expected(decoded, want)).max() <= 1
    if value == "0":
        np.testing.assert_array_equal(got, decoded)


@pytest.mark.parametrize("value", ["", "2", "-0.1", "1.5", "nan", "inf", "strong", "AUTO"])
def test_bogus_strength_is_400(client, value):
    r = post(client, "/restore", images.jpeg(A), strength=value)
    assert is_problem(r, 400) and "strength" in r.get_json()["detail"]


def test_not_restored_reports_no_strength(stub_client):
    r = post(stub_client("uncompressed"), "/restore", images.png(A), "a.png",
             headers={"Accept": "application/json"})
    assert r.headers["X-Dejpeg-Strength"] == "none" and r.get_json()["strength"] is None
