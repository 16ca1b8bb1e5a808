"""Every error as RFC 9457 problem details: application/problem+json {type, title, status, detail}."""
from __future__ import annotations

import re

from flask import Flask, current_app, jsonify
from werkzeug.exceptions import HTTPException

from ..errors import Busy, DejpegError, PayloadTooLarge

PROBLEM_JSON = "application/problem+json"


def problem(status: int, title: str, detail: str, type_: str = "about:blank", headers=None):
    """A problem-details response."""
    response = jsonify({"type": type_, "title": title, "status": status, "detail": detail})
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _slug(cls: type) -> str:
    """UnsupportedImage -> unsupported-image."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", cls.__name__).lower()


def on_dejpeg_error(e: DejpegError):
    headers = {"Retry-After": str(e.retry_after)} if isinstance(e, Busy) else None
    return problem(e.status, e.title, e.detail, f"urn:dejpeg:problem:{_slug(type(e))}", headers)


def on_http_error(e: HTTPException):
    if e.code == 413:          # werkzeug stopped reading the body: same answer as our own check
        limit = current_app.extensions["dejpeg"].config.max_upload_bytes
        return on_dejpeg_error(PayloadTooLarge(
            f"The request is too large: uploads are limited to {limit} bytes, "
            "in a form of a few fields."))
    detail = e.description or e.name
    headers = {k: v for k, v in e.get_headers() if k.lower() in ("allow", "retry-after")}
    return problem(e.code or 500, e.name, detail, headers=headers)


def on_unexpected(e: Exception):
    if isinstance(e, HTTPException):          # Flask routes these here only when unhandled
        return on_http_error(e)
    current_app.logger.exception("unexpected error")
    return problem(500, "Internal error", "The server failed while handling this request. "
                   "This is a bug; the request can be retried.")


def register(app: Flask) -> None:
    app.register_error_handler(DejpegError, on_dejpeg_error)
    app.register_error_handler(HTTPException, on_http_error)
    app.register_error_handler(Exception, on_unexpected)
