"""Train C_Tiny on DCT histograms of compressed / uncompressed corpus blocks.

    python ai-research/train_detector.py                 # make data (cached), train, resume
    KERAS_BACKEND=jax python ai-research/train_detector.py --epochs 30   # e.g. on a GPU

1. Samples: for each of --variants random (crop, compression case) draws on the training
   images (`dejpeg.data.random_case`: uncompressed / single / double, seed QFs and random
   ones, grids shifted by crops), every 256x256 block on the grid the server's own grid
   search finds, as the server computes it.  Cached in ai-research/data/detector/.
2. Training: Keras fit with a checkpoint every epoch (`last.keras`, optimiser included) and a
   CSV log of the curves; rerunning the command resumes from the last epoch (`--epochs` at
   or below the epochs done just finalises).
3. Finalising: the batch-norm moving statistics of the last epoch are recomputed on training
   blocks (`recalibrate_bn`), validation accuracy is measured in inference mode, and the
   model is saved to --out without optimiser state.  Why: the first BN layer sees tiny
   activations (variance ~7e-4, histogram inputs are mostly near 0), and the moving variance
   starts at 1 and decays by 0.99 a step: after one epoch (417 steps) the leftover of the
   initial value (0.015) was 20x the true variance, and inference mode predicted one class.
   Both the last epoch and the epoch of the best validation accuracy seen during fit
   (`best.keras`) are finalised this way; the better one on validation is saved.

`--transpose` also trains on every block transposed: transposing a luma block swaps the DCT
frequencies (u, v) and (v, u) of each 8x8 block, so a block's features become the same
columns permuted, exactly those of the transposed picture (a JPEG of it made with the
transposed quantiser table).  It doubles the training blocks at no feature cost.

`--vary` varies every training crop before its case (`dejpeg.data.vary`: scale, tone,
sharpness, noise) and `--init` starts from a trained model; with another --work folder and
--seed they fine-tune on fresh draws (ai-research/notes/c-tiny-log.md has the run and what it
gave: not shipped).

`--camera P` passes a share P of the training crops through a camera's processing first
(`dejpeg.data.random_camera`: Bayer mosaic and demosaicing, shot and read noise, sharpening,
at random strengths), before `--vary` and the case: what a photograph developed from a raw
file has and the downscaled corpus pictures lack; the validation draws stay as they are.

`--pooled N` trains on image-level samples instead (`pool`): each draw's blocks summed into
one histogram, as a catalog entry with `"pooled": true` makes `Detector` read an image, plus N
sums of a random part of them.  The pooled samples are cached apart (`pooled_*.npz`) and are
all a later run needs, so they can travel to a GPU machine without the block caches
(ai-research/notes/c-tiny-log.md has two such runs: not shipped).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from dejpeg import archs, data

HERE = Path(__file__).parent
# column j of a feature holds frequency (j // 8, j % 8); TRANSPOSE[j] is (j % 8, j // 8)
TRANSPOSE = np.arange(64).reshape(8, 8).T.ravel()


def _make(args):
    folder, index, seed, crop, vary, camera = args
    rng = np.random.default_rng(seed)
    images = _make.images
    img = data.random_crop(images[index], crop, rng)
    if camera and rng.random() < camera:
        img = data.random_camera(img, rng)
    if vary:
        img = data.vary(img, rng)
    case = data.random_case(rng)
    x, y = data.detector_samples(img, case)
    return x, y


def _init(folder):
    _make.images = data.load_images(folder)


def make_set(folder: Path, variants: int, seed: int, crop: int, workers: int, vary: bool = False,
             camera: float = 0.0):
    n_images = len(list(folder.glob("*.png")))
    jobs = [(folder, i % n_images, seed * 1_000_003 + i, crop, vary, camera) for i in range(variants)]
    with Pool(workers, initializer=_init, initargs=(folder,)) as pool:
        parts = pool.map(_make, jobs, chunksize=16)
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    draw = np.repeat(np.arange(len(parts)), [len(p[1]) for p in parts]).astype(np.int32)
    return x, y, draw


def draws(variants: int, seed: int, crop: int, vary: bool, camera: float = 0.0) -> str:
    """The settings that decide a set of draws, as the caches record them (`camera` only when
    used: the caches made before it record the same draws without it)."""
    settings = {"variants": variants, "seed": seed, "crop": crop, "vary": vary}
    if camera:
        settings["camera"] = camera
    return json.dumps(settings)


def cached_set(path: Path, folder: Path, variants: int, seed: int, crop: int, workers: int,
               vary: bool = False, camera: float = 0.0):
    """The samples of these draws, made once and cached at `path` with the draws' settings;
    a cache made with other settings is refused (rather than trained on silently)."""
    settings = draws(variants, seed, crop, vary, camera)
    if path.exists():
        z = np.load(path)
        if "draws" in z and str(z["draws"]) != settings:
            raise SystemExit(f"{path} holds draws {z['draws']}, not {settings}: "
                             "use another --work folder")
        return z["x"], z["y"], (z["draw"] if "draw" in z else None)
    t = time.time()
    x, y, draw = make_set(folder, variants, seed, crop, workers, vary, camera)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x, y=y, draw=draw, draws=settings)
    print(f"{path.name}: {len(y)} blocks {np.bincount(y, minlength=3)} in {time.time() - t:.0f} s",
          flush=True)
    return x, y, draw


def pool(x, y, draw, rng, subsets: int):
    """Image-level samples from block samples: for every draw the histogram of all its blocks
    together (the sum of their counts, as `Detector` pools an image's blocks), and `subsets`
    more over a random 1..n of its n blocks (a smaller image, fewer blocks).

    Returns (sums (M, 120, 64, 1) uint32 counts, blocks summed (M,), labels (M,)); the feature
    of a sample is sums / (1024 * blocks), the mean of its blocks' histograms."""
    starts = np.flatnonzero(np.r_[True, draw[1:] != draw[:-1]])
    ends = np.r_[starts[1:], len(draw)]
    sums, counts, labels = [], [], []
    for a, b in zip(starts, ends):
        picks = [np.arange(a, b)]
        for _ in range(subsets if b - a > 1 else 0):
            k = int(rng.integers(1, b - a))
            picks.append(a + rng.choice(b - a, k, replace=False))
        for idx in picks:
            sums.append(x[idx].sum(axis=0, dtype=np.uint32))
            counts.append(len(idx))
            labels.append(y[a])
    return np.stack(sums), np.array(counts, np.int32), np.array(labels, np.uint8)


def pooled_set(path: Path, blocks, subsets: int, seed: int, drawn: str):
    """`pool` of the block samples `blocks()` gives, cached at `path` with the settings of the
    draws and the pooling (a cache travels without the block caches: a GPU machine trains on it
    alone); a cache made with other settings is refused, as `cached_set` refuses one."""
    settings = json.dumps({"draws": drawn, "subsets": subsets, "seed": seed})
    if path.exists():
        z = np.load(path)
        if "settings" in z and str(z["settings"]) != settings:
            raise SystemExit(f"{path} holds pooled samples of {z['settings']}, not {settings}: "
                             "use another --work folder")
        return z["sums"], z["n"], z["y"]
    x, y, draw = blocks()
    if draw is None:
        raise SystemExit("the block cache has no draw index (made before --pooled): "
                         "use another --work folder")
    sums, n, labels = pool(x, y, draw, np.random.default_rng(seed), subsets)
    np.savez_compressed(path, sums=sums, n=n, y=labels, settings=settings)
    print(f"{path.name}: {len(labels)} pooled samples {np.bincount(labels, minlength=3)}", flush=True)
    return sums, n, labels


def recalibrate_bn(model, x, rng, batch: int = 512, batches: int = 16):
    """Set every BatchNormalization's moving mean/variance to the average of the batch
    statistics of `batches` random training batches (momentum i/(i+1) on the i-th batch)."""
    import keras
    bns = [l for l in model.layers if isinstance(l, keras.layers.BatchNormalization)]
    saved = [l.momentum for l in bns]
    batch = min(batch, len(x))
    for i in range(batches):
        for l in bns:
            l.momentum = i / (i + 1)
        model(x[rng.choice(len(x), batch, replace=False)], training=True)
    for l, m in zip(bns, saved):
        l.momentum = m


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(HERE / "data/corpus"))
    ap.add_argument("--work", default=str(HERE / "data/detector"))
    ap.add_argument("--variants", type=int, default=4000, help="training draws (crop + case)")
    ap.add_argument("--val-variants", type=int, default=600)
    ap.add_argument("--crop", type=int, default=1024, help="side of the crop each draw compresses")
    ap.add_argument("--width", type=int, default=32, help="C_Tiny width (64 = published)")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--transpose", action="store_true",
                    help="also train on every block transposed (doubles the training blocks)")
    ap.add_argument("--vary", action="store_true",
                    help="vary each training crop's scale, tone, sharpness and noise (`data.vary`)")
    ap.add_argument("--camera", type=float, default=0.0, metavar="P",
                    help="pass this share of the training crops through a camera's processing "
                         "first (`data.random_camera`: Bayer demosaicing, sensor noise, sharpening)")
    ap.add_argument("--pooled", type=int, default=None, metavar="SUBSETS",
                    help="train on image-level samples: each draw's blocks pooled into one "
                         "histogram, plus SUBSETS pools of a random part of them (`pool`)")
    ap.add_argument("--seed", type=int, default=1, help="of the training draws")
    ap.add_argument("--init", default=None,
                    help="start from this model's weights (fine-tuning) instead of random ones")
    ap.add_argument("--out", default=str(HERE.parent / "server/dejpeg/models/c-tiny.keras"))
    ap.add_argument("--log-copy", default=str(HERE / "results/detector_training_log.csv"),
                    help="where the CSV training log is copied at the end")
    args = ap.parse_args(argv)

    import keras
    work = Path(args.work)
    corpus = Path(args.corpus)
    def train_blocks():
        return cached_set(work / "train.npz", corpus / "train", args.variants, args.seed,
                          args.crop, args.workers, args.vary, args.camera)

    def val_blocks():
        return cached_set(work / "val.npz", corpus / "val", args.val_variants, 2, args.crop,
                          args.workers)

    if args.pooled is None:
        (xt, yt, _), (xv, yv, _) = train_blocks(), val_blocks()
        nt, nv = np.ones(len(yt)), np.ones(len(yv))
    else:   # image-level samples: training draws pooled whole and in parts, validation whole
        xt, nt, yt = pooled_set(work / "pooled_train.npz", train_blocks, args.pooled, args.seed,
                                draws(args.variants, args.seed, args.crop, args.vary, args.camera))
        xv, nv, yv = pooled_set(work / "pooled_val.npz", val_blocks, 0, 2,
                                draws(args.val_variants, 2, args.crop, False))
    if args.transpose:
        xt, yt = np.concatenate([xt, xt[:, :, TRANSPOSE]]), np.concatenate([yt, yt])
        nt = np.concatenate([nt, nt])
    # features: the mean histogram of the blocks summed (float32 throughout: 100,000+ samples)
    xt = xt.astype(np.float32) / (1024.0 * nt.astype(np.float32))[:, None, None, None]
    xv = xv.astype(np.float32) / (1024.0 * nv.astype(np.float32))[:, None, None, None]

    last, best = work / "last.keras", work / "best.keras"
    state_path = work / "state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {"epoch": 0}
    steps = args.epochs * int(np.ceil(len(yt) / args.batch))
    if last.exists():
        model = keras.saving.load_model(last)
        print(f"resuming after epoch {state['epoch']}", flush=True)
    else:
        model = archs.c_tiny(width=args.width)
        if args.init:
            model.set_weights(keras.saving.load_model(args.init, compile=False).get_weights())
        sched = keras.optimizers.schedules.CosineDecay(args.lr, steps, alpha=0.01)
        model.compile(optimizer=keras.optimizers.Adam(sched),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    class Checkpoint(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            model.save(last)
            state["epoch"] = epoch + 1
            if logs and logs.get("val_accuracy", -1.0) > state.get("best", -1.0):
                model.save(best)
                state["best"], state["best_epoch"] = float(logs["val_accuracy"]), epoch + 1
            state_path.write_text(json.dumps(state))

    if state["epoch"] < args.epochs:
        model.fit(xt, yt, batch_size=args.batch, epochs=args.epochs, initial_epoch=state["epoch"],
                  validation_data=(xv, yv), shuffle=True, verbose=2,
                  callbacks=[Checkpoint(), keras.callbacks.CSVLogger(work / "log.csv", append=True)])
    candidates = {state["epoch"]: last}
    if best.exists() and state.get("best_epoch", state["epoch"]) != state["epoch"]:
        candidates[state["best_epoch"]] = best
    scored = []
    for epoch, path in candidates.items():
        model = keras.saving.load_model(path, compile=False)
        recalibrate_bn(model, xt, np.random.default_rng(0))
        probs = np.concatenate([np.asarray(model(xv[i:i + 512], training=False))
                                for i in range(0, len(xv), 512)])
        accuracy = float((probs.argmax(axis=1) == yv).mean())
        print(f"epoch {epoch}: recalibrated BN, val block accuracy {accuracy:.4f}", flush=True)
        scored.append((accuracy, epoch, model))
    accuracy, epoch, final = max(scored, key=lambda t: t[:2])
    state["final_val_accuracy"], state["final_epoch"] = accuracy, epoch
    state_path.write_text(json.dumps(state))
    final.save(args.out)
    Path(args.log_copy).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(work / "log.csv", args.log_copy)
    print(f"saved {args.out} (epoch {epoch} of {state['epoch']}, recalibrated BN, "
          f"val block accuracy {accuracy:.4f})")


if __name__ == "__main__":
    os.makedirs(HERE / "results", exist_ok=True)
    main()
