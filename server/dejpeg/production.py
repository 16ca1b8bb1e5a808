"""Production serving: the app under gunicorn (threaded workers, models loaded once per worker)."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication

from .config import Config


class DejpegServer(BaseApplication):
    """gunicorn, configured in code, serving `create_app(config)`."""

    def __init__(self, config: Config, options: dict):
        self.dejpeg_config = config
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from .web import create_app
        return create_app(self.dejpeg_config)


def options(host: str, port: int, workers: int) -> dict:
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": 4,
        # Each worker loads its own models after the fork: TensorFlow is not fork-safe once
        # its runtime has started, so the models are not preloaded in the master.
        "preload_app": False,
        "timeout": 300,               # a 50-megapixel restore on a small CPU takes minutes
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": "-",
        "worker_tmp_dir": "/dev/shm",
    }


def run_gunicorn(host: str, port: int, workers: int, config: Config) -> int:
    DejpegServer(config, options(host, port, workers)).run()
    return 0
