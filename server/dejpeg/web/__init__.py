"""The Flask app: `create_app()` wires the configuration, the models and the blueprints.

Blueprints: `api` (the REST endpoints of shared/API.md) and `site` (the built client at `/`).
"""
from __future__ import annotations

import dataclasses
from typing import Any

from flask import Flask

from ..config import Config
from . import api, problems, site
from .gate import Gate
from .uploads import InMemoryRequest

# room for the multipart envelope and the small text fields around the image itself
MULTIPART_SLACK = 64 * 1024


@dataclasses.dataclass
class Services:
    """What the request handlers share, kept in app.extensions["dejpeg"]."""
    config: Config
    models: Any          # registry.Models: .detector, .restorers, .default_restorer, .catalog
    gate: Gate


def create_app(config: Config | dict | None = None, models=None) -> Flask:
    """The deJPEG app.

    `config`: a Config, a dict of Config fields overriding the environment, or None (the
    environment, see config.py).  `models`: already loaded models, or None to load them from
    `config.models_dir` (raises errors.MissingModel when a file is missing).
    """
    if config is None:
        config = Config.from_env()
    elif isinstance(config, dict):
        config = Config.from_env().replace(**config)
    if models is None:
        from ..registry import load_models   # imports Keras: only when really loading
        models = load_models(config.models_dir)

    app = Flask(__name__, static_folder=None)
    app.request_class = InMemoryRequest
    app.config.update(
        MAX_CONTENT_LENGTH=config.max_upload_bytes + MULTIPART_SLACK,
        MAX_FORM_PARTS=32,
    )
    app.json.sort_keys = False
    app.extensions["dejpeg"] = Services(config, models,
                                        Gate(config.max_concurrent, config.max_queue,
                                             config.queue_timeout_s))
    if config.cors_origins:
        from flask_cors import CORS
        CORS(app, origins=list(config.cors_origins),
             expose_headers=["X-Dejpeg-Restored", "X-Dejpeg-Verdict", "X-Dejpeg-Model",
                             "Server-Timing", "Retry-After", "Content-Disposition"])
    @app.after_request
    def no_sniffing(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    app.register_blueprint(api.bp)
    app.register_blueprint(site.bp)
    problems.register(app)
    return app
