"""dejpeg.lite: the restorers folded for LiteRT compute what the Keras models compute.

Tiny U-Nets of every variant get random weights and random batch-norm statistics (so a
wrong fold cannot hide behind identity-like weights); the shipped restorers are compared on
a real JPEG through the tiled Restorer.
"""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from dejpeg import archs, jpeg, lite  # noqa: E402
from dejpeg.restorer import Restorer  # noqa: E402

from conftest import SHIPPED_MODELS  # noqa: E402

VARIANTS = {
    "small": dict(filters=(8, 16, 32)),
    "resize": dict(filters=(8, 16, 32), resize=True),
    "zhao-depth": dict(filters=(8, 16, 32, 64)),
    "not-residual": dict(filters=(8, 16, 32), residual=False),
    "no-dropout": dict(filters=(8, 16, 32), dropout=0.0),
    "noise": dict(filters=(8, 16, 32), noise=0.2),
    "noise-resize": dict(filters=(8, 16, 32), resize=True, noise=0.2),
}


def randomised(model, seed: int = 0):
    """Random kernels and biases; batch norms with random scale, shift, mean and variance."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for v in layer.weights:
            shape = tuple(v.shape)
            if "variance" in v.path:
                v.assign(rng.uniform(0.5, 2.0, shape).astype(np.float32))
            elif "gamma" in v.path:
                v.assign(rng.uniform(0.5, 1.5, shape).astype(np.float32))
            else:
                v.assign(rng.normal(0, 0.2, shape).astype(np.float32))
    return model


def batch(n, h, w, seed=1):
    return np.random.default_rng(seed).uniform(-1, 1, (n, h, w, 3)).astype(np.float32)


def inputs_for(model, x, seed=2):
    """x, or x and a noise map for a network with a noise input."""
    if len(model.inputs) == 1:
        return x
    return [x, np.random.default_rng(seed).standard_normal((*x.shape[:3], 1)).astype(np.float32)]


@pytest.fixture(scope="module")
def compiled():
    """Every variant, randomised, and its LiteRunner (converted together: one child)."""
    keras.utils.set_random_seed(0)
    models = {name: randomised(archs.unet(**kw)) for name, kw in VARIANTS.items()}
    return models, lite.compile_restorers(models)


@pytest.fixture(params=list(VARIANTS))
def pair(request, compiled):
    models, runners = compiled
    return models[request.param], runners[request.param]


def test_folded_equals_keras(pair):
    model, runner = pair
    m = archs.multiple(model)
    for shape in [(1, 4 * m, 6 * m), (2, 3 * m, 2 * m), (1, m, m)]:
        x = inputs_for(model, batch(*shape))
        want = np.asarray(model(x, training=False))
        got = runner(x)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=3e-4)   # float32 rounding
    assert np.abs(want).max() > 0.1, "the comparison is not between near-zero outputs"


def test_subpixel_form_of_one_transposed_convolution():
    """A lone 4x4 stride-2 transposed convolution, in the form `flatbuffer` computes it:
    pad 1, 2x2 conv, depth-to-space, crop 1 (written here in NumPy)."""
    rng = np.random.default_rng(3)
    layer = keras.layers.Conv2DTranspose(5, 4, strides=2, padding="same", use_bias=False)
    x = rng.normal(size=(1, 6, 7, 3)).astype(np.float32)
    want = np.asarray(layer(x))
    w = lite.transposed_as_subpixel(np.asarray(layer.kernel))
    xp = np.pad(x[0], ((1, 1), (1, 1), (0, 0)))
    z = np.zeros((7, 8, 20), np.float32)
    for a in (0, 1):
        for b in (0, 1):
            z += np.einsum("hwi,io->hwo", xp[a:a + 7, b:b + 8], w[a, b])
    d2s = z.reshape(7, 8, 2, 2, 5).transpose(0, 2, 1, 3, 4).reshape(14, 16, 5)
    np.testing.assert_allclose(d2s[1:-1, 1:-1], want[0], atol=1e-5)


def test_resize_kernel_is_the_equal_transposed_kernel():
    rng = np.random.default_rng(4)
    up = keras.Sequential([keras.layers.UpSampling2D(2),
                           keras.layers.Conv2D(4, 3, padding="same", use_bias=False)])
    x = rng.normal(size=(1, 5, 6, 3)).astype(np.float32)
    want = np.asarray(up(x))
    t = keras.layers.Conv2DTranspose(4, 4, strides=2, padding="same", use_bias=False)
    t.build((None, None, None, 3))
    t.kernel.assign(lite.resize_as_transposed(np.asarray(up.layers[1].kernel)))
    np.testing.assert_allclose(np.asarray(t(x)), want, atol=1e-5)


def test_models_that_do_not_fold_are_refused():
    with pytest.raises(lite.NotFoldable):
        lite.fold(archs.c_tiny(width=4))
    inp = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inp)
    bad = keras.Model(inp, keras.layers.Conv2DTranspose(3, 4, strides=2, padding="same")(x))
    with pytest.raises(lite.NotFoldable, match="activation relu"):
        lite.fold(bad)


def test_a_fold_that_disagrees_with_keras_is_refused(monkeypatch, caplog):
    model = randomised(archs.unet((8, 16, 32)))
    stages, residual = lite.fold(model)
    stages[1].bias = stages[1].bias + 0.5          # what a wrong fold would produce
    monkeypatch.setattr(lite, "fold", lambda m: (stages, residual))
    with caplog.at_level(logging.WARNING, logger="dejpeg.lite"):
        assert lite.compile_restorers({"wrong": model}) == {}
    assert "restorer wrong runs on Keras" in caplog.text and "differs" in caplog.text


def test_restorer_falls_back_to_keras_when_folding_fails(tmp_path, caplog):
    inp = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(3, 3, padding="same")(inp)          # stride 1: not a U-Net
    keras.Model(inp, x).save(tmp_path / "plain.keras")
    with caplog.at_level(logging.WARNING, logger="dejpeg.lite"):
        r = Restorer.load(tmp_path / "plain.keras", "plain")
    assert r.runner is None and "restorer plain runs on Keras" in caplog.text
    assert r.restore(np.full((40, 48, 3), 128, np.uint8)).shape == (40, 48, 3)


def test_restorers_fall_back_to_keras_when_the_conversion_fails(tmp_path, monkeypatch, caplog):
    archs.g_small().save(tmp_path / "g.keras")
    monkeypatch.setattr(lite.sys, "executable", "/bin/false")     # the child fails
    with caplog.at_level(logging.WARNING, logger="dejpeg.lite"):
        r = Restorer.load(tmp_path / "g.keras", "g")
    assert r.runner is None and "conversion failed" in caplog.text
    rgb = np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    np.testing.assert_array_equal(r.restore(rgb), rgb)   # untrained G_small: the identity


def test_only_the_most_recent_interpreters_are_kept(monkeypatch):
    monkeypatch.setattr(lite, "_interpreters", lite._Interpreters(keep=2))
    model = randomised(archs.unet((8, 16, 32)))
    stages, residual = lite.fold(model)
    flat = lite.convert_in_child([(stages, residual)])[0]
    runners = [lite.LiteRunner(flat) for _ in range(3)]
    x = batch(1, 32, 40)
    outs = [r(x) for r in runners]
    assert len(lite._interpreters) == 2
    again = runners[0](x)                  # evicted, made again
    assert len(lite._interpreters) == 2
    np.testing.assert_array_equal(again, outs[0])


@pytest.mark.shipped
def test_shipped_restorers_run_folded_and_match_keras():
    """Every shipped restorer is served by LiteRT, restoring a QF 10 JPEG as its Keras
    model does, to within one grey level (float rounding at .5); `small-postgan` with its
    noise input (the same noise map through both)."""
    from skimage.data import astronaut
    entries = json.loads((SHIPPED_MODELS / "catalog.json").read_text())["models"]
    img = jpeg.compress(np.ascontiguousarray(astronaut()[100:300, 150:390]), 10)
    restorers = Restorer.load_all({e["name"]: SHIPPED_MODELS / e["file"]
                                   for e in entries if e["kind"] == "restorer"})
    assert len(restorers) >= 5
    assert [n for n, r in restorers.items() if r.noise] == ["small-postgan"]
    for name, served in restorers.items():
        assert isinstance(served.runner, lite.LiteRunner), name
        keras_only = Restorer(served.model, name, multiple=served.multiple)
        a, b = served.restore(img, (0, 0)), keras_only.restore(img, (0, 0))
        assert np.abs(a.astype(int) - b).max() <= 1, name
        assert np.abs(a.astype(int) - img).mean() > 1, "the restorer changed the image"
