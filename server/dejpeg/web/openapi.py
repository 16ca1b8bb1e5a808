"""The OpenAPI 3 description of the API, built for the models this server has loaded."""
from __future__ import annotations

from .. import __version__

CLASSES = ["uncompressed", "single", "double"]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict, required=(), **extra) -> dict:
    return {"type": "object", "properties": properties, "required": list(required), **extra}


NUMBER = {"type": "number"}
INTEGER = {"type": "integer"}
STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
VERDICT = {"type": "string", "enum": CLASSES}
TIMINGS = {"type": "object", "additionalProperties": NUMBER,
           "description": "Seconds spent in each stage: queue_s (waiting for an inference "
                          "slot), decode_s, detect_s, restore_s, encode_s, total_s."}


def _coarser_steps(against: str) -> dict:
    """The fields of a table check (`detector.coarser_table_check`) against `against`."""
    return {
        "coarser_steps": {**INTEGER, "description": "How many of the first 15 AC frequencies "
                          "read a step (clear, >= 5) that is a multiple, twice or more, of "
                          f"{against} (0 for a single compression)."},
        "decisive": {**BOOLEAN, "description": "coarser_steps >= 3: a heavier compression on "
                     "the same grid came before the last one; the verdict is double."},
        "first_quality": {**INTEGER, "nullable": True, "description":
                          "The IJG quality whose table matches those steps, when decisive."},
    }


SCHEMAS = {
    "Problem": _obj({
        "type": {**STRING, "description": "A URI naming the kind of problem."},
        "title": {**STRING, "description": "A short summary of the kind of problem."},
        "status": {**INTEGER, "description": "The HTTP status code."},
        "detail": {**STRING, "description": "What went wrong with this request, in words."},
    }, ["type", "title", "status", "detail"], description="RFC 9457 problem details."),
    "Probabilities": _obj({c: {**NUMBER, "minimum": 0, "maximum": 1} for c in CLASSES}, CLASSES,
                          description="Class probabilities; they sum to 1."),
    "Block": _obj({
        "x": INTEGER, "y": INTEGER,
        "size": {**INTEGER, "description": "Side of the analysed block (256)."},
        "width": {**INTEGER, "description": "Image pixels inside the block."},
        "height": INTEGER,
        "tiled": {**BOOLEAN, "description": "The image was smaller than a block and was "
                                            "tiled to fill it."},
        "verdict": VERDICT,
        "probabilities": _ref("Probabilities"),
    }, ["x", "y", "size", "verdict", "probabilities"]),
    "Quality": _obj({
        "estimate": {**INTEGER, "minimum": 1, "maximum": 100,
                     "description": "IJG quality factor of the (last) compression."},
        "source": {"type": "string", "enum": ["quantization-table", "pixels"]},
        "exact": {**BOOLEAN, "description": "The file's table is exactly an IJG table "
                                            "(only for source quantization-table)."},
        "first_estimate": {**INTEGER, "minimum": 1, "maximum": 100, "description":
                           "IJG quality of the first of two compressions: from the "
                           "double-quantization test when it is decisive, else from the file "
                           "table check (file_table) or the pixels' own (last_table) when that "
                           "is."},
    }, ["estimate", "source"], nullable=True),
    "DoubleQuantization": _obj({
        "evidence": {**NUMBER, "description": "Log-likelihood gain per DCT coefficient of the "
                     "best first-compression hypothesis over a single compression (~0.001 "
                     "single, 0.3-1.3 for a heavier first pass on the same grid)."},
        "decisive": {**BOOLEAN, "description": "Evidence >= 0.2: a picture called "
                     "compressed is called double (one called uncompressed stays so)."},
        "first_quality": {**INTEGER, "nullable": True, "description":
                          "The first compression's IJG quality when decisive, else null."},
    }, ["evidence", "decisive", "first_quality"],
        description="The histogram test for a first compression on the same 8x8 grid; most "
                    "double compressions (a lighter first pass, or a crop in between) leave "
                    "no such trace, so not decisive says nothing."),
    "SecondGrid": _obj({
        "dx": INTEGER, "dy": INTEGER,
        "evidence": {**NUMBER, "description": "How much more periodic the low-frequency DCT "
                     "coefficients are on this grid than on the other grids apart from the "
                     "last one (~0.01-0.03 single, 0.04-0.46 cropped between compressions)."},
        "block_means": {**NUMBER, "description": "How tightly the block means (DC) of this "
                        "grid sit on the multiples of some DC step (4-40, QF 20-95), as a "
                        "z-score against the other grids; 0 where the grid whose block means "
                        "stand out most is another one, or the last compression was heavier "
                        "than QF 60 (singles on training crops: under 6)."},
        "decisive": {**BOOLEAN, "description": "Evidence >= 0.06 after a last compression of "
                     "quality >= 85 (steps read <= 4), or block_means >= 6: a picture called "
                     "compressed is called double (one called uncompressed stays so)."},
        "first_quality": {**INTEGER, "nullable": True, "description":
                          "When block_means is decisive: the IJG quality whose DC step the "
                          "block means sit on (an estimate: cameras use tables of their own); "
                          "also quality.first_estimate when the double-quantization test and "
                          "the file's table name none."},
    }, ["dx", "dy", "evidence", "block_means", "decisive", "first_quality"],
        description="The strongest other 8x8 grid (differing from the last one in both "
                    "directions): a first compression before a crop, visible in the DCT "
                    "coefficients' periodicity through a light last compression, in the block "
                    "means through one of QF 60 or lighter."),
    "LightFirstPass": _obj({
        "evidence": {**NUMBER, "description": "Deviance gain (a likelihood-ratio statistic) "
                     "of the alternation that a lighter first compression's finer steps leave "
                     "in the last steps' histograms (the first 15 AC frequencies and the "
                     "blocks' means, the DC), read on up to 2048 px a side (under 40 for all "
                     "but 1 of 990 single compressions on training crops; up to thousands for "
                     "a JPEG resaved lower)."},
        "decisive": {**BOOLEAN, "description": "Evidence >= 40: a picture called compressed "
                     "is called double (one called uncompressed stays so)."},
        "first_quality": {**INTEGER, "nullable": True, "description":
                          "When decisive: the IJG quality whose steps the alternation fits best "
                          "(an estimate: cameras use tables of their own); also "
                          "quality.first_estimate when no other test names one."},
    }, ["evidence", "decisive", "first_quality"],
        description="The histogram test for a first compression lighter than the last on the "
                    "same 8x8 grid (a camera's JPEG resaved at an ordinary quality, a JPEG "
                    "resaved a few qualities lower); where the "
                    "last steps are multiples of the first ones no trace is left, so not "
                    "decisive says nothing."),
    "Lattice": _obj({
        "evidence": {**NUMBER, "description": "How far the grid's AC DCT "
                     "coefficients sit on whole numbers, as a JPEG decoder leaves them at any "
                     "quality (QF 100 included): their z-score above the median of the 64 grids, "
                     "minus the best other grid's (under 2 for never-compressed training crops, "
                     "pixel art included; up to tens for JPEGs at QF 97-100)."},
        "decisive": {**BOOLEAN, "description": "Evidence >= 6: a picture the pixels called "
                     "uncompressed is called compressed; when no grid of zeros stands out, "
                     "this grid is the one used."},
    }, ["evidence", "decisive"],
        description="The whole-number lattice of a JPEG decoder's coefficients: what tells the "
                    "lightest JPEGs, whose steps of 1-2 zero next to nothing, from "
                    "never-compressed pictures."),
    "SingleVsDouble": _obj({
        "confidence": {**NUMBER, "description": "The larger of the single and double "
                       "probabilities over their sum (0.5-1)."},
        "decided": {**BOOLEAN, "description": "Confidence >= 0.7.  When false the pixels do not "
                    "tell once from twice: a first compression lighter than the last one, or "
                    "at the same quality, can leave no trace, and then the verdict's single or "
                    "double is a coin flip (`make eval-detector` on the validation split: "
                    "right 62.1 % of the time, against 99.4 % when decided)."},
    }, ["confidence", "decided"], nullable=True,
        description="For a picture called compressed (null otherwise): how far the "
                    "probabilities tell one compression from two."),
    "FileTable": _obj(_coarser_steps("the file's own luma step there"),
                      ["coarser_steps", "decisive", "first_quality"], nullable=True,
                      description="A JPEG file only (null otherwise): its coefficients against "
                                  "its own quantisation table; sitting on a coarser lattice "
                                  "shows an earlier, heavier compression that a light last one "
                                  "(QF 97 after QF 50) left in place."),
    "LastTable": _obj({
        "quality": {**INTEGER, "minimum": 1, "maximum": 100, "description":
                    "The IJG quality whose table gives the picture's blocks back to the pixel "
                    "(quantised with it and decoded with libjpeg's integer inverse DCT): its "
                    "last compression's table, as the pixels show it."},
        **_coarser_steps("that table's step there"),
    }, ["quality", "coarser_steps", "decisive", "first_quality"], nullable=True,
        description="Pixels only (null for a JPEG file, whose own table file_table checks, for "
                    "a picture called uncompressed, and "
                    "when no IJG table gives "
                    "at least 99.95 % of the pixels back, as after another decoder and mostly "
                    "at qualities over 90, whose fine steps the decoder's rounding hides): the "
                    "file table check made with the table the pixels themselves prove."),
    "ImageInfo": _obj({
        "width": INTEGER, "height": INTEGER,
        "format": {**STRING, "description": "File format as Pillow names it: JPEG, PNG, ..."},
        "mode": {**STRING, "description": "Pixel mode of the upload: RGB, RGBA, L, P, I;16, ..."},
        "alpha": BOOLEAN, "grayscale": BOOLEAN,
    }, ["width", "height", "format"]),
    "Detection": _obj({
        "verdict": VERDICT,
        "probabilities": {"allOf": [_ref("Probabilities")], "description":
                          "Image-level class probabilities.  For a JPEG file (compressed at "
                          "least once, whatever its pixels show) uncompressed is 0 and single / "
                          "double keep the pixels' ratio."},
        "pixel_probabilities": {"allOf": [_ref("Probabilities")], "description":
                                "What the pixels alone say (CNN and grid statistics); equal "
                                "to probabilities unless the upload is a JPEG file."},
        "blocks": {"type": "array", "items": _ref("Block")},
        "grid": _obj({"dx": INTEGER, "dy": INTEGER,
                      "evidence": {**NUMBER, "description": "How strongly that grid stands out "
                                   "(~0.005 never compressed, 0.1-0.4 typical JPEG)."},
                      "transposed": {**BOOLEAN, "description": "The picture was turned a "
                                     "quarter (rows and columns swapped) since its last "
                                     "compression, as a portrait photo shown upright from "
                                     "its EXIF orientation is: it was analysed the way it "
                                     "was compressed.  Blocks and offsets are given in the "
                                     "picture as uploaded."}},
                     description="Offset of the 8x8 JPEG grid."),
        "quality": _ref("Quality"),
        "double_quantization": _ref("DoubleQuantization"),
        "second_grid": _ref("SecondGrid"),
        "light_first_pass": _ref("LightFirstPass"),
        "lattice": _ref("Lattice"),
        "single_vs_double": _ref("SingleVsDouble"),
        "file_table": _ref("FileTable"),
        "last_table": _ref("LastTable"),
        "image": _ref("ImageInfo"),
        "model": {**STRING, "description": "The detector's name."},
        "timings": TIMINGS,
    }, ["verdict", "probabilities", "pixel_probabilities", "blocks", "quality", "image", "model",
        "timings"]),
    "Restoration": _obj({
        "restored": {**BOOLEAN, "description": "False when the detector found no compression "
                                               "and the input was returned unchanged."},
        "model": {**STRING, "description": "The restorer's name."},
        "force": BOOLEAN,
        "strength": {"type": "number", "nullable": True, "minimum": 0, "maximum": 1,
                     "description": "The strength applied (output = input + strength x "
                                    "(network output - input)); null when not restored."},
        "image_png": {**STRING, "description": "The result as a data:image/png;base64 URL."},
        "image": _ref("ImageInfo"),
        "timings": TIMINGS,
        "detector": {**STRING, "description": "The detector's name (when detection ran)."},
        "verdict": VERDICT,
        "probabilities": _ref("Probabilities"),
        "pixel_probabilities": _ref("Probabilities"),
        "blocks": {"type": "array", "items": _ref("Block")},
        "grid": _obj({"dx": INTEGER, "dy": INTEGER, "evidence": NUMBER, "transposed": BOOLEAN}),
        "quality": _ref("Quality"),
        "double_quantization": _ref("DoubleQuantization"),
        "second_grid": _ref("SecondGrid"),
        "light_first_pass": _ref("LightFirstPass"),
        "lattice": _ref("Lattice"),
        "single_vs_double": _ref("SingleVsDouble"),
        "file_table": _ref("FileTable"),
        "last_table": _ref("LastTable"),
    }, ["restored", "model", "image_png", "image", "timings"],
        description="The /detect fields (when detection ran, i.e. force=false) plus the result."),
    "Model": _obj({
        "name": STRING,
        "kind": {"type": "string", "enum": ["detector", "restorer"]},
        "file": STRING,
        "description": STRING,
        "trained_for": {"type": "object"},
        "metrics": {"type": "object"},
        "strength_by_quality": {"type": "object", "additionalProperties": NUMBER,
                                "description": "Restorers: the strength served at each JPEG "
                                               "quality (interpolated between)."},
        "verdict_calibration": {"type": "object",
                                "description": "Detector: the weights of its image-level "
                                               "calibration (two logistic regressions, compressed "
                                               "vs not and double vs single, on the CNN's mean "
                                               "probabilities, the grid evidence and the "
                                               "quantiser-table fit)."},
        "default": BOOLEAN,
    }, ["name", "kind", "description", "default"]),
    "Models": _obj({
        "models": {"type": "array", "items": _ref("Model")},
        "default_restorer": STRING,
        "detector": STRING,
    }, ["models", "default_restorer", "detector"]),
    "Health": _obj({
        "status": {"type": "string", "enum": ["ok"]},
        "version": STRING,
        "models": {"type": "object"},
        "limits": {"type": "object"},
        "load": {"type": "object"},
    }, ["status"]),
}


def _problem(description: str, headers: dict | None = None) -> dict:
    out = {"description": description,
           "content": {"application/problem+json": {"schema": _ref("Problem")}}}
    if headers:
        out["headers"] = headers
    return out


def _upload_errors(config) -> dict:
    retry = {"Retry-After": {"description": "Seconds to wait before retrying.",
                             "schema": INTEGER}}
    return {
        "400": _problem("Missing or empty 'image' field, not a multipart form, or a bad "
                        "'model' / 'force' / 'strength' value."),
        "413": _problem(f"The upload is larger than {config.max_upload_bytes} bytes "
                        "(DEJPEG_MAX_UPLOAD_BYTES)."),
        "415": _problem("The file is not an image the server can decode (or is truncated "
                        "or corrupt)."),
        "422": _problem(f"An image the models cannot take: more than {config.max_pixels} "
                        "pixels (DEJPEG_MAX_PIXELS) or smaller than 8x8."),
        "503": _problem("Saturated: every inference slot is busy and the queue is full or "
                        "the wait timed out.", retry),
    }


def spec(models, config) -> dict:
    """The OpenAPI 3.0 document; the `model` enum lists the restorers loaded here."""
    restorers = sorted(models.restorers)
    image_field = {"type": "string", "format": "binary",
                   "description": "The image file: JPEG, PNG, WebP, BMP, TIFF, GIF (first "
                                  "frame), anything Pillow reads."}
    detect_body = {"required": True, "content": {"multipart/form-data": {
        "schema": _obj({"image": image_field}, ["image"])}}}
    restore_body = {"required": True, "content": {"multipart/form-data": {
        "schema": _obj({
            "image": image_field,
            "model": {"type": "string", "enum": restorers, "default": models.default_restorer,
                      "description": "The restorer to use (GET /models)."},
            "force": {"type": "string", "enum": ["true", "false"], "default": "false",
                      "description": "true: skip detection and always restore."},
            "strength": {"type": "string", "pattern": r"^(auto|0(\.[0-9]+)?|1(\.0+)?)$",
                         "default": "auto",
                         "description": "'auto': the strength calibrated for the image's "
                                        "JPEG quality (GET /models, strength_by_quality), "
                                        "the quality being the detector's estimate (its "
                                        "first_estimate when that is heavier), or with "
                                        "force=true the file's tables or the pixels' (1 when "
                                        "unknown); or a number from 0 (input unchanged) to 1 "
                                        "(the network's full output)."},
        }, ["image"])}}}
    flag = {"schema": {"type": "string", "enum": ["true", "false"]}}
    restore_headers = {
        "X-Dejpeg-Restored": {**flag, "description": "Whether the restorer ran."},
        "X-Dejpeg-Verdict": {"description": "The detector's verdict, or 'skipped' with "
                                            "force=true.",
                             "schema": {"type": "string", "enum": CLASSES + ["skipped"]}},
        "X-Dejpeg-Model": {"description": "The restorer chosen.", "schema": STRING},
        "X-Dejpeg-Strength": {"description": "The strength applied, e.g. 0.40, or 'none' "
                                             "when not restored.", "schema": STRING},
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "deJPEG API",
            "version": __version__,
            "description": "Detect whether an image was never, once or twice JPEG-compressed, "
                           "and remove JPEG artifacts. Every error is application/problem+json.",
        },
        "paths": {
            "/detect": {"post": {
                "operationId": "detect",
                "summary": "Detect JPEG compression (never / once / twice) in an image.",
                "requestBody": detect_body,
                "responses": {
                    "200": {"description": "Detection result.", "content": {
                        "application/json": {"schema": _ref("Detection")}}},
                    **_upload_errors(config),
                },
            }},
            "/restore": {"post": {
                "operationId": "restore",
                "summary": "Remove JPEG artifacts (after detection, unless force=true).",
                "description": "Without force the detector runs first and an image found "
                               "uncompressed is returned unchanged (restored=false). "
                               "Answers a PNG, or JSON with Accept: application/json.",
                "requestBody": restore_body,
                "responses": {
                    "200": {"description": "The restored image (same size as the input), "
                                           "or the input unchanged when not restored.",
                            "headers": restore_headers,
                            "content": {
                                "image/png": {"schema": {"type": "string", "format": "binary"}},
                                "application/json": {"schema": _ref("Restoration")}}},
                    **_upload_errors(config),
                },
            }},
            "/models": {"get": {
                "operationId": "models",
                "summary": "The loaded detector and restorers, and the default restorer.",
                "responses": {"200": {"description": "Model catalog.", "content": {
                    "application/json": {"schema": _ref("Models")}}}},
            }},
            "/health": {"get": {
                "operationId": "health",
                "summary": "Liveness: ok once the models are loaded; limits and current load.",
                "responses": {"200": {"description": "Healthy.", "content": {
                    "application/json": {"schema": _ref("Health")}}}},
            }},
            "/openapi.json": {"get": {
                "operationId": "openapi",
                "summary": "This document.",
                "responses": {"200": {"description": "OpenAPI 3 document.", "content": {
                    "application/json": {"schema": {"type": "object"}}}}},
            }},
        },
        "components": {"schemas": SCHEMAS},
    }
