"""Run-time settings, read from environment variables (documented in README.md)."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_MODELS_DIR = PACKAGE_DIR / "models"
# server/dejpeg/config.py -> repository root -> client/dist
DEFAULT_CLIENT_DIST = PACKAGE_DIR.parent.parent / "client" / "dist"

MiB = 1024 * 1024


class ConfigError(ValueError):
    """An environment variable has a value we cannot use."""


@dataclasses.dataclass(frozen=True)
class Config:
    models_dir: Path = DEFAULT_MODELS_DIR
    max_upload_bytes: int = 32 * MiB
    max_pixels: int = 50_000_000
    max_concurrent: int = 2          # inferences running at once, per process
    max_queue: int = 16              # requests waiting for an inference slot, per process
    queue_timeout_s: float = 30.0    # how long a request waits for a slot before a 503
    cors_origins: tuple[str, ...] = ()
    port: int = 5000
    client_dist: Path = DEFAULT_CLIENT_DIST

    def __post_init__(self):
        for name in ("max_upload_bytes", "max_pixels", "max_concurrent", "port"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.max_queue < 0 or self.queue_timeout_s < 0:
            raise ConfigError("max_queue and queue_timeout_s cannot be negative")

    @classmethod
    def from_env(cls, environ=None) -> "Config":
        env = os.environ if environ is None else environ
        kw = {}
        for var, field, parse in _VARIABLES:
            value = env.get(var, "").strip()
            if value:
                try:
                    kw[field] = parse(value)
                except ValueError:
                    raise ConfigError(f"{var}={value!r} is not valid") from None
        return cls(**kw)

    def replace(self, **changes) -> "Config":
        return dataclasses.replace(self, **changes)


def _origins(value: str) -> tuple[str, ...]:
    return tuple(o.strip() for o in value.split(",") if o.strip())


# (environment variable, Config field, parser)
_VARIABLES = [
    ("DEJPEG_MODELS_DIR", "models_dir", Path),
    ("DEJPEG_MAX_UPLOAD_BYTES", "max_upload_bytes", int),
    ("DEJPEG_MAX_PIXELS", "max_pixels", int),
    ("DEJPEG_MAX_CONCURRENT", "max_concurrent", int),
    ("DEJPEG_MAX_QUEUE", "max_queue", int),
    ("DEJPEG_QUEUE_TIMEOUT_S", "queue_timeout_s", float),
    ("DEJPEG_CORS_ORIGINS", "cors_origins", _origins),
    ("DEJPEG_CLIENT_DIST", "client_dist", Path),
    ("PORT", "port", int),
]
