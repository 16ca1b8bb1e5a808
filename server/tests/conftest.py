"""Shared fixtures: tiny untrained models (plumbing only), apps and clients built on them."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[2]
SHIPPED_MODELS = REPO / "server" / "dejpeg" / "models"

TINY_CATALOG = [
    {"name": "c-tiny", "kind": "detector", "file": "c-tiny.keras",
     "description": "C_Tiny, width 4, untrained (tests only)", "trained_for": {},
     "metrics": {}, "default": True},
    {"name": "small-pregan", "kind": "restorer", "file": "small-pregan.keras",
     "description": "G_small, untrained (tests only)", "trained_for": {}, "metrics": {},
     "default": False},
    {"name": "small-postgan", "kind": "restorer", "file": "small-postgan.keras",
     "description": "G_small, untrained (tests only)", "trained_for": {}, "metrics": {},
     "default": True},
]


def write_tiny_models(directory: Path) -> Path:
    """A models dir with catalog.json and tiny untrained Keras models: for plumbing tests."""
    import keras
    from dejpeg import archs
    directory.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(0)
    archs.c_tiny(width=4).save(directory / "c-tiny.keras")
    small = archs.g_small()
    small.save(directory / "small-postgan.keras")
    small.save(directory / "small-pregan.keras")
    (directory / "catalog.json").write_text(json.dumps({"models": TINY_CATALOG}, indent=1))
    return directory


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory) -> Path:
    return write_tiny_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def tiny_models(tiny_models_dir):
    from dejpeg.registry import load_models
    return load_models(tiny_models_dir)


@pytest.fixture(scope="session")
def no_client(tmp_path_factory) -> Path:
    """A client_dist that does not exist, so tests do not depend on a client build."""
    return tmp_path_factory.mktemp("noclient") / "dist"


def make_app(models, no_client, **overrides):
    from dejpeg.config import Config
    from dejpeg.web import create_app
    return create_app(Config(client_dist=no_client, **overrides), models=models)


@pytest.fixture()
def app(tiny_models, no_client):
    return make_app(tiny_models, no_client)


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    """A tiny synthetic training corpus: train (3 images) and val (2), 300x300 textured PNGs."""
    from PIL import Image
    from images import pattern
    root = tmp_path_factory.mktemp("corpus")
    for split, seeds in (("train", (1, 2, 3)), ("val", (11, 12))):
        (root / split).mkdir()
        for s in seeds:
            Image.fromarray(pattern(300, 300, seed=s)).save(root / split / f"{s:03d}.png")
    return root
