"""Fit the detector's compressed-vs-not calibration on training pictures.

    python ai-research/calibrate_detector.py      # or: make calibrate-detector

The CNN's mean block probability of "uncompressed" misses some light compressions (QF 95)
and calls some clean pictures compressed.  The grid search measures something the CNN does
not see: how strongly one of the 64 8x8 grids stands out (`features.grid_search`).  This
script draws --samples random (crop, compression case) pairs from the training pictures
(`data.random_case`, the CNN's training distribution; never the validation split), runs
the served pipeline up to the image probabilities, and fits a class-balanced logistic
regression of "uncompressed" on `detector.calibration_features` (Newton's method, light L2).
Writes the weights into models/catalog.json (`verdict_calibration`) and the fit's numbers
to results/detector_calibration.{md,json}.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from dejpeg import data, registry
from dejpeg.detector import Detector, aggregate, calibrate, calibration_features

HERE = Path(__file__).parent


def samples(det: Detector, pictures, n: int, seed: int):
    rng = np.random.default_rng(seed)
    rows, labels, evidence = [], [], []
    for i in range(n):
        pic = pictures[i % len(pictures)]
        img = data.random_crop(pic, int(rng.integers(256, 1025)), rng)
        case = data.random_case(rng)
        probs, _, _, ev = det.blocks_and_evidence(case.apply(img))
        rows.append(aggregate(probs))
        evidence.append(ev)
        labels.append(case.label)
    return np.array(rows), np.array(evidence), np.array(labels)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 50) -> np.ndarray:
    """Weights w of P(y=1) = sigmoid(x @ w), class-balanced, by Newton's method."""
    weight = np.where(y == 1, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9))
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-x @ w))
        grad = x.T @ (weight * (p - y)) / len(y) + l2 * w
        hess = (x * (weight * p * (1 - p))[:, None]).T @ x / len(y) + l2 * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    return w


def balanced_binary_accuracy(said_clean: np.ndarray, labels: np.ndarray) -> float:
    """Mean of the accuracy on compressed and on uncompressed samples, in %."""
    clean = labels == 0
    return 100 * (np.mean(~said_clean[~clean]) + np.mean(said_clean[clean])) / 2


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
    det = registry.load_detector(models, entry, calibrated=False)
    t = time.time()
    probs, evidence, labels = samples(det, data.load_images(Path(args.corpus) / "train"),
                                      args.samples, seed=7)
    x = np.array([calibration_features(p, e) for p, e in zip(probs, evidence)])
    w = fit_logistic(x, (labels == 0).astype(np.float64))
    # the verdict is the class of largest probability, before and after calibration
    before = probs.argmax(axis=1) == 0
    after = np.array([calibrate(p, e, w).argmax() == 0 for p, e in zip(probs, evidence)])
    result = {
        "weights": [round(float(v), 5) for v in w],
        "features": ["logit(mean block P(uncompressed))", "log(grid evidence + 0.001)", "1"],
        "samples": int(len(labels)), "class_counts": np.bincount(labels, minlength=3).tolist(),
        "binary_acc_balanced_cnn": round(balanced_binary_accuracy(before, labels), 2),
        "binary_acc_balanced_calibrated": round(balanced_binary_accuracy(after, labels), 2),
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
    lines = ["# Detector compressed-vs-not calibration (training pictures)", "",
             f"{result['samples']} random crops (256-1024 px) of training pictures, each with a random "
             f"case of `data.random_case` (uncompressed / single / double: {result['class_counts']}).  "
             "Logistic regression of P(uncompressed) on the logit of the CNN's mean block "
             "probability and the log of the grid evidence; class-balanced.", "",
             "| | value |", "|---|---|",
             f"| weights (logit, log evidence, bias) | {', '.join(f'{v:.3f}' for v in result['weights'])} |",
             f"| compressed-vs-not, CNN alone (balanced %) | {result['binary_acc_balanced_cnn']:.2f} |",
             f"| compressed-vs-not, calibrated (balanced %, same samples) | {result['binary_acc_balanced_calibrated']:.2f} |",
             f"| grid evidence, largest on an uncompressed sample | {result['evidence_uncompressed_max']} |",
             f"| grid evidence, 5th percentile of compressed samples | {result['evidence_compressed_p05']} |",
             "", "These are fit-set numbers; `make eval-detector` measures the result on the "
             "validation split."]
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
