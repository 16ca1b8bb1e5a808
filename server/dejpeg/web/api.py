"""The REST API of shared/API.md: /detect, /restore, /models, /health, /openapi.json."""
from __future__ import annotations

import base64
import time

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.utils import secure_filename

from .. import __version__
from .. import quality as quality_mod
from ..errors import UnusableImage
from ..imageio import Decoded, decode, encode_png
from . import openapi
from .uploads import read_force, read_image, read_model, read_strength

bp = Blueprint("api", __name__)

MIN_SIDE = 8   # one 8x8 JPEG block: below that there is nothing to detect or restore


def _services():
    return current_app.extensions["dejpeg"]


def _decode_upload(data: bytes) -> Decoded:
    config = _services().config
    image = decode(data, max_bytes=config.max_upload_bytes, max_pixels=config.max_pixels)
    if image.width < MIN_SIDE or image.height < MIN_SIDE:
        raise UnusableImage(f"The image is {image.width}x{image.height} pixels; "
                            f"at least {MIN_SIDE}x{MIN_SIDE} are needed.")
    return image


def _detect(image: Decoded) -> dict:
    result = dict(_services().models.detector.detect(image.rgb, jpeg_quality=image.jpeg_quality,
                                                       jpeg_table=image.jpeg_table))
    quality = result.get("quality")
    if quality and quality.get("source") == "quantization-table":
        result["quality"] = {**quality, "exact": image.jpeg_quality_exact}
    result["image"] = image.info()
    return result


def _seconds(t: float) -> float:
    return round(time.perf_counter() - t, 4)


@bp.post("/detect")
def detect():
    t0 = time.perf_counter()
    services = _services()
    data = read_image(request, services.config.max_upload_bytes)
    with services.gate.slot() as waited:
        t1 = time.perf_counter()
        image = _decode_upload(data)
        t2 = time.perf_counter()
        body = _detect(image)
        timings = {"queue_s": round(waited, 4), "decode_s": round(t2 - t1, 4),
                   "detect_s": _seconds(t2)}
    body["timings"] = {**timings, "total_s": _seconds(t0)}
    return jsonify(body)


@bp.post("/restore")
def restore():
    t0 = time.perf_counter()
    services = _services()
    models = services.models
    force = read_force(request)
    model = read_model(request, sorted(models.restorers), models.default_restorer)
    asked_strength = read_strength(request)
    data = read_image(request, services.config.max_upload_bytes)
    as_json = request.accept_mimetypes.best_match(
        ["image/png", "application/json"], default="image/png") == "application/json"

    with services.gate.slot() as waited:
        timings = {"queue_s": round(waited, 4)}
        t = time.perf_counter()
        image = _decode_upload(data)
        timings["decode_s"] = _seconds(t)
        body = {}
        if not force:
            t = time.perf_counter()
            body = _detect(image)
            body["detector"] = body.get("model")
            timings["detect_s"] = _seconds(t)
        restored = force or body["verdict"] != "uncompressed"
        pixels = image.rgb
        strength = None
        if restored:
            t = time.perf_counter()
            restorer = models.restorers[model]
            if force:       # no detection: grid and quality from the pixels (or the file)
                grid, estimate = quality_mod.grid_and_quality(image.rgb)
                quality = image.jpeg_quality or estimate
            else:           # what the detector reported (file tables or pixels)
                grid = (body["grid"]["dx"], body["grid"]["dy"])
                quality = restorer.damage_quality(body.get("quality"))
            strength = asked_strength if asked_strength is not None else restorer.strength_for(quality)
            pixels = restorer.restore(image.rgb, grid=grid, strength=strength)
            timings["restore_s"] = _seconds(t)
        t = time.perf_counter()
        png = encode_png(pixels, image.alpha, image.grayscale)
        timings["encode_s"] = _seconds(t)
    timings["total_s"] = _seconds(t0)

    headers = {
        "X-Dejpeg-Restored": "true" if restored else "false",
        "X-Dejpeg-Verdict": body.get("verdict", "skipped"),
        "X-Dejpeg-Model": model,
        "X-Dejpeg-Strength": "none" if strength is None else f"{strength:.2f}",
        "Server-Timing": ", ".join(f"{k[:-2]};dur={v * 1000:.1f}" for k, v in timings.items()),
        "Vary": "Accept",
    }
    if as_json:
        body.update(image=body.get("image", image.info()), restored=restored, model=model,
                    force=force, timings=timings,
                    strength=None if strength is None else round(strength, 4),
                    image_png="data:image/png;base64," + base64.b64encode(png).decode("ascii"))
        response = jsonify(body)
        response.headers.update(headers)
        return response
    upload = request.files.get("image")
    stem = secure_filename(upload.filename or "").rsplit(".", 1)[0] or "image"
    headers["Content-Disposition"] = f'inline; filename="{stem}-dejpeg.png"'
    return Response(png, mimetype="image/png", headers=headers)


@bp.get("/models")
def list_models():
    models = _services().models
    return jsonify({"models": models.catalog, "default_restorer": models.default_restorer,
                    "detector": models.detector.name})


@bp.get("/health")
def health():
    services = _services()
    config, models = services.config, services.models
    return jsonify({
        "status": "ok",
        "version": __version__,
        "models": {"detector": models.detector.name, "restorers": sorted(models.restorers),
                   "default_restorer": models.default_restorer},
        "limits": {"max_upload_bytes": config.max_upload_bytes, "max_pixels": config.max_pixels,
                   "max_concurrent": config.max_concurrent, "max_queue": config.max_queue,
                   "queue_timeout_s": config.queue_timeout_s},
        "load": services.gate.state(),
    })


@bp.get("/openapi.json")
def openapi_json():
    services = _services()
    return jsonify(openapi.spec(services.models, services.config))
