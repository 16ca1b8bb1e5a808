"""Smoke tests of the training scripts (ai-research/train_*.py) on a tiny synthetic corpus.

They check the plumbing, not learning: the scripts run end to end with tiny settings, write
the checkpoints and state they promise, and a rerun resumes where the last run stopped.
Everything is written under tmp_path (never ai-research/data or ai-research/results).
"""
from __future__ import annotations

import csv
import hashlib
import importlib.util
import itertools
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from images import pattern

keras = pytest.importorskip("keras")

AI_RESEARCH = Path(__file__).resolve().parents[2] / "ai-research"


def load_script(name: str, monkeypatch):
    """Import ai-research/<name>.py (the folder name has a hyphen, so not as a package).

    Registered in sys.modules under its name: multiprocessing pickles its functions by it.
    """
    spec = importlib.util.spec_from_file_location(name, AI_RESEARCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def no_vgg(monkeypatch, tmp_path):
    monkeypatch.delenv("DEJPEG_VGG19_WEIGHTS", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))


def rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def iterations(path: Path, **kw) -> int:
    """Optimiser steps taken by a saved, compiled model."""
    return int(np.asarray(keras.saving.load_model(path, **kw).optimizer.iterations))


# --- detector ------------------------------------------------------------------------------

def test_train_detector_writes_checkpoints_and_resumes(corpus, tmp_path, monkeypatch, capsys):
    script = load_script("train_detector", monkeypatch)
    work, out, log_copy = tmp_path / "work", tmp_path / "c.keras", tmp_path / "results/log.csv"
    real_log = AI_RESEARCH / "results/detector_training_log.csv"
    real_before = digest(real_log)

    def run(epochs: int):
        script.main(["--corpus", str(corpus), "--work", str(work), "--variants", "4",
                     "--val-variants", "2", "--epochs", str(epochs), "--width", "4",
                     "--workers", "1", "--batch", "8", "--out", str(out),
                     "--log-copy", str(log_copy)])
        return capsys.readouterr().out

    run(2)
    for name in ("train.npz", "val.npz", "last.keras", "state.json", "log.csv"):
        assert (work / name).is_file(), name
    # the cached samples: one 256x256 block per 300x300 draw, uint16 counts, valid labels
    z = np.load(work / "train.npz")
    assert z["x"].shape == (4, 120, 64, 1) and z["x"].dtype == np.uint16
    assert z["y"].shape == (4,) and set(z["y"].tolist()) <= {0, 1, 2}
    assert np.load(work / "val.npz")["x"].shape == (2, 120, 64, 1)
    state = json.loads((work / "state.json").read_text())
    assert state["epoch"] == 2 and 0.0 <= state["final_val_accuracy"] <= 1.0
    log = rows(work / "log.csv")
    assert [r[0] for r in log[1:]] == ["0", "1"]
    assert log_copy.read_text() == (work / "log.csv").read_text()
    model = keras.saving.load_model(out, compile=False)
    p = np.asarray(model(z["x"][:2].astype(np.float32) / 1024.0, training=False))
    assert p.shape == (2, 3) and np.allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert iterations(work / "last.keras") == 2          # 4 samples, batch 8: a step an epoch
    cache_stamp = (work / "train.npz").stat().st_mtime_ns

    # rerun with more epochs: continues after epoch 2, optimiser state included
    printed = run(3)
    assert "resuming after epoch 2" in printed
    assert json.loads((work / "state.json").read_text())["epoch"] == 3
    assert [r[0] for r in rows(work / "log.csv")[1:]] == ["0", "1", "2"]
    assert iterations(work / "last.keras") == 3
    assert (work / "train.npz").stat().st_mtime_ns == cache_stamp, "samples come from the cache"

    # rerun when done: nothing is trained again
    run(3)
    assert [r[0] for r in rows(work / "log.csv")[1:]] == ["0", "1", "2"]
    assert iterations(work / "last.keras") == 3
    assert digest(real_log) == real_before, "the real training log must not be touched"


def test_transpose_columns_are_the_transposed_pictures_features(monkeypatch):
    """--transpose trains on x[:, :, TRANSPOSE]: exactly the features the served code computes
    for the transposed picture (each 8x8 DCT transposed: frequency (u, v) <-> (v, u))."""
    from dejpeg import features, jpeg
    script = load_script("train_detector", monkeypatch)
    rgb = jpeg.compress(pattern(256, 256, seed=5), 30)
    y = features.luma(rgb)
    f = features.dct_histograms(y[None])
    ft = features.dct_histograms(np.ascontiguousarray(y.T)[None])
    assert not np.array_equal(f, ft), "a textured block's features are not symmetric"
    assert np.array_equal(f[:, :, script.TRANSPOSE], ft)
    assert sorted(script.TRANSPOSE.tolist()) == list(range(64))


def test_train_detector_transpose_doubles_blocks_and_keeps_the_better_epoch(
        corpus, tmp_path, monkeypatch, capsys):
    script = load_script("train_detector", monkeypatch)
    work = tmp_path / "work"
    script.main(["--corpus", str(corpus), "--work", str(work), "--variants", "4",
                 "--val-variants", "2", "--epochs", "3", "--width", "4", "--workers", "1",
                 "--batch", "4", "--transpose", "--out", str(tmp_path / "c.keras"),
                 "--log-copy", str(tmp_path / "log.csv")])
    printed = capsys.readouterr().out
    # 4 cached blocks, 8 with their transposes: two steps of 4 an epoch
    assert iterations(work / "last.keras") == 6
    state = json.loads((work / "state.json").read_text())
    assert 1 <= state["best_epoch"] <= 3 and state["final_epoch"] in (3, state["best_epoch"])
    scored = {int(m[1]): float(m[2]) for m in re.finditer(
        r"^epoch (\d+): recalibrated BN, val block accuracy ([0-9.]+)$", printed, re.M)}
    assert set(scored) == {3, state["best_epoch"]}, "the last and the best epoch are finalised"
    assert state["final_val_accuracy"] == pytest.approx(max(scored.values()), abs=1e-4)


def test_train_detector_init_starts_from_a_model_and_vary_or_camera_change_the_draws(
        corpus, tmp_path, monkeypatch, capsys):
    """--init: training starts from that model's weights (at a learning rate of 1e-9 one epoch
    leaves the convolutions where they were); --vary and --camera: the same draws (--seed)
    with each clean crop varied, or put through a camera's processing, first give other
    blocks."""
    script = load_script("train_detector", monkeypatch)

    def run(work, *extra):
        script.main(["--corpus", str(corpus), "--work", str(tmp_path / work), "--variants", "4",
                     "--val-variants", "2", "--epochs", "1", "--width", "4", "--workers", "1",
                     "--batch", "8", "--seed", "5", "--out", str(tmp_path / f"{work}.keras"),
                     "--log-copy", str(tmp_path / f"{work}.csv"), *extra])
        capsys.readouterr()
        return keras.saving.load_model(tmp_path / f"{work}.keras", compile=False)

    first = run("plain")
    kernels = lambda m: [w for w in m.weights if "kernel" in w.path]
    again = run("init", "--init", str(tmp_path / "plain.keras"), "--lr", "1e-9")
    for a, b in zip(kernels(first), kernels(again)):
        assert np.allclose(np.asarray(a), np.asarray(b), atol=1e-6), a.path
    fresh = run("fresh", "--lr", "1e-9")            # without --init: other (random) weights
    assert not all(np.allclose(np.asarray(a), np.asarray(b), atol=1e-3)
                   for a, b in zip(kernels(first), kernels(fresh)))
    varied = run("varied", "--vary")
    plain_x = np.load(tmp_path / "plain/train.npz")["x"]
    varied_x = np.load(tmp_path / "varied/train.npz")["x"]
    assert varied_x.dtype == np.uint16 and varied_x.shape[1:] == (120, 64, 1)
    assert not np.array_equal(plain_x, varied_x)
    assert np.array_equal(np.load(tmp_path / "plain/val.npz")["x"],
                          np.load(tmp_path / "varied/val.npz")["x"]), "validation is never varied"
    with pytest.raises(SystemExit, match="use another --work folder"):
        run("plain", "--vary")                       # its cache holds unvaried draws
    # --camera 1: every training crop through a camera's processing first; validation as is
    run("camera", "--camera", "1")
    camera = np.load(tmp_path / "camera/train.npz")
    assert not np.array_equal(plain_x, camera["x"]) and not np.array_equal(varied_x, camera["x"])
    assert json.loads(str(camera["draws"]))["camera"] == 1.0
    assert "camera" not in json.loads(str(np.load(tmp_path / "plain/train.npz")["draws"]))
    assert np.array_equal(np.load(tmp_path / "plain/val.npz")["x"],
                          np.load(tmp_path / "camera/val.npz")["x"])
    with pytest.raises(SystemExit, match="use another --work folder"):
        run("plain", "--camera", "0.5")


def test_pool_sums_each_draws_blocks_whole_and_in_random_parts(monkeypatch):
    script = load_script("train_detector", monkeypatch)
    rng = np.random.default_rng(0)
    draw = np.array([0, 0, 0, 0, 1, 2, 2])
    y = np.array([2, 2, 2, 2, 0, 1, 1], np.uint8)
    x = rng.integers(0, 1025, (7, 120, 64, 1)).astype(np.uint16)
    sums, n, labels = script.pool(x, y, draw, np.random.default_rng(1), subsets=3)
    # draw 0: whole + 3 parts, draw 1 (one block): whole only, draw 2: whole + 3 parts
    assert labels.tolist() == [2] * 4 + [0] + [1] * 4
    assert n[[0, 4, 5]].tolist() == [4, 1, 2]
    assert all(1 <= k <= 3 for k in n[1:4]) and n[6:].tolist() == [1, 1, 1]
    assert sums.dtype == np.uint32
    np.testing.assert_array_equal(sums[0], x[:4].sum(axis=0))
    np.testing.assert_array_equal(sums[4], x[4])
    np.testing.assert_array_equal(sums[5], x[5:].sum(axis=0))
    parts = [x[list(c)].sum(axis=0) for k in (1, 2, 3)
             for c in itertools.combinations(range(4), k)]
    for i in range(1, 4):       # a part is the sum of some of draw 0's blocks
        assert any(np.array_equal(sums[i], p) for p in parts)
    for i in (6, 7, 8):
        assert np.array_equal(sums[i], x[5]) or np.array_equal(sums[i], x[6])


def test_train_detector_pooled_trains_on_each_draws_mean_histogram(corpus, tmp_path, monkeypatch,
                                                                   capsys):
    """--pooled: the block caches gain each block's draw, and the model trains on the pooled
    samples (cached apart, so they can travel alone): here one block a 300x300 draw, so a
    draw's pool is its block."""
    script = load_script("train_detector", monkeypatch)
    work = tmp_path / "work"
    script.main(["--corpus", str(corpus), "--work", str(work), "--variants", "4",
                 "--val-variants", "2", "--epochs", "1", "--width", "4", "--workers", "1",
                 "--batch", "8", "--pooled", "2", "--out", str(tmp_path / "c.keras"),
                 "--log-copy", str(tmp_path / "log.csv")])
    capsys.readouterr()
    blocks, pooled = np.load(work / "train.npz"), np.load(work / "pooled_train.npz")
    assert blocks["draw"].tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(pooled["sums"], blocks["x"].astype(np.uint32))
    assert pooled["n"].tolist() == [1, 1, 1, 1]
    assert pooled["y"].tolist() == blocks["y"].tolist()
    assert len(np.load(work / "pooled_val.npz")["y"]) == 2
    assert iterations(work / "last.keras") == 1
    # the pooled caches alone are enough: without the block caches nothing is remade
    (work / "train.npz").unlink(), (work / "val.npz").unlink(), (work / "last.keras").unlink()
    (work / "state.json").unlink()
    again = ["--corpus", str(tmp_path / "none"), "--work", str(work), "--variants", "4",
             "--val-variants", "2", "--epochs", "1", "--width", "4", "--batch", "8",
             "--out", str(tmp_path / "c.keras"), "--log-copy", str(tmp_path / "log.csv")]
    script.main(again + ["--pooled", "2"])
    assert not (work / "train.npz").exists()
    # pooled samples of other settings are refused, not trained on silently
    (work / "last.keras").unlink(), (work / "state.json").unlink()
    with pytest.raises(SystemExit, match="use another --work folder"):
        script.main(again + ["--pooled", "3"])


# --- restorer ------------------------------------------------------------------------------

def test_train_restorer_phases_write_checkpoints_and_resume(corpus, tmp_path, monkeypatch,
                                                            no_vgg, capsys):
    script = load_script("train_restorer", monkeypatch)
    from dejpeg import losses
    work = tmp_path / "work"
    base = ["--corpus", str(corpus), "--work", str(work), "--crop", "32", "--batch", "2",
            "--val-crops", "2"]

    def run(*args):
        script.main(base + list(args))
        return capsys.readouterr().out

    def log_steps(phase):
        return [int(r[1]) for r in rows(work / "log.csv") if r[0] == phase]

    def state(phase):
        return json.loads((work / f"{phase}.json").read_text())

    # 1. pre-training
    assert "VGG-19 feature term: off" in run("--phase", "pretrain", "--steps", "2",
                                             "--eval-every", "1")
    for name in ("pretrain_last.keras", "pregan.keras", "pregan_last.keras", "pretrain.json", "log.csv"):
        assert (work / name).is_file(), name
    s = state("pretrain")
    assert s["step"] == 2 and s["best_step"] in (1, 2) and s["best"] > 0
    assert log_steps("pretrain") == [1, 2]
    # each checkpoint's row: phase, step, PSNR, JPEG PSNR, ..., the outputs' lattice and detail %
    last = rows(work / "log.csv")[-1]
    assert re.fullmatch(r"lattice \d+\.\d\d %", last[-2]) and float(last[2]) > 0
    assert re.fullmatch(r"detail \d+\.\d %", last[-1])
    content = {"content": losses.content_loss()}
    assert iterations(work / "pretrain_last.keras", custom_objects=content) == 2
    # the shipped form: weights and architecture, no optimiser state (a third of the bytes)
    for name in ("pregan.keras", "pregan_last.keras"):         # best and latest step
        assert getattr(keras.saving.load_model(work / name), "optimizer", None) is None
        assert (work / name).stat().st_size < (work / "pretrain_last.keras").stat().st_size / 2

    # ... resumed: step 3 follows step 2, with the optimiser's state
    run("--phase", "pretrain", "--steps", "3", "--eval-every", "1")
    assert state("pretrain")["step"] == 3
    assert log_steps("pretrain") == [1, 2, 3]
    assert iterations(work / "pretrain_last.keras", custom_objects=content) == 3
    latest = keras.saving.load_model(work / "pretrain_last.keras", compile=False).get_weights()
    shipped = keras.saving.load_model(work / "pregan_last.keras").get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(latest, shipped)) and len(latest) == len(shipped)

    # 2. the critic alone
    run("--phase", "critic", "--steps", "1")
    assert (work / "critic.keras").is_file()
    assert state("critic")["step"] == 1

    def looks_at_correction(path):
        kinds = {type(l).__name__ for l in keras.saving.load_model(path, compile=False).layers}
        return "Subtract" in kinds

    # the critic looks at the candidate's correction of the JPEG; --critic-scale 0 builds the
    # shipped small-postgan's critic, fed the candidate itself
    assert looks_at_correction(work / "critic.keras")
    plain = tmp_path / "plain-critic"
    plain.mkdir()
    shutil.copy(work / "pregan.keras", plain)
    script.main(["--corpus", str(corpus), "--work", str(plain), "--crop", "32", "--batch", "2",
                 "--val-crops", "2", "--phase", "critic", "--steps", "1", "--critic-scale", "0"])
    assert not looks_at_correction(plain / "critic.keras")

    # 3. GAN: a checkpoint per --eval-every, the latest generator and critic
    run("--phase", "gan", "--steps", "2", "--eval-every", "1")
    for name in ("gan_00001.keras", "gan_00002.keras", "gan_last.keras", "gan_critic_last.keras"):
        assert (work / name).is_file(), name
    s = state("gan")
    assert s["step"] == 2 and sorted(s["checkpoints"]) == ["1", "2"]
    assert log_steps("gan") == [0, 1, 2]

    # ... resumed from gan_last: step 3, and no second "start" evaluation; --lattice-weight
    # and --texture-weight put losses.lattice and losses.texture in the generator's loss,
    # --texture-first-scale sets where the texture term's scales start
    seen = []
    for name in ("lattice", "texture"):
        real = getattr(losses, name)
        monkeypatch.setattr(losses, name, lambda *a, _n=name, _f=real, **k:
                            seen.append((_n, k.get("first"))) or _f(*a, **k))
    run("--phase", "gan", "--steps", "3", "--eval-every", "1", "--lattice-weight", "100",
        "--texture-weight", "0.1", "--texture-first-scale", "1", "--crop", "64")  # 8x8 windows at 1/4
    assert {("lattice", None), ("texture", 1)} <= set(seen)
    s = state("gan")
    assert s["step"] == 3 and sorted(s["checkpoints"]) == ["1", "2", "3"]
    assert (work / "gan_00003.keras").is_file()
    assert log_steps("gan") == [0, 1, 2, 3]

    # --noise gives the generator a noise input (its decoder's projections drawn with that
    # spread) and --feature-weight adds critic feature matching, one L1 term per critic
    # level, to the generator's loss: the log's generator losses are the total, content,
    # adversarial and the three levels'
    noisy = tmp_path / "noisy"
    noisy.mkdir()
    for name in ("pregan.keras", "critic.keras", "critic.json"):
        shutil.copy(work / name, noisy)
    script.main(["--corpus", str(corpus), "--work", str(noisy), "--crop", "32", "--batch", "2",
                 "--val-crops", "2", "--phase", "gan", "--steps", "1", "--eval-every", "1",
                 "--noise", "0.05", "--feature-weight", "1"])
    row = rows(noisy / "log.csv")[-1]
    gen_losses = next(c for c in row if c.startswith("gen ["))
    assert len(re.findall(r"\d+\.\d+", gen_losses)) == 6, gen_losses
    g = keras.saving.load_model(noisy / "gan_00001.keras", compile=False)
    assert [tuple(i.shape) for i in g.inputs] == [(None, None, None, 3), (None, None, None, 1)]
    assert np.asarray(g.get_layer("noise_2").kernel).std() > 0.01
    plain_row = next(r for r in rows(work / "log.csv") if r[0] == "gan" and r[1] == "1")
    assert len(re.findall(r"\d+\.\d+", next(c for c in plain_row if c.startswith("gen [")))) == 3

    # every generator checkpoint loads with no custom objects and keeps the shape
    x = np.zeros((1, 32, 48, 3), np.float32)
    for name in ("pregan.keras", "gan_00003.keras"):
        g = keras.saving.load_model(work / name, compile=False)
        assert np.asarray(g(x, training=False)).shape == x.shape

    # 4. a fine-tune (other qualities) starts from a trained generator's weights: with a
    # learning rate of 0 its convolution kernels are those of --init after a step
    ft = tmp_path / "finetune"
    script.main(["--corpus", str(corpus), "--work", str(ft), "--crop", "32", "--batch", "2",
                 "--val-crops", "2", "--phase", "pretrain", "--steps", "1", "--lr", "0",
                 "--qualities", "10,50,90", "--init", str(work / "pregan.keras")])

    def kernels(path):
        m = keras.saving.load_model(path, compile=False)
        return [np.asarray(w) for w in m.weights if w.path.endswith("kernel")]

    start, trained = kernels(work / "pregan.keras"), kernels(ft / "pretrain_last.keras")
    assert len(start) == len(trained) > 0
    assert all(np.array_equal(a, b) for a, b in zip(start, trained))
    assert any(a.any() for a in start[-1:]), "the init's last layer is trained, not zeros"


def test_detector_calibration_fit_learns_from_each_statistic(monkeypatch):
    """calibrate_detector.fit_calibration on made-up cases: the grid evidence and the table fit
    tell clean from compressed where the CNN is unsure, the CNN alone tells single from
    double; camera-range cases (the CNN says "uncompressed", the pixel statistics do not) are
    learnt as compressed without bending single vs double; all on raw features."""
    from dejpeg.detector import calibrate, calibration_features
    script = load_script("calibrate_detector", monkeypatch)
    rng = np.random.default_rng(0)

    def cases(n, camera=False):
        labels = rng.integers(0, 3, n)
        clean = labels == 0
        probs = rng.dirichlet([2, 2, 2], n)
        # the CNN knows single from double (its 'uncompressed' share says nothing) ...
        sd = np.where(labels == 1, 0.8, 0.2)
        if camera:      # ... except at the light end, which it calls uncompressed
            probs[:, 0] = rng.uniform(0.9, 0.99, n)
            sd = np.full(n, 0.5)
        probs[~clean, 1] = (1 - probs[~clean, 0]) * sd[~clean]
        probs[~clean, 2] = (1 - probs[~clean, 0]) * (1 - sd[~clean])
        evidence = np.where(clean, rng.uniform(0.0, 0.015, n), rng.uniform(0.05, 0.4, n))
        fit = np.where(clean, rng.normal(0.0, 0.03, n), rng.uniform(0.1, 0.7, n))
        x = np.array([calibration_features(p, e, f) for p, e, f in zip(probs, evidence, fit)])
        return x, labels, (probs, evidence, fit)

    x, labels, raw = cases(900)
    xl, labels_l, raw_l = cases(300, camera=True)
    w = script.fit_calibration(x, labels, xl, labels_l)
    assert w.shape == (6, 2)
    for (probs, evidence, fit), y in ((raw, labels), (raw_l, labels_l)):
        out = np.array([calibrate(p, e, f, w) for p, e, f in zip(probs, evidence, fit)])
        np.testing.assert_allclose(out.sum(axis=1), 1.0)
        assert script.balanced_binary_accuracy(out.argmax(axis=1) == 0, y) > 98
    out = np.array([calibrate(p, e, f, w) for p, e, f in zip(*raw)])
    kept = labels > 0
    assert np.mean(out.argmax(axis=1)[kept] == labels[kept]) > 0.95   # single vs double: the CNN's
    assert w[4, 0] > 0 and w[3, 0] > 0                  # more fit or grid, more "compressed"
    # the double-vs-single column is the CNN's: it rises with P(double), falls with P(single)
    assert w[2, 1] > 0 > w[1, 1]


def test_restorer_batches_depend_on_the_step_alone_and_workers_make_the_same(corpus, monkeypatch):
    """A resumed run draws what an uninterrupted one would; worker processes change nothing."""
    monkeypatch.syspath_prepend(str(AI_RESEARCH))          # spawned workers import the script
    script = load_script("train_restorer", monkeypatch)
    pairs = script.Pairs(corpus / "train", 32, (10, 50))
    inline = list(pairs.batches(2, 3, 6))
    assert len(inline) == 3 and inline[0][0].shape == (2, 32, 32, 3)
    x4, y4 = pairs.batch(2, 4)
    assert np.array_equal(script.to_float(x4), inline[1][0])
    assert np.array_equal(script.to_float(y4), inline[1][1])
    assert not np.array_equal(inline[0][0], inline[1][0]), "steps draw different crops"
    assert not np.array_equal(inline[0][0], inline[0][1]), "the input is the JPEG, not the clean crop"
    # --max-pixels: the central part of each picture, aspect kept
    img = np.arange(300 * 200 * 3, dtype=np.uint32).reshape(300, 200, 3)
    part = script.central(img, 6000)
    assert part.shape[:2] == (94, 63) and np.array_equal(part, img[103:197, 68:131])
    assert script.central(img, None) is img and script.central(img, 60000) is img
    made = list(pairs.batches(2, 3, 6, workers=2))
    assert all(np.array_equal(a, b) for m, i in zip(made, inline) for a, b in zip(m, i))


def test_shipped_catalog_serves_the_committed_evaluation_numbers(monkeypatch):
    """GET /models reports models/catalog.json's metrics: they must be what the committed
    evaluation files say (update_catalog.py after every eval), not an older run's."""
    script = load_script("update_catalog", monkeypatch)
    shipped = json.loads(script.CATALOG.read_text())
    assert script.updated(shipped) == shipped
    det = next(m for m in shipped["models"] if m["kind"] == "detector")
    summary = json.loads((AI_RESEARCH / "results/detector_eval.json").read_text())["summary"]
    assert det["metrics"]["three_class_image_accuracy_pct"] == round(summary["three_class_image_acc"], 1)


def test_eval_detector_knows_a_double_that_is_its_single_twin(monkeypatch):
    """eval_detector's twins: IJG's QF 10 steps are five times QF 50's, an odd multiple, so
    the second pass rounds the first's multiples just where one pass would have rounded the
    picture's own values: (50, 10) shows single 10's pixels.  Neither (50, 30) nor a (50, 10)
    cropped between its passes does (the first pass's grid moved, its changes to the picture
    stay in the values: a twin here is a twin in every pixel value, not in law).
    `twin_ceiling` counts each group of twins as right as its larger kind."""
    script = load_script("eval_detector", monkeypatch)
    from skimage.data import astronaut
    from dejpeg.data import Case
    img = np.ascontiguousarray(astronaut()[:256, :256])

    def differs(case):
        x, twin = case.apply(img), script.single_twin(case, img)
        assert x.shape == twin.shape
        return 100 * np.mean(x != twin)

    assert differs(Case("double", 50, 10)) < script.TWIN_DIFFERS
    assert differs(Case("double", 50, 10, recrop=(4, 2), shift=(3, 5))) > 10 * script.TWIN_DIFFERS
    assert differs(Case("double", 50, 30)) > 10 * script.TWIN_DIFFERS
    cases = [Case("single", 10), Case("double", 50, 10), Case("double", 50, 10, recrop=(4, 2)),
             Case("double", 50, 30), Case("single", 50, shift=(3, 5)), Case("double", 50, 50, shift=(3, 5))]
    differs = [None, 0.2, 0.3, 50.0, None, 0.5]
    # single 10 with its two twins: 2 right at best; single 50 shifted and its twin: 1; (50, 30): 1
    assert script.twin_ceiling(cases, differs) == pytest.approx(100 * 4 / 6)
    assert script.twin_ceiling(cases[3:4], differs[3:4]) == 100.0


def test_eval_detector_turned_cases_reach_the_server_turned(monkeypatch):
    """eval_detector's turned pictures arrive turned a quarter after their last compression:
    as PNG pixels, or as a JPEG file stored on its side that the server decodes upright (its
    EXIF orientation), so the detector sees every block transposed either way."""
    script = load_script("eval_detector", monkeypatch)
    from dejpeg import imageio, quality
    from images import pattern
    view = pattern(384, 512, seed=5)
    for name, truth, make in script.turned_cases():
        upload = imageio.decode(make(view))
        assert upload.rgb.shape[:2] == (512, 384), name
        assert (upload.jpeg_quality is not None) == ("EXIF" in name), name
        assert truth in ("single", "double")
        assert quality.transposed(quality.grid_coefficients(upload.rgb)), name


def test_eval_detector_tells_the_validation_photographs_by_their_group(monkeypatch):
    """eval_detector scores the camera photographs of the validation split apart from the
    renders: a corpus file is `<group>-<hash>.png` (build_corpus.py), and groups may hold
    dashes themselves."""
    script = load_script("eval_detector", monkeypatch)
    assert script.is_photograph("val/FallenLeaf-95603a65.png")
    assert script.is_photograph("Wine_by_Jakkub_Mede-d2e96e6d.png")
    assert not script.is_photograph("val/Ubuntu-Mate-Warm-no-logo-4f820953.png")
    assert not script.is_photograph("val/Kay-2b2fcfe3.png")
    assert not script.is_photograph("val/Aquarium-5c301182.png")


def test_eval_detector_unseen_scores_only_the_training_photographs_it_names(monkeypatch, tmp_path):
    """`eval_detector --unseen` scores the training split's UNSEEN_PHOTOGRAPHS, every one of
    them a photograph, and nothing of the validation split or the other training pictures."""
    script = load_script("eval_detector", monkeypatch)
    for name in ("train/Storm-77ca5307.png", "train/LadyBird-e35a9a41.png", "train/Kay-11111111.png",
                 "train/Storm_at_sea-22222222.png", "val/FallenLeaf-95603a65.png", "val/Dune-33333333.png"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    paths, photographs = script.pictures_to_score(tmp_path, unseen=True)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == ["train/LadyBird-e35a9a41.png",
                                                                 "train/Storm-77ca5307.png"]
    assert all(script.is_photograph(p, photographs) for p in paths)
    paths, photographs = script.pictures_to_score(tmp_path, unseen=False)
    assert [p.name for p in paths] == ["Dune-33333333.png", "FallenLeaf-95603a65.png"]
    assert [script.is_photograph(p, photographs) for p in paths] == [False, True]


def record(monkeypatch, module, name: str, value) -> list:
    """Wrap module.name so that every call's value(answer) is appended to the list returned."""
    calls, real = [], getattr(module, name)

    def recorded(*args, **kw):
        answer = real(*args, **kw)
        calls.append(value(answer))
        return answer

    monkeypatch.setattr(module, name, recorded)
    return calls


def test_light_first_thresholds_scores_every_case_on_every_crop(corpus, tmp_path, monkeypatch):
    """light_first_thresholds: the lighter-first-pass statistic of each case on each training
    crop, against quality.LIGHT_DECISIVE; a case is decisive exactly on the crops at or above
    it, and the summary's largest single is the singles' largest statistic."""
    monkeypatch.syspath_prepend(str(AI_RESEARCH))      # for its `import eval_detector`
    script = load_script("light_first_thresholds", monkeypatch)
    from dejpeg import quality
    calls = record(monkeypatch, quality, "light_first_pass", lambda answer: answer[0])
    out = tmp_path / "lf"
    script.main(["--corpus", str(corpus), "--crops", "2", "--side", "256", "--out", str(out)])
    result = json.loads(out.with_suffix(".json").read_text())
    rows, cases = result["rows"], script.cases()
    assert [r["case"] for r in rows] == [c[0] for c in cases] and len(calls) == 2 * len(cases)
    for r, (a, b) in zip(rows, zip(calls[::2], calls[1::2])):
        assert r["crops"] == 2 and r["max"] == max(a, b)
        assert r["decisive_pct"] == 50 * ((a >= quality.LIGHT_DECISIVE) + (b >= quality.LIGHT_DECISIVE))
    singles = [r["max"] for r in rows if r["kind"] == "single"]
    assert result["summary"]["largest_single"] == max(singles)
    assert result["summary"]["threshold"] == quality.LIGHT_DECISIVE
    assert out.with_suffix(".md").read_text().count("\n| ") == len(cases) + 1   # header + rows


def test_other_grid_thresholds_scores_the_served_statistic_on_every_crop(corpus, tmp_path, monkeypatch):
    """other_grid_thresholds: `Evidence.second_grid_dc` as the shipped detector serves it, for
    each case on each training crop, against quality.GRID_DC_DECISIVE; "read" counts the crops
    where it is above 0."""
    monkeypatch.syspath_prepend(str(AI_RESEARCH))      # for its `import eval_detector`
    script = load_script("other_grid_thresholds", monkeypatch)
    from dejpeg import quality
    from dejpeg.detector import Detector
    calls = record(monkeypatch, Detector, "blocks_and_evidence", lambda ev: ev.second_grid_dc)
    out = tmp_path / "og"
    script.main(["--corpus", str(corpus), "--crops", "2", "--side", "256", "--out", str(out)])
    result = json.loads(out.with_suffix(".json").read_text())
    rows, cases = result["rows"], script.cases()
    assert [r["case"] for r in rows] == [c[0] for c in cases] and len(calls) == 2 * len(cases)
    for r, (a, b) in zip(rows, zip(calls[::2], calls[1::2])):
        assert r["crops"] == 2 and r["max"] == max(a, b) and r["read_pct"] == 50 * ((a > 0) + (b > 0))
        assert r["decisive_pct"] == 50 * ((a >= quality.GRID_DC_DECISIVE) + (b >= quality.GRID_DC_DECISIVE))
    assert result["summary"]["largest_single"] == max(r["max"] for r in rows if r["kind"] == "single")
    assert out.with_suffix(".md").read_text().count("\n| ") == len(cases) + 1   # header + rows


def test_lattice_thresholds_scores_every_case_aligned_and_cropped(corpus, tmp_path, monkeypatch):
    """lattice_thresholds: the lattice evidence of the best grid for each case on each
    training crop, aligned and cropped, and for the graphics; a case is decisive exactly on
    the pictures at or above detector.LATTICE_DECISIVE; the summary's largest uncompressed is
    the never-compressed rows' largest."""
    monkeypatch.syspath_prepend(str(AI_RESEARCH))      # for its `import eval_detector`
    script = load_script("lattice_thresholds", monkeypatch)
    from dejpeg import detector, features
    both = record(monkeypatch, features, "lattice_scan",
                  lambda scan: (features.WHOLE_LUMA_LATTICE, scan.best()[1]))
    out = tmp_path / "lat"
    script.main(["--corpus", str(corpus), "--crops", "2", "--side", "256", "--out", str(out)])
    assert features.WHOLE_LUMA_LATTICE                 # the served reading, left as it was
    result = json.loads(out.with_suffix(".json").read_text())
    rows, cases = result["rows"], script.cases()
    assert len(rows) == 2 * (len(cases) + 1)          # each case aligned and cropped, the graphics too
    graphics = len(script.GRAPHICS)
    assert len(both) == 2 * 2 * (2 * len(cases) + graphics)    # each picture read both ways
    calls = [v for whole, v in both if whole]
    decoded = [v for whole, v in both if not whole]
    assert [whole for whole, _ in both] == [True, False] * (len(both) // 2)
    for i, r in enumerate(rows[:-2]):
        got, got_decoded = calls[2 * i:2 * i + 2], decoded[2 * i:2 * i + 2]
        assert r["pictures"] == 2 and r["max"] == max(got) and r["decoded_max"] == max(got_decoded)
        assert r["decisive_pct"] == 50 * sum(v >= detector.LATTICE_DECISIVE for v in got)
        assert r["decoded_decisive_pct"] == 50 * sum(v >= detector.LATTICE_DECISIVE for v in got_decoded)
    assert rows[-1]["pictures"] == graphics and rows[-1]["max"] == max(calls[-graphics:])
    assert result["summary"]["largest_uncompressed"] == max(r["max"] for r in rows if not r["compressed"])
    assert result["summary"]["threshold"] == detector.LATTICE_DECISIVE
    assert all(r["right_grid_pct"] is not None for r in rows if r["compressed"])
    assert out.with_suffix(".md").read_text().count("\n| ") == len(rows) + 1   # header + rows


def test_turned_thresholds_measures_every_history_upright_and_turned(corpus, tmp_path, monkeypatch):
    """turned_thresholds: every history on every crop, as compressed and transposed; the
    gain is the one `quality.transposed` compares with its margin (so its verdict follows from
    the gain and the coefficients read), and a turned JPEG of a textured picture gains it."""
    monkeypatch.syspath_prepend(str(AI_RESEARCH))      # for its `import eval_detector`
    script = load_script("turned_thresholds", monkeypatch)
    from dejpeg import jpeg, quality
    img = jpeg.compress(pattern(256, 256, seed=5), 30)
    for view in (img, np.swapaxes(img, 0, 1)):
        read, gain = script.gain(quality.grid_coefficients(view))
        assert quality.transposed(quality.grid_coefficients(view)) == (
            read >= quality.TURNED_MIN_READ and gain >= quality.TURNED_MARGIN)
    assert script.gain(quality.grid_coefficients(np.swapaxes(img, 0, 1)))[1] >= quality.TURNED_MARGIN
    assert script.gain(quality.grid_coefficients(img))[1] < quality.TURNED_MARGIN
    out = tmp_path / "turned"
    script.main(["--corpus", str(corpus), "--crops", "2", "--side", "256", "--out", str(out)])
    result = json.loads(out.with_suffix(".json").read_text())
    names = [name for name, _ in script.histories()]
    assert sorted({r["history"] for r in result["rows"]}) == sorted(names)
    for name in names:
        assert sum(r["crops"] for r in result["rows"] if r["history"] == name) == 2
    assert sum(b["crops"] for b in result["summary"]["bands"]) == 2 * (len(names) - 1)
    assert result["summary"]["uncompressed"]["upright_over_margin"] == 0
    single30 = [r for r in result["rows"] if r["history"] == "single 30"]
    assert all(r["upright_over_margin"] == 0 and r["turned_found_pct"] == 100 for r in single30)


def test_staircase_check_reads_each_crop_without_and_with_the_check(corpus, tmp_path, monkeypatch):
    """staircase_check: the read without the check is the one with STAIRCASE_FIT out of
    reach (restored afterwards), and the report counts every crop it drew."""
    script = load_script("staircase_check", monkeypatch)
    from dejpeg import jpeg, quality
    img = jpeg.compress(pattern(256, 256, seed=3), 20)
    fit = quality.STAIRCASE_FIT
    monkeypatch.setattr(quality, "STAIRCASE_FIT", 1.01)
    without = quality.quality_from_pixels(img)
    monkeypatch.setattr(quality, "STAIRCASE_FIT", fit)
    assert script.reads(img, (0, 0)) == (without, quality.quality_from_pixels(img))
    assert quality.STAIRCASE_FIT == fit
    out = tmp_path / "staircase"
    script.main(["--corpus", str(corpus), "--singles", "3", "--doubles", "2", "--out", str(out)])
    result = json.loads(out.with_suffix(".json").read_text())
    assert result["singles_qf_10_40"]["with"]["read"] == 3      # textured crops all read
    assert result["doubles_last_qf_50_95"]["with"]["read"] == 2
    assert len(result["doubles_changed"]) <= 2
    for r in result["restored"]:
        assert r["read_without"] != r["read_with"] and 10 <= r["qf"] <= 40
    assert out.with_suffix(".md").read_text().startswith("# The quality read's staircase check")


def test_eval_quality_scores_the_served_read_against_the_last_quality(corpus, tmp_path, monkeypatch):
    """eval_quality: random histories as documented (doubles' two qualities 5 or more apart,
    only doubles recropped), each crop's truth its last quality, and the served detector's
    read on textured crops: compressed, on the last grid, and the quality exact."""
    script = load_script("eval_quality", monkeypatch)
    rng = np.random.default_rng(0)
    for _ in range(200):
        case = script.random_history(rng)
        assert case.kind in ("single", "double")
        assert script.last_quality(case) == (case.q1 if case.kind == "single" else case.q2)
        assert case.kind == "double" or case.recrop == (0, 0)
        if case.kind == "double":
            assert abs(case.q1 - case.q2) >= 5 and 10 <= min(case.q1, case.q2) and max(case.q1, case.q2) <= 95
    # four doubles: the last table check made the first one's verdict double
    summary = script.summarise([dict(grid_right=True, verdict=verdict, unchecked_verdict=unchecked,
                                     truth_class="double", last_table=checked, read=read, truth=truth)
                                for read, truth, verdict, unchecked, checked in (
                                    (50, 50, "double", "single", True), (62, 50, "double", "double", False),
                                    (None, 30, "single", "single", False), (31, 30, "single", "single", False))])
    assert summary["read_pct"] == 75 and summary["mae"] == 13 / 3 and summary["over_10_off"] == 1
    assert summary["exact_pct"] == pytest.approx(100 / 3) and summary["within_2_pct"] == pytest.approx(200 / 3)
    assert summary["last_table_pct"] == 25 and summary["verdict_right_pct"] == 50
    assert summary["before_check_right_pct"] == 25
    out = tmp_path / "q"
    script.main(["--corpus", str(corpus), "--crops", "6", "--seed", "3", "--out", str(out)])
    result = json.loads(out.with_suffix(".json").read_text())
    assert sum(r["samples"] for r in result["rows"]) == 6 == result["overall"]["all"]["samples"]
    singles = [r for r in result["rows"] if r["history"] == "single" and not r["last_qf"].startswith("96")]
    assert singles and all(r["called_compressed_pct"] == 100 and r["grid_right_pct"] == 100
                           and r["exact_pct"] == 100 and r["last_table_pct"] == 0 for r in singles)


def test_eval_real_jpegs_picks_a_splits_jpeg_sources(tmp_path, monkeypatch):
    """Only the sources of a split's pictures that are JPEG files, each once (a source
    appears once per corpus picture made of it), and none of the other split's."""
    monkeypatch.syspath_prepend(str(AI_RESEARCH))      # for its `import eval_detector`
    script = load_script("eval_real_jpegs", monkeypatch)
    from images import jpeg, png
    srcs = {}
    for name, data in (("a.jpg", jpeg(pattern(64, 64), 80)), ("b.png", png(pattern(64, 64))),
                       ("c.jpg", jpeg(pattern(64, 64, seed=2), 80)), ("d.jpeg", jpeg(pattern(64, 64), 90))):
        srcs[name] = tmp_path / name
        srcs[name].write_bytes(data)
    images = [{"file": f"{split}/{n}.png", "source": str(srcs[n])} for split, n in
              (("val", "a.jpg"), ("val", "b.png"), ("train", "c.jpg"), ("val", "a.jpg"), ("val", "d.jpeg"))]
    (tmp_path / "manifest.json").write_text(json.dumps({"images": images}))
    assert script.split_jpegs(tmp_path) == [srcs["a.jpg"], srcs["d.jpeg"]]
    assert script.split_jpegs(tmp_path, "train") == [srcs["c.jpg"]]
    assert script.label(Path("/usr/share/wallpapers/Honeywave/contents/images/1080x1920.jpg")) \
        == "Honeywave/1080x1920.jpg"
    assert script.label(Path("/x/Wine.jpg")) == "Wine.jpg"


def test_eval_real_jpegs_scores_every_file_in_every_case(tmp_path, monkeypatch):
    """eval_real_jpegs --dir: each JPEG through the shipped detector in every case (the file,
    its pixels, crops, resaves); the summary counts what the per-file verdicts say, a file
    upload is never called uncompressed, and the report has a row per case and per file."""
    monkeypatch.syspath_prepend(str(AI_RESEARCH))      # for its `import eval_detector`
    script = load_script("eval_real_jpegs", monkeypatch)
    import images
    folder = tmp_path / "camera"
    folder.mkdir()
    cam = images.camera_picture()
    (folder / "b.JPG").write_bytes(images.save(cam, "JPEG", qtables=[images.camera_table().tolist()] * 2))
    (folder / "a.jpeg").write_bytes(images.jpeg(pattern(300, 300), 90))
    (folder / "notes.txt").write_text("not a picture")
    out = tmp_path / "real"
    script.main(["--dir", str(folder), "--out", str(out)])
    result = json.loads(out.with_suffix(".json").read_text())
    names = [c[0] for c in script.cases()]
    assert [Path(f["file"]).name for f in result["files"]] == ["a.jpeg", "b.JPG"]
    for f in result["files"]:
        assert list(f["cases"]) == names
        assert f["cases"]["the file"]["verdict"] != "uncompressed"
        assert f["width"] == (300 if f["file"].endswith("a.jpeg") else cam.shape[1])
    assert result["files"][0]["quality"] == 90 and result["files"][0]["ijg_table"]
    assert not result["files"][1]["ijg_table"]
    for row, (name, truth, _) in zip(result["summary"], script.cases()):
        said = [f["cases"][name]["verdict"] for f in result["files"]]
        assert row["case"] == name and row["truth"] == truth and row["files"] == 2
        assert row["counts"] == {c: said.count(c) for c in ("uncompressed", "single", "double")}
        assert row["accuracy"] == 50 * said.count(truth)
        named = [f["cases"][name]["light_first_quality"] for f in result["files"]]
        assert all(q is None or "light first" in f["cases"][name]["tests"]
                   for q, f in zip(named, result["files"]))       # a quality only when decisive
        if truth == "single":       # a first quality is scored only against a resaved file's
            assert row["light_first_qf_errors"] == []
    md = out.with_suffix(".md").read_text()
    assert md.count("\n| ") == (len(names) + 1) + (2 + 1)     # headers + cases, headers + files
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="no JPEG files"):
        script.main(["--dir", str(tmp_path / "empty"), "--out", str(out)])


def test_eval_restorer_reports_the_mean_and_the_worst_pictures_lattice(monkeypatch):
    """A pattern is seen on the picture where it is strongest: beside each mean score the
    restorer evaluation keeps the highest lattice % of any picture."""
    monkeypatch.syspath_prepend(str(AI_RESEARCH))      # for its `import spp`
    script = load_script("eval_restorer", monkeypatch)
    refs = [pattern(64, 64, seed=s) for s in (1, 2)]
    stripes = np.where(np.arange(64) % 2, 6, -6)[None, :, None]
    outs = [refs[0], np.clip(refs[1].astype(int) + stripes, 0, 255).astype(np.uint8)]
    from dejpeg import metrics
    row = script.summary(refs, outs)
    lat = [metrics.lattice(o) for o in outs]
    assert row.shape == (6,) and lat[1] > 10 * lat[0]
    assert row[4] == pytest.approx(np.mean(lat)) and row[5] == pytest.approx(lat[1])
    assert row[0] == pytest.approx(np.mean([metrics.psnr(r, o) for r, o in zip(refs, outs)]))


def test_compare_crops_puts_the_same_square_of_each_output_side_by_side(monkeypatch):
    """compare_crops: the original, its JPEG and each restorer's output (as served, at the
    strength for that quality), cropped to one square, enlarged, labelled, in one row."""
    script = load_script("compare_crops", monkeypatch)
    from dejpeg.restorer import Restorer
    original = pattern(64, 80)
    seen = []

    def negate(batch, training=False):
        return -batch
    r = Restorer(negate, "negate", strength={10: 0.5})
    monkeypatch.setattr(r, "restore", lambda rgb, grid, strength: seen.append(strength) or 255 - rgb)
    images = script.panels(original, 10, {"negate": r})
    assert list(images) == ["original", "JPEG QF 10", "negate"] and seen == [0.5]
    np.testing.assert_array_equal(images["original"], original)
    np.testing.assert_array_equal(images["negate"], 255 - images["JPEG QF 10"])
    out = np.asarray(script.sheet(images, (8, 16, 20), 3))
    assert out.shape == (20 * 3 + script.LABEL, 3 * 60 + 2 * script.GAP, 3)
    # the second panel is the JPEG's square, each pixel 3x3
    panel = out[script.LABEL:, 60 + script.GAP:120 + script.GAP]
    np.testing.assert_array_equal(panel[::3, ::3], images["JPEG QF 10"][16:36, 8:28])
    with pytest.raises(ValueError, match="does not fit"):
        script.sheet(images, (70, 0, 20), 1)


# --- corpus --------------------------------------------------------------------------------

def test_build_corpus_keeps_every_size_of_one_picture_on_one_side(tmp_path, monkeypatch):
    """build_corpus: one picture shipped at several sizes (MATE's Elephants.jpg and
    Elephants_3840x2160.jpg, sway's ..._1366x768_Portrait.png) is one group, so never on both
    sides of the split; byte-identical copies are kept once, nearly flat pictures dropped,
    every picture downscaled by at least 2x."""
    script = load_script("build_corpus", monkeypatch)
    from PIL import Image
    assert script.group_of(Path("/b/mate/Elephants_3840x2160.jpg")) == "Elephants"
    assert script.group_of(Path("/b/sway/Sway_Blue_1366x768_Portrait.png")) == "Sway_Blue"
    assert script.group_of(Path("/b/Mountain-d.jpg")) == "Mountain"
    assert script.group_of(Path("/w/Kite/contents/images/1920x1080.jpg")) == "Kite"
    src = tmp_path / "src"
    src.mkdir()
    big = pattern(512, 768)
    names = [f"Pic{i}" for i in range(12)]
    for i, name in enumerate(names):
        im = np.roll(big, 37 * i, axis=1)
        Image.fromarray(im).save(src / f"{name}.png")
        Image.fromarray(im[::2, ::2]).save(src / f"{name}_384x256.png")
    (src / "copy.png").write_bytes((src / "Pic0.png").read_bytes())
    Image.fromarray(np.full((512, 512, 3), 90, np.uint8)).save(src / "flat.png")
    out = tmp_path / "corpus"
    script.main(["--source", str(src), "--no-skimage", "--out", str(out), "--min-side", "64"])
    manifest = json.loads((out / "manifest.json").read_text())
    sides = {}
    for r in manifest["images"]:
        sides.setdefault(r["group"], set()).add(r["file"].split("/")[0])
        assert max(r["width"], r["height"]) <= 384        # 768 px halved at least
    assert set(sides) == set(names)                      # no copy, no flat picture, no size group
    assert all(len(s) == 1 for s in sides.values())
    assert {s for v in sides.values() for s in v} == {"train", "val"}
    assert sum(v["images"] for v in manifest["summary"].values()) == 2 * len(names)


def test_source_grid_counts_a_weak_grid_only_where_halving_puts_one(monkeypatch):
    """data.source_grid: a grid that stands out shows anywhere; one half as strong shows only
    at 0 or 4 in both directions, where a halved JPEG's 4x4 blocks line up with 8x8 grids; a
    never-compressed photo shows none, and its QF 30 JPEG halved does."""
    from PIL import Image
    from skimage.data import coffee
    from dejpeg import data, features, jpeg
    assert not data.source_grid(coffee())[0]
    halved = Image.fromarray(jpeg.compress(coffee(), 30)).resize((300, 200), Image.Resampling.LANCZOS)
    shows, evidence, offset = data.source_grid(np.asarray(halved))
    assert shows and evidence >= features.GRID_MIN_EVIDENCE and offset[0] % 4 == 0 == offset[1] % 4
    weak = (features.GRID_MIN_EVIDENCE + data.HALVED_EVIDENCE) / 2
    for offset, evidence, shows in [((4, 0), weak, True), ((0, 0), weak, True), ((4, 4), weak, True),
                                    ((3, 0), weak, False), ((4, 6), weak, False),
                                    ((3, 5), features.GRID_MIN_EVIDENCE, True),
                                    ((0, 4), data.HALVED_EVIDENCE * 0.9, False)]:
        monkeypatch.setattr(features, "grid_search", lambda image, min_evidence=0, o=offset, e=evidence: (o, e))
        assert data.source_grid(np.zeros((64, 64, 3), np.uint8)) == (shows, evidence, offset)


def test_build_corpus_downscales_further_a_source_whose_jpeg_grid_shows_through(tmp_path, monkeypatch):
    """build_corpus: a QF 30 JPEG halved keeps its blocks as 4x4 ones, which the detector's
    grid search finds; the builder downscales that source further (2.5x, 3x, 4x) until no grid
    shows, records the factor and the evidence, and keeps a clean picture at 2x.  --keep-grids
    builds as before (2x, nothing measured); a rebuild removes pictures the new build left out."""
    script = load_script("build_corpus", monkeypatch)
    from PIL import Image
    from skimage.data import coffee
    from dejpeg import data, features, jpeg
    src = tmp_path / "src"
    src.mkdir()
    Image.fromarray(coffee()).save(src / "Clean.png")
    Image.fromarray(jpeg.compress(coffee(), 30)).save(src / "Traced.png")
    halved = Image.fromarray(jpeg.compress(coffee(), 30)).resize((300, 200), Image.Resampling.LANCZOS)
    assert features.grid_search(np.asarray(halved))[1] >= features.GRID_MIN_EVIDENCE
    out = tmp_path / "corpus"
    (out / "train").mkdir(parents=True)
    (out / "train" / "Stale-0.png").write_bytes(b"")
    script.main(["--source", str(src), "--no-skimage", "--out", str(out), "--min-side", "64"])
    manifest = json.loads((out / "manifest.json").read_text())
    by_group = {r["group"]: r for r in manifest["images"]}
    assert set(by_group) == {"Clean", "Traced"}
    traced, clean = by_group["Traced"], by_group["Clean"]
    assert traced["further"] in script.FURTHER[1:] and traced["factor"] == 2 * traced["further"]
    assert (traced["width"], traced["height"]) == (round(600 / traced["factor"]), round(400 / traced["factor"]))
    shows, evidence, _ = data.source_grid(np.asarray(Image.open(out / traced["file"])))
    assert not shows and evidence == pytest.approx(traced["grid_evidence"], abs=1e-4)
    assert clean["factor"] == 2 and clean["further"] == 1 and clean["grid_evidence"] < data.HALVED_EVIDENCE
    assert manifest["downscaled_further"] == 1 and manifest["left_out_for_grids"] == []
    assert not (out / "train" / "Stale-0.png").exists()

    before = tmp_path / "before"
    script.main(["--source", str(src), "--no-skimage", "--out", str(before), "--min-side", "64",
                 "--keep-grids"])
    kept = {r["group"]: r for r in json.loads((before / "manifest.json").read_text())["images"]}
    assert kept["Traced"]["factor"] == 2 and kept["Traced"]["grid_evidence"] is None
    assert features.grid_search(np.asarray(Image.open(before / kept["Traced"]["file"])))[1] \
        >= features.GRID_MIN_EVIDENCE

    monkeypatch.setattr(script, "FURTHER", (1.0,))      # no further factor: the source is left out
    left = tmp_path / "left"
    script.main(["--source", str(src), "--no-skimage", "--out", str(left), "--min-side", "64"])
    manifest = json.loads((left / "manifest.json").read_text())
    assert [r["group"] for r in manifest["images"]] == ["Clean"]
    assert [Path(r["source"]).name for r in manifest["left_out_for_grids"]] == ["Traced.png"]
    assert manifest["downscaled_further"] == 0


def test_build_corpus_takes_the_files_of_the_named_debian_packages(monkeypatch, tmp_path):
    """--packages: the corpus takes only the files the named packages installed (`dpkg -L`),
    so the corpus of the first three wallpaper packages can be rebuilt after more joined."""
    script = load_script("build_corpus", monkeypatch)
    files = script.package_files(["dpkg", "no-such-package-dejpeg"])
    assert "/usr/bin/dpkg" in files and not any("no-such-package" in f for f in files)
    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "b.png").write_bytes(b"")
    found = script.find_sources([str(tmp_path)], False, only={str(tmp_path / "b.png")})
    assert found == [tmp_path / "b.png"]
    assert len(script.find_sources([str(tmp_path)], False)) == 2


def test_corpus_grid_check_flags_a_picture_whose_source_compression_shows(tmp_path, monkeypatch):
    """corpus_grid_check: a corpus picture made of a QF 30 JPEG's pixels is flagged, with its
    grid and its source's format and quality; a never-compressed one is not; the report lists
    the flagged ones, then those build_corpus downscaled further and the sources it left out."""
    script = load_script("corpus_grid_check", monkeypatch)
    from PIL import Image
    from skimage.data import astronaut
    from dejpeg import jpeg
    import images
    corpus = tmp_path / "corpus"
    (corpus / "train").mkdir(parents=True)
    (corpus / "val").mkdir()
    clean = astronaut()[:256, :256]
    source = tmp_path / "src.jpg"
    source.write_bytes(images.jpeg(clean, 30))
    Image.fromarray(jpeg.compress(clean, 30)[3:, 5:]).save(corpus / "train/traced.png")
    Image.fromarray(clean).save(corpus / "val/clean.png")
    (corpus / "manifest.json").write_text(json.dumps({"images": [
        {"file": "val/clean.png", "source": str(tmp_path / "gone.png"), "factor": 2.5, "further": 1.25},
        {"file": "train/traced.png", "source": str(source), "factor": 2, "further": 1}],
        "left_out_for_grids": [{"source": "/w/Heavy.jpg", "factor": 4, "grid_evidence": 0.031}]}))
    out = tmp_path / "check"
    script.main(["--corpus", str(corpus), "--out", str(out)])
    result = json.loads(out.with_suffix(".json").read_text())
    traced, clean_row = result["pictures"]                   # highest evidence first
    assert traced["file"] == "train/traced.png" and traced["grid_shows"]
    assert traced["offset"] == [3, 5] and traced["source_format"] == "JPEG" and traced["source_quality"] == 30
    assert not clean_row["grid_shows"] and clean_row["source_format"] is None
    assert result["summary"]["flagged"] == 1 and result["summary"]["flagged_by_split"] == {"train": 1, "val": 0}
    assert result["summary"]["downscaled_further"] == 1 and result["summary"]["left_out_for_grids"] == 1
    flagged_part, further_part = out.with_suffix(".md").read_text().split("Downscaled further")
    assert "train/traced.png" in flagged_part and "val/clean.png" not in flagged_part
    assert "| val/clean.png | 2.5 |" in further_part and "train/traced.png" not in further_part
    assert "| (left out) | 4 | 0.0310 | Heavy.jpg |" in further_part
