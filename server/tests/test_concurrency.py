"""Concurrent requests: same answers as one by one, bad requests alongside change nothing,
and a saturated server answers 503 with Retry-After instead of piling up work."""
import dataclasses
import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import images
from conftest import make_app

GOOD = {
    "jpeg-q10": images.jpeg(images.pattern(300, 260, seed=1), 10),
    "jpeg-q50": images.jpeg(images.pattern(520, 700, seed=2), 50),
    "jpeg-q90-small": images.jpeg(images.pattern(64, 80, seed=3), 90),
    "png": images.png(images.pattern(256, 256, seed=4)),
    "png-odd": images.png(images.pattern(131, 517, seed=5)),
}
BAD = {
    "text": (b"not an image" * 50, 415),
    "bomb": (images.png_bomb(), 422),
    "truncated": (images.jpeg(images.pattern(200, 200))[:900], 415),
    "tiny": (images.png(images.pattern(2, 2)), 422),
}


def call(app, kind, name):
    client = app.test_client()
    if kind == "detect":
        r = client.post("/detect", data={"image": (io.BytesIO(GOOD[name]), name)})
        body = r.get_json()
        return r.status_code, (body["verdict"], body["probabilities"], body["blocks"], body["quality"])
    if kind == "restore":
        r = client.post("/restore", data={"image": (io.BytesIO(GOOD[name]), name), "force": "true"})
        return r.status_code, r.data
    if kind == "bad":
        r = client.post("/detect", data={"image": (io.BytesIO(BAD[name][0]), name)})
        return r.status_code, None
    if kind == "bogus-force":
        r = client.post("/restore", data={"image": (io.BytesIO(GOOD[name]), name), "force": "ja"})
        return r.status_code, None


def test_concurrent_answers_equal_serial_ones(tiny_models, no_client):
    app = make_app(tiny_models, no_client, max_concurrent=2, max_queue=64, queue_timeout_s=120)
    serial = {("detect", n): call(app, "detect", n) for n in GOOD}
    serial.update({("restore", n): call(app, "restore", n) for n in ("jpeg-q10", "png-odd")})
    assert all(status == 200 for status, _ in serial.values())

    jobs = [key for _ in range(3) for key in serial]
    jobs += [("bad", n) for n in BAD for _ in range(3)] + [("bogus-force", "png")] * 3
    jobs = jobs[::2] + jobs[1::2]                        # mix good and bad
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda job: (job, call(app, *job)), jobs))

    for (kind, name), (status, payload) in answers:
        if kind == "bad":
            assert status == BAD[name][1]
        elif kind == "bogus-force":
            assert status == 400
        else:
            assert (status, payload) == serial[(kind, name)], (kind, name)
    assert app.extensions["dejpeg"].gate.state()["running"] == 0
    assert app.test_client().get("/health").get_json()["load"]["waiting"] == 0


class BlockingDetector:
    """Holds its inference slot until released: makes saturation deterministic."""
    name = "blocking"

    def __init__(self):
        self.release = threading.Event()

    def detect(self, rgb, jpeg_quality=None, jpeg_table=None):
        assert self.release.wait(30)
        p = {"uncompressed": 1.0, "single": 0.0, "double": 0.0}
        return {"verdict": "uncompressed", "probabilities": p, "blocks": [],
                "grid": {"dx": 0, "dy": 0}, "quality": None, "model": self.name}


def wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_saturation_is_503_with_retry_after(tiny_models, no_client):
    detector = BlockingDetector()
    models = dataclasses.replace(tiny_models, detector=detector)
    app = make_app(models, no_client, max_concurrent=1, max_queue=1, queue_timeout_s=0.5)
    gate = app.extensions["dejpeg"].gate
    data = GOOD["png"]

    def detect():
        return app.test_client().post("/detect", data={"image": (io.BytesIO(data), "a.png")})

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(detect)                      # takes the only slot
        wait_for(lambda: gate.running == 1)
        second = pool.submit(detect)                     # waits in the queue...
        wait_for(lambda: gate.waiting == 1)
        third = detect()                                 # queue full: refused at once
        assert third.status_code == 503 and third.mimetype == "application/problem+json"
        assert int(third.headers["Retry-After"]) >= 1
        r = second.result(timeout=10)                    # ...and gives up after 0.5 s
        assert r.status_code == 503 and "Retry-After" in r.headers
        detector.release.set()
        assert first.result(timeout=10).status_code == 200
    assert gate.running == 0 and gate.waiting == 0
    assert detect().status_code == 200                   # and the server recovered
