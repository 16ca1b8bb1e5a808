"""deJPEG: detect JPEG compression (never / once / twice) and remove JPEG artifacts."""

__version__ = "0.1.0"
