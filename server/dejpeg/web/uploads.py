"""Reading the multipart form of /detect and /restore: in memory only, validated strictly."""
from __future__ import annotations

import io

from flask import Request

from ..errors import BadRequest, PayloadTooLarge

FIELD = "image"
HINT = "Send multipart/form-data with the file in a field named 'image', " \
       "e.g. curl -F image=@photo.jpg"


class InMemoryRequest(Request):
    """Uploaded files stay in memory.

    Werkzeug spools a multipart file part larger than 500 kB to a temporary file on disk;
    nothing a user uploads may be written to disk, so every part goes to a BytesIO instead.
    MAX_CONTENT_LENGTH bounds the memory this takes.
    """

    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        return io.BytesIO()


def read_image(request: Request, max_bytes: int) -> bytes:
    """The bytes of the uploaded file field `image` (400 when missing or empty)."""
    if request.mimetype != "multipart/form-data":
        raise BadRequest(f"Expected multipart/form-data, got {request.mimetype or 'no body'}. {HINT}.")
    upload = request.files.get(FIELD)
    if upload is None:
        if FIELD in request.form:
            raise BadRequest(f"The field 'image' must be a file upload, not text. {HINT}.")
        raise BadRequest(f"Missing the field 'image'. {HINT}.")
    data = upload.stream.read(max_bytes + 1)
    if not data:
        raise BadRequest("The field 'image' is empty: the uploaded file has no bytes.")
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"The image is larger than the upload limit of {max_bytes} bytes.")
    return data


def read_force(request: Request) -> bool:
    """The optional field `force`: exactly 'true' or 'false' (default false)."""
    value = request.form.get("force")
    if value is None:
        return False
    if value in ("true", "false"):
        return value == "true"
    raise BadRequest(f"The field 'force' must be 'true' or 'false', not {_quote(value)}.")


def read_strength(request: Request) -> float | None:
    """The optional field `strength`: 'auto' (default: None, the calibrated strength for the
    image's quality) or a number from 0 (input unchanged) to 1 (the network's full output)."""
    value = request.form.get("strength")
    if value is None or value == "auto":
        return None
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if 0.0 <= number <= 1.0:          # also False for nan
        return number
    raise BadRequest(f"The field 'strength' must be 'auto' or a number from 0 to 1, "
                     f"not {_quote(value)}.")


def read_model(request: Request, names: list[str], default: str) -> str:
    """The optional field `model`: one of the loaded restorers (default: the recommended one)."""
    value = request.form.get("model")
    if value is None:
        return default
    if value in names:
        return value
    raise BadRequest(f"Unknown model {_quote(value)}. Valid restorers: {', '.join(names)}.")


def _quote(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")
