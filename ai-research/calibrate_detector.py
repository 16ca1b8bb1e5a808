"""Fit the detector's image-level calibration on training pictures.

    python ai-research/calibrate_detector.py      # or: make calibrate-detector

The CNN's mean block probabilities miss some light compressions (QF 95) and call some
clean pictures compressed.  The grid search measures something the CNN does not see: how
strongly one of the 64 8x8 grids stands out (`features.grid_search`).  This script draws
--samples random (crop, compression case) pairs from the training pictures
(`data.random_case`, the CNN's training distribution; never the validation split), runs the
served pipeline up to the image probabilities, and fits a multinomial logistic regression
of the class on `detector.calibration_features` (log mean probabilities, log evidence;
gradient descent on standardised features, light L2).  Writes the weights into
models/catalog.json (`verdict_calibration`) and the fit's numbers to
results/detector_calibration.{md,json}.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from dejpeg import data, features, registry
from dejpeg.detector import Detector, aggregate, calibrate, calibration_features

HERE = Path(__file__).parent


def samples(det: Detector, pictures, n: int, seed: int):
    rng = np.random.default_rng(seed)
    rows, labels, evidence = [], [], []
    for i in range(n):
        pic = pictures[i % len(pictures)]
        img = data.random_crop(pic, int(rng.integers(256, 1025)), rng)
        case = data.random_case(rng)
        x = case.apply(img)
        offset, ev = features.grid_search(x)
        feats, _, _ = features.image_features(x, offset)
        rows.append(aggregate(det.predict_blocks(feats)))
        evidence.append(ev)
        labels.append(case.label)
    return np.array(rows), np.array(evidence), np.array(labels)


def fit_softmax(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 3000,
                lr: float = 0.5) -> np.ndarray:
    """Weights W (features x classes) of P(class) = softmax(x @ W); the last feature is the
    constant 1.  Fitted on standardised features, returned for the raw ones."""
    mu, sd = x[:, :-1].mean(axis=0), x[:, :-1].std(axis=0) + 1e-9
    g = np.concatenate([(x[:, :-1] - mu) / sd, x[:, -1:]], axis=1)
    onehot = np.eye(3)[y]
    w = np.zeros((x.shape[1], 3))
    for _ in range(steps):
        z = g @ w
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        w -= lr * (g.T @ (p - onehot) / len(y) + l2 * w)
    raw = w.copy()
    raw[:-1] = w[:-1] / sd[:, None]
    raw[-1] = w[-1] - (mu / sd) @ w[:-1]
    return raw


def accuracies(pred: np.ndarray, labels: np.ndarray) -> dict:
    """Three-class accuracy and balanced compressed-vs-not accuracy, in %."""
    clean = labels == 0
    return {"three_class": round(100 * float(np.mean(pred == labels)), 2),
            "binary_balanced": round(50 * float(np.mean(pred[~clean] > 0) + np.mean(pred[clean] == 0)), 2)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=str(registry.DEFAULT_DIR))
    ap.add_argument("--corpus", default=str(HERE / "data/corpus"))
    ap.add_argument("--samples", type=int, default=1500)
    ap.add_argument("--out", default=str(HERE / "results/detector_calibration"))
    ap.add_argument("--no-catalog", action="store_true", help="do not write models/catalog.json")
    args = ap.parse_args(argv)

    models = Path(args.models)
    catalog = json.loads((models / "catalog.json").read_text())
    entry = next(e for e in catalog["models"] if e["kind"] == "detector")
    det = Detector.load(models / entry["file"], entry["name"])
    t = time.time()
    probs, evidence, labels = samples(det, data.load_images(Path(args.corpus) / "train"),
                                      args.samples, seed=7)
    x = np.array([calibration_features(p, e) for p, e in zip(probs, evidence)])
    w = fit_softmax(x, labels)
    after = np.array([calibrate(p, e, w).argmax() for p, e in zip(probs, evidence)])
    result = {
        "weights": [[round(float(v), 5) for v in row] for row in w],
        "features": ["log mean block P(uncompressed)", "log mean block P(single)",
                     "log mean block P(double)", "log(grid evidence + 0.001)", "1"],
        "samples": int(len(labels)), "class_counts": np.bincount(labels, minlength=3).tolist(),
        "cnn_mean": accuracies(probs.argmax(axis=1), labels),
        "calibrated": accuracies(after, labels),
        "evidence_uncompressed_max": round(float(evidence[labels == 0].max()), 4),
        "evidence_compressed_p05": round(float(np.percentile(evidence[labels > 0], 5)), 4),
        "seconds": round(time.time() - t, 1),
    }
    entry["verdict_calibration"] = {"weights": result["weights"], "features": result["features"],
                                    "fitted_on": f"{result['samples']} random cases of training pictures "
                                                 "(ai-research/results/detector_calibration.md)"}
    if not args.no_catalog:
        (models / "catalog.json").write_text(json.dumps(catalog, indent=1) + "\n")
    Path(args.out + ".json").write_text(json.dumps(result, indent=1))
    lines = ["# Detector image-level calibration (training pictures)", "",
             f"{result['samples']} random crops (256-1024 px) of training pictures, each with a random "
             f"case of `data.random_case` (uncompressed / single / double: {result['class_counts']}).  "
             "Multinomial logistic regression of the class on the logs of the CNN's mean block "
             "probabilities and the log of the grid evidence.", "",
             "| on these samples | three-class % | compressed-vs-not (balanced) % |", "|---|---|---|",
             f"| CNN mean probabilities | {result['cnn_mean']['three_class']:.2f} | "
             f"{result['cnn_mean']['binary_balanced']:.2f} |",
             f"| calibrated (served) | {result['calibrated']['three_class']:.2f} | "
             f"{result['calibrated']['binary_balanced']:.2f} |", "",
             f"Grid evidence: at most {result['evidence_uncompressed_max']} on an uncompressed sample; "
             f"5th percentile {result['evidence_compressed_p05']} on compressed ones.", "",
             "Weights (rows: " + ", ".join(result["features"]) + "; columns: uncompressed, single, double):",
             "", "```", *("  ".join(f"{v:9.4f}" for v in row) for row in result["weights"]), "```",
             "", "These are fit-set numbers; `make eval-detector` measures the result on the "
             "validation split."]
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
