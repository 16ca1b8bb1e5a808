"""Errors a user can cause, each with its HTTP status (rendered as RFC 9457 problem details)."""
from __future__ import annotations


class DejpegError(Exception):
    """Base class: `status` and `title` are what the API answers."""
    status = 500
    title = "Internal error"

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class BadRequest(DejpegError):
    status = 400
    title = "Bad request"


class PayloadTooLarge(DejpegError):
    status = 413
    title = "Upload too large"


class UnsupportedImage(DejpegError):
    status = 415
    title = "Not a decodable image"


class UnusableImage(DejpegError):
    """A valid image the models cannot take (zero area, too many pixels, too small...)."""
    status = 422
    title = "Image cannot be processed"


class Busy(DejpegError):
    status = 503
    title = "Server busy"

    def __init__(self, detail: str, retry_after: int = 1):
        super().__init__(detail)
        self.retry_after = retry_after


class MissingModel(RuntimeError):
    """A model file named in the catalog is not on disk: the server refuses to start."""
