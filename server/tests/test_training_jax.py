"""The training scripts on the JAX backend (how GPU runs are made), served with TensorFlow.

The networks and losses use Keras layers and `keras.ops` only, so the same scripts train on
JAX.  The NoGAN joint phase once failed there and nowhere else: JAX reads a model's trainable
variables at every call, so the critic, frozen inside the combined model, arrived at its own
update with none.  These runs use a subprocess (the backend is fixed at import) on a tiny
synthetic corpus; the checkpoints they write are then loaded here, with TensorFlow.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

ROOT = Path(__file__).resolve().parents[2]


def on_jax(*args: str, cwd: Path) -> str:
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu",
               PYTHONPATH=str(ROOT / "server"), TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("DEJPEG_VGG19_WEIGHTS", None)
    env["KERAS_HOME"] = str(cwd / "keras-home")
    done = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_nogan_phases_train_on_jax_and_the_checkpoints_serve_with_tensorflow(corpus, tmp_path):
    work = tmp_path / "work"
    script = str(ROOT / "ai-research" / "train_restorer.py")
    base = [script, "--corpus", str(corpus), "--work", str(work), "--crop", "32", "--batch", "2",
            "--val-crops", "1"]
    out = on_jax(*base, "--phase", "pretrain", "--steps", "1", "--eval-every", "1", cwd=tmp_path)
    assert "pretrain step 1" in out
    on_jax(*base, "--phase", "critic", "--steps", "1", cwd=tmp_path)
    out = on_jax(*base, "--phase", "gan", "--steps", "2", "--eval-every", "1", cwd=tmp_path)
    assert "gan step 2" in out
    assert json.loads((work / "gan.json").read_text())["step"] == 2

    load = lambda name: keras.saving.load_model(work / name, compile=False)   # noqa: E731
    assert keras.backend.backend() == "tensorflow"
    # the critic learnt during the joint phase (its own steps) ...
    before, after = load("critic.keras").get_weights(), load("gan_critic_last.keras").get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    # ... and so did the generator, which TensorFlow loads and runs at the input's size
    pregan, gan = load("pregan.keras"), load("gan_00002.keras")
    assert any(not np.array_equal(a, b) for a, b in zip(pregan.get_weights(), gan.get_weights()))
    x = np.zeros((1, 40, 48, 3), np.float32)
    assert np.asarray(gan(x, training=False)).shape == (1, 40, 48, 3)

    # the options of the later trials (a noise input, critic feature matching) train there too
    noisy = tmp_path / "noisy"
    noisy.mkdir()
    for name in ("pregan.keras", "critic.keras", "critic.json"):
        (noisy / name).write_bytes((work / name).read_bytes())
    out = on_jax(script, "--corpus", str(corpus), "--work", str(noisy), "--crop", "32",
                 "--batch", "2", "--val-crops", "1", "--phase", "gan", "--steps", "1",
                 "--eval-every", "1", "--noise", "0.05", "--feature-weight", "1", cwd=tmp_path)
    assert "gan step 1" in out
    g = keras.saving.load_model(noisy / "gan_00001.keras", compile=False)
    n = np.random.default_rng(0).standard_normal((1, 40, 48, 1)).astype(np.float32)
    assert np.asarray(g([x, n], training=False)).shape == (1, 40, 48, 3)


def test_detector_trains_on_jax_and_its_model_serves_with_tensorflow(corpus, tmp_path):
    out = tmp_path / "c.keras"
    on_jax(str(ROOT / "ai-research" / "train_detector.py"), "--corpus", str(corpus),
           "--work", str(tmp_path / "work"), "--variants", "2", "--val-variants", "1",
           "--epochs", "1", "--width", "4", "--workers", "1", "--batch", "8", "--out", str(out),
           "--log-copy", str(tmp_path / "log.csv"), cwd=tmp_path)
    model = keras.saving.load_model(out, compile=False)
    probs = np.asarray(model(np.zeros((3,) + tuple(model.input_shape[1:]), np.float32)))
    assert probs.shape == (3, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
