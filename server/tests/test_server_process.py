"""End to end through a real socket: the server process as `make run` / `make serve` start it."""
import io

import pytest
import requests
from PIL import Image

import images
from dejpeg.loadtest import running_server

A = images.pattern(300, 420)


@pytest.fixture(scope="module", params=[0, 1], ids=["threaded", "gunicorn"])
def server(request, tiny_models_dir, no_client):
    env = {"DEJPEG_MAX_UPLOAD_BYTES": str(1_000_000), "DEJPEG_CLIENT_DIST": str(no_client)}
    with running_server(tiny_models_dir, workers=request.param, env=env) as (url, _):
        yield url


def test_detect_and_restore_over_http(server):
    r = requests.post(server + "/detect", files={"image": ("a.jpg", images.jpeg(A, 30))}, timeout=60)
    assert r.status_code == 200 and r.json()["quality"]["estimate"] == 30
    r = requests.post(server + "/restore", files={"image": ("a.jpg", images.jpeg(A, 10))},
                      data={"force": "true"}, timeout=60)
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).size == (420, 300)
    for path in ("/health", "/models", "/openapi.json", "/"):
        assert requests.get(server + path, timeout=10).status_code == 200


def test_upload_over_the_limit_is_a_413_problem(server):
    big = b"\xff\xd8" + bytes(3_000_000)
    r = requests.post(server + "/detect", files={"image": ("big.jpg", big)}, timeout=60)
    assert r.status_code == 413
    assert r.headers["Content-Type"] == "application/problem+json"
    assert "1000000 bytes" in r.json()["detail"]
    assert requests.get(server + "/health", timeout=10).json()["status"] == "ok"


def test_bad_input_is_not_a_500(server):
    r = requests.post(server + "/detect", files={"image": ("a.txt", b"hello")}, timeout=60)
    assert r.status_code == 415
    r = requests.post(server + "/restore", files={"image": ("a.png", images.png_bomb())}, timeout=60)
    assert r.status_code == 422


def test_loadtest_is_bounded_and_clean(server):
    from dejpeg.loadtest import run
    report = run(server, n_detect=12, n_restore=3, concurrency=4, timeout=120,
                 detect_size=(200, 260), restore_size=(96, 128))
    assert report["requests"] == 15
    for e in report["endpoints"].values():
        assert e["ok"] == e["requests"] and e["wrong_answers"] == 0 and e["errors_5xx"] == 0
        assert e["latency_s"]["p50"] <= e["latency_s"]["p99"]
