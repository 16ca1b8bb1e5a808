"""Fit the detector's image-level calibration on training pictures.

    python ai-research/calibrate_detector.py      # or: make calibrate-detector

The CNN's mean block probabilities miss some light compressions (QF 95) and call some clean
pictures compressed.  Two pixel statistics measure what the CNN does not see: how strongly
one of the 64 8x8 grids stands out (`features.grid_search`), and how much more often than
chance the DCT coefficients on that grid sit on multiples of the quantisers of the estimated
quality (`quality.table_fit`).  This script draws --samples random (crop, compression case)
pairs from the training pictures (`data.random_case`, the CNN's training distribution; never
the validation split), runs the served pipeline up to the image probabilities, and fits a
class-balanced multinomial logistic regression of the three classes on
`detector.calibration_features` (L-BFGS, light L2 on standardised features).  Writes the
weights into models/catalog.json (`verdict_calibration`) and the fit's numbers to
results/detector_calibration.{md,json}.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.special import softmax

from dejpeg import data, registry
from dejpeg.archs import CLASSES
from dejpeg.detector import (CALIBRATION_FEATURES, Detector, aggregate, calibration_features,
                             double_compression_found, first_compression_tests)

HERE = Path(__file__).parent


def samples(det: Detector, pictures, n: int, seed: int):
    """(calibration features (n, 6), CNN mean probabilities (n, 3), labels (n,), whether each
    of the two tests for a first compression was decisive (n, 2): the same grid's histograms,
    another grid)."""
    rng = np.random.default_rng(seed)
    feats, probs, labels, found = [], [], [], []
    for i in range(n):
        pic = pictures[i % len(pictures)]
        img = data.random_crop(pic, int(rng.integers(256, 1025)), rng)
        case = data.random_case(rng)
        ev = det.blocks_and_evidence(case.apply(img))
        p = aggregate(ev.block_probs)
        probs.append(p)
        feats.append(calibration_features(p, ev.grid_evidence, ev.table_fit))
        labels.append(case.label)
        found.append(first_compression_tests(ev))
    return np.array(feats), np.array(probs), np.array(labels), np.array(found)


def fit_softmax(x: np.ndarray, y: np.ndarray, classes: int = 3, l2: float = 1e-3) -> np.ndarray:
    """Weights W (d, classes) of P(y | x) = softmax(x @ W), the last column of x being 1.

    Class-balanced cross-entropy with L2 (not on the bias), minimised by L-BFGS on
    standardised features; the standardisation is folded back into W, so it applies to
    raw features."""
    mu, sd = x[:, :-1].mean(axis=0), x[:, :-1].std(axis=0) + 1e-9
    z = np.hstack([(x[:, :-1] - mu) / sd, x[:, -1:]])
    onehot = np.eye(classes)[y]
    weight = 1.0 / np.bincount(y, minlength=classes)[y]
    weight /= weight.sum()
    d = z.shape[1]

    def loss(flat):
        w = flat.reshape(d, classes)
        s = z @ w
        s -= s.max(axis=1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        penalty = 0.5 * l2 * (w[:-1] ** 2).sum()
        grad = z.T @ ((np.exp(logp) - onehot) * weight[:, None])
        grad[:-1] += l2 * w[:-1]
        return -(weight * (onehot * logp).sum(axis=1)).sum() + penalty, grad.ravel()

    w = minimize(loss, np.zeros(d * classes), jac=True, method="L-BFGS-B").x.reshape(d, classes)
    raw = w.copy()
    raw[:-1] = w[:-1] / sd[:, None]
    raw[-1] = w[-1] - (mu / sd) @ w[:-1]
    return raw


def balanced_binary_accuracy(said_clean: np.ndarray, labels: np.ndarray) -> float:
    """Mean of the accuracy on compressed and on uncompressed samples, in %."""
    clean = labels == 0
    return 100 * (np.mean(~said_clean[~clean]) + np.mean(said_clean[clean])) / 2


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=str(registry.DEFAULT_DIR))
    ap.add_argument("--corpus", default=str(HERE / "data/corpus"))
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--out", default=str(HERE / "results/detector_calibration"))
    ap.add_argument("--no-catalog", action="store_true", help="do not write models/catalog.json")
    args = ap.parse_args(argv)

    models = Path(args.models)
    catalog = json.loads((models / "catalog.json").read_text())
    entry = next(e for e in catalog["models"] if e["kind"] == "detector")
    det = registry.load_detector(models, entry, calibrated=False)
    t = time.time()
    x, probs, labels, found = samples(det, data.load_images(Path(args.corpus) / "train"),
                               args.samples, seed=7)
    w = fit_softmax(x, labels)
    before = probs.argmax(axis=1)
    after = (x @ w).argmax(axis=1)      # `calibrate` is the softmax of features @ weights
    served = np.array([np.argmax(double_compression_found(p, f.any()))     # as `detect` does
                       for p, f in zip(softmax(x @ w, axis=1), found)])
    rate = lambda col, label: round(100 * float(found[labels == label, col].mean()), 2)
    result = {
        "weights": [[round(float(v), 5) for v in row] for row in w],
        "features": list(CALIBRATION_FEATURES),
        "samples": int(len(labels)), "class_counts": np.bincount(labels, minlength=3).tolist(),
        "binary_acc_balanced_cnn": round(balanced_binary_accuracy(before == 0, labels), 2),
        "binary_acc_balanced_calibrated": round(balanced_binary_accuracy(after == 0, labels), 2),
        "three_class_acc_cnn": round(100 * float(np.mean(before == labels)), 2),
        "three_class_acc_calibrated": round(100 * float(np.mean(after == labels)), 2),
        "three_class_acc_served": round(100 * float(np.mean(served == labels)), 2),
        "double_quantisation_decisive_pct": {c: rate(0, i) for i, c in enumerate(CLASSES)},
        "second_grid_decisive_pct": {c: rate(1, i) for i, c in enumerate(CLASSES)},
        "table_fit_uncompressed_p95": round(float(np.percentile(x[labels == 0, 4], 95)), 3),
        "table_fit_compressed_p05": round(float(np.percentile(x[labels > 0, 4], 5)), 3),
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
             "Class-balanced multinomial logistic regression of the three classes on the log of the "
             "CNN's mean block probabilities, the log of the grid evidence and the quantiser-table fit.", "",
             "| | value |", "|---|---|",
             f"| compressed-vs-not, CNN mean alone (balanced %) | {result['binary_acc_balanced_cnn']:.2f} |",
             f"| compressed-vs-not, calibrated (balanced %, same samples) | {result['binary_acc_balanced_calibrated']:.2f} |",
             f"| three classes, CNN mean alone (%) | {result['three_class_acc_cnn']:.2f} |",
             f"| three classes, calibrated (%) | {result['three_class_acc_calibrated']:.2f} |",
             f"| three classes, calibrated, then the two tests for a first compression (as served, %) "
             f"| {result['three_class_acc_served']:.2f} |",
             "| same-grid histogram test decisive, % of uncompressed / single / double | "
             + " / ".join(f"{v:.2f}" for v in result["double_quantisation_decisive_pct"].values()) + " |",
             "| second-grid test decisive, % of uncompressed / single / double | "
             + " / ".join(f"{v:.2f}" for v in result["second_grid_decisive_pct"].values()) + " |",
             f"| table fit, 95th percentile of uncompressed samples | {result['table_fit_uncompressed_p95']} |",
             f"| table fit, 5th percentile of compressed samples | {result['table_fit_compressed_p05']} |",
             "", "Weights (rows: features; columns: uncompressed, single, double):", "",
             "| feature | uncompressed | single | double |", "|---|---|---|---|"]
    lines += [f"| {name} | " + " | ".join(f"{v:.3f}" for v in row) + " |"
              for name, row in zip(result["features"], result["weights"])]
    lines += ["", "These are fit-set numbers; `make eval-detector` measures the result on the "
              "validation split."]
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
