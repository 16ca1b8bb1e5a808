"""Fit the detector's image-level calibration on training pictures.

    python ai-research/calibrate_detector.py      # or: make calibrate-detector

The CNN's mean block probabilities miss some light compressions and call some clean
pictures compressed.  Two pixel statistics measure what the CNN does not see: how strongly
one of the 64 8x8 grids stands out (`features.grid_search`), and how much more often than
chance the DCT coefficients on that grid sit on multiples of the quantisers of the estimated
quality (`quality.table_fit`).  This script draws --samples random (crop, compression case)
pairs from the training pictures (`data.random_case`, the CNN's training distribution; never
the validation split) and --camera-samples more at the light end where cameras save
(`data.camera_case`, QF 96-99, which the CNN never trained on), runs the served pipeline up
to the image probabilities, and fits two class-balanced logistic regressions on
`detector.calibration_features` (L-BFGS, light L2 on standardised features): compressed vs
not on all samples, double vs single on the compressed `random_case` ones (the CNN's
single-vs-double knowledge ends at QF 95; see `fit_calibration`).  Writes the weights into
models/catalog.json (`verdict_calibration`) and the fit's numbers to
results/detector_calibration.{md,json}.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from dejpeg import data, registry
from dejpeg.archs import CLASSES
from dejpeg.detector import (CALIBRATION_FEATURES, CALIBRATION_OUTPUTS, Detector,
                             LATTICE_DECISIVE, after_calibration, calibrated,
                             calibration_features, first_compression_tests)

HERE = Path(__file__).parent


def samples(det: Detector, pictures, n: int, seed: int, draw=data.random_case):
    """(calibration features (n, 6), CNN mean probabilities (n, 3), labels (n,), whether each
    of the tests for a first compression was decisive (n, 3): `first_compression_tests`, the
    last quality estimated from the pixels as the camera end reads it (n,; 0 where none:
    `Evidence.light_end_quality`), the whole-number lattice's
    evidence on the grid used (n,): `features.LatticeScan.at`), for n
    crops of `pictures` with cases drawn by `draw`."""
    rng = np.random.default_rng(seed)
    feats, probs, labels, found, qualities, lattice = [], [], [], [], [], []
    for i in range(n):
        pic = pictures[i % len(pictures)]
        img = data.random_crop(pic, int(rng.integers(256, 1025)), rng)
        case = draw(rng)
        ev = det.blocks_and_evidence(case.apply(img))
        p = ev.image_probs
        probs.append(p)
        feats.append(calibration_features(p, ev.grid_evidence, ev.table_fit))
        labels.append(case.label)
        found.append(first_compression_tests(ev))
        qualities.append(ev.light_end_quality or 0)
        lattice.append(ev.lattice)
    return (np.array(feats), np.array(probs), np.array(labels), np.array(found), np.array(qualities),
            np.array(lattice))


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


def fit_calibration(x: np.ndarray, labels: np.ndarray, x_light: np.ndarray,
                    labels_light: np.ndarray) -> np.ndarray:
    """The weights (6, 2) of `detector.calibrate` (a two-class softmax's logit is the
    difference of its two weight columns).

    Compressed vs not: on all six features, fitted on the `random_case` samples (x, labels)
    and the camera-range ones (x_light, labels_light) together.  Double vs single: on the
    compressed `random_case` samples alone, and on two features only: the CNN's log ratio of
    double to single (the weights of log P(double) and log P(single) opposite) and the bias.
    Where the CNN calls a picture uncompressed (the camera end) P(single) and P(double) are
    both tiny; weights of their own on each, or on P(uncompressed) and the table fit,
    extrapolate there from cases unlike it (fitted on all six, QF 97 singles of the
    validation split were called double in 29 % of views), the ratio does not.  The grid
    evidence, a stronger grid after a heavier last pass, only moved the single/double
    boundary by quality (with it: singles at QF 10-50 lost 5-25 points on validation, doubles
    gained as much).  Both comparisons are ad hoc runs on cached evidence, not committed."""
    both = np.vstack([x, x_light])
    compressed = fit_softmax(both, (np.concatenate([labels, labels_light]) > 0).astype(int), 2)
    kept = labels > 0
    ratio = np.stack([x[kept, 2] - x[kept, 1], x[kept, 5]], axis=1)
    v = fit_softmax(ratio, (labels[kept] == 2).astype(int), 2)
    v = v[:, 1] - v[:, 0]
    double = np.zeros(x.shape[1])
    double[[1, 2, 5]] = -v[0], v[0], v[1]
    return np.stack([compressed[:, 1] - compressed[:, 0], double], axis=1)


def balanced_binary_accuracy(said_clean: np.ndarray, labels: np.ndarray) -> float:
    """Mean of the accuracy on compressed and on uncompressed samples, in %."""
    clean = labels == 0
    return 100 * (np.mean(~said_clean[~clean]) + np.mean(said_clean[clean])) / 2


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=str(registry.DEFAULT_DIR))
    ap.add_argument("--corpus", default=str(HERE / "data/corpus"))
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--camera-samples", type=int, default=1200,
                    help="more samples at the light end where cameras save (data.camera_case)")
    ap.add_argument("--out", default=str(HERE / "results/detector_calibration"))
    ap.add_argument("--no-catalog", action="store_true", help="do not write models/catalog.json")
    args = ap.parse_args(argv)

    models = Path(args.models)
    catalog = json.loads((models / "catalog.json").read_text())
    entry = next(e for e in catalog["models"] if e["kind"] == "detector")
    det = registry.load_detector(models, entry, calibrated=False)
    t = time.time()
    pictures = data.load_images(Path(args.corpus) / "train")
    x, probs, labels, found, qual, lat = samples(det, pictures, args.samples, seed=7)
    xl, probs_l, labels_l, found_l, qual_l, lat_l = samples(det, pictures, args.camera_samples, seed=8,
                                                            draw=data.camera_case)
    w = fit_calibration(x, labels, xl, labels_l)

    def verdicts(feats, probs_, found_, qual_, lat_):
        """(CNN mean argmax, calibrated argmax, served argmax: then `after_calibration`, the
        decoder's lattice, the camera end and the three tests, as `detect`)."""
        cal = np.array([calibrated(f, w) for f in feats])
        served_ = np.array([np.argmax(after_calibration(p, z, q or None, f.any()))
                            for p, f, q, z in zip(cal, found_, qual_, lat_)])
        return probs_.argmax(axis=1), cal.argmax(axis=1), served_

    before, after, served = verdicts(x, probs, found, qual, lat)
    before_l, after_l, served_l = verdicts(xl, probs_l, found_l, qual_l, lat_l)
    rate = lambda col, label: round(100 * float(found[labels == label, col].mean()), 2)
    light = labels_l > 0
    result = {
        "weights": [[round(float(v), 5) for v in row] for row in w],
        "features": list(CALIBRATION_FEATURES), "outputs": list(CALIBRATION_OUTPUTS),
        "samples": int(len(labels)), "class_counts": np.bincount(labels, minlength=3).tolist(),
        "camera_samples": int(len(labels_l)),
        "camera_class_counts": np.bincount(labels_l, minlength=3).tolist(),
        "binary_acc_balanced_cnn": round(balanced_binary_accuracy(before == 0, labels), 2),
        "binary_acc_balanced_calibrated": round(balanced_binary_accuracy(after == 0, labels), 2),
        "camera_compressed_called_compressed_pct_cnn": round(100 * float(np.mean(before_l[light] > 0)), 2),
        "camera_compressed_called_compressed_pct": round(100 * float(np.mean(after_l[light] > 0)), 2),
        "camera_uncompressed_kept_pct": round(100 * float(np.mean(after_l[~light] == 0)), 2),
        "camera_three_class_acc_served": round(100 * float(np.mean(served_l == labels_l)), 2),
        "camera_compressed_called_compressed_pct_served": round(100 * float(np.mean(served_l[light] > 0)), 2),
        "camera_uncompressed_kept_pct_served": round(100 * float(np.mean(served_l[~light] == 0)), 2),
        "binary_acc_balanced_served": round(balanced_binary_accuracy(served == 0, labels), 2),
        "lattice_decisive_on_uncompressed_pct": round(100 * float(np.mean(
            np.concatenate([lat[labels == 0], lat_l[labels_l == 0]]) >= LATTICE_DECISIVE)), 2),
        "three_class_acc_cnn": round(100 * float(np.mean(before == labels)), 2),
        "three_class_acc_calibrated": round(100 * float(np.mean(after == labels)), 2),
        "three_class_acc_served": round(100 * float(np.mean(served == labels)), 2),
        "double_quantisation_decisive_pct": {c: rate(0, i) for i, c in enumerate(CLASSES)},
        "second_grid_decisive_pct": {c: rate(1, i) for i, c in enumerate(CLASSES)},
        "light_first_decisive_pct": {c: rate(2, i) for i, c in enumerate(CLASSES)},
        "table_fit_uncompressed_p95": round(float(np.percentile(x[labels == 0, 4], 95)), 3),
        "table_fit_compressed_p05": round(float(np.percentile(x[labels > 0, 4], 5)), 3),
        "seconds": round(time.time() - t, 1),
    }
    entry["verdict_calibration"] = {
        "weights": result["weights"], "features": result["features"], "outputs": result["outputs"],
        "fitted_on": f"{result['samples']} random and {result['camera_samples']} camera-range cases "
                     "of training pictures (ai-research/results/detector_calibration.md)"}
    if not args.no_catalog:
        (models / "catalog.json").write_text(json.dumps(catalog, indent=1) + "\n")
    Path(args.out + ".json").write_text(json.dumps(result, indent=1))
    pct = lambda k: f"{result[k]:.2f}"
    lines = ["# Detector image-level calibration (training pictures)", "",
             f"{result['samples']} random crops (256-1024 px) of training pictures, each with a random "
             f"case of `data.random_case` (uncompressed / single / double: {result['class_counts']}; "
             "QF 10-95, the CNN's training cases), and "
             f"{result['camera_samples']} more at the light end where cameras save (`data.camera_case`, "
             f"last quality 96-99: {result['camera_class_counts']}).  Two class-balanced logistic "
             "regressions (`detector.calibrate`): compressed vs not on the log of the CNN's mean "
             "block probabilities, the log of the grid evidence and the quantiser-table fit, on "
             "all samples; double vs single on the CNN's log ratio of double to single, on the "
             "compressed random cases (`calibrate_detector.fit_calibration`).", "",
             "| | value |", "|---|---|",
             f"| compressed-vs-not, CNN mean alone (balanced %) | {pct('binary_acc_balanced_cnn')} |",
             f"| compressed-vs-not, calibrated (balanced %, same samples) | {pct('binary_acc_balanced_calibrated')} |",
             f"| camera range: compressed ones called compressed, CNN mean alone (%) | {pct('camera_compressed_called_compressed_pct_cnn')} |",
             f"| camera range: compressed ones called compressed, calibrated (%) | {pct('camera_compressed_called_compressed_pct')} |",
             f"| camera range: uncompressed ones kept uncompressed, calibrated (%) | {pct('camera_uncompressed_kept_pct')} |",
             f"| camera range: three classes, as served (%) | {pct('camera_three_class_acc_served')} |",
             f"| camera range: compressed ones called compressed, as served (the decoder's lattice too, %) | {pct('camera_compressed_called_compressed_pct_served')} |",
             f"| camera range: uncompressed ones kept uncompressed, as served (%) | {pct('camera_uncompressed_kept_pct_served')} |",
             f"| compressed-vs-not, as served (balanced %) | {pct('binary_acc_balanced_served')} |",
             f"| the decoder's lattice decisive on uncompressed cases, both sets (%) | {pct('lattice_decisive_on_uncompressed_pct')} |",
             f"| three classes, CNN mean alone (%) | {pct('three_class_acc_cnn')} |",
             f"| three classes, calibrated (%) | {pct('three_class_acc_calibrated')} |",
             f"| three classes, calibrated, then `lattice_found`, `camera_end` and the three tests for a first compression (as served, %) "
             f"| {pct('three_class_acc_served')} |",
             "| same-grid histogram test decisive, % of uncompressed / single / double | "
             + " / ".join(f"{v:.2f}" for v in result["double_quantisation_decisive_pct"].values()) + " |",
             "| second-grid test decisive, % of uncompressed / single / double | "
             + " / ".join(f"{v:.2f}" for v in result["second_grid_decisive_pct"].values()) + " |",
             "| same-grid test for a lighter first pass decisive, % of uncompressed / single / double | "
             + " / ".join(f"{v:.2f}" for v in result["light_first_decisive_pct"].values()) + " |",
             f"| table fit, 95th percentile of uncompressed samples | {result['table_fit_uncompressed_p95']} |",
             f"| table fit, 5th percentile of compressed samples | {result['table_fit_compressed_p05']} |",
             "", "Weights (rows: features; columns: the logit of each question):", "",
             "| feature | " + " | ".join(CALIBRATION_OUTPUTS) + " |", "|---|---|---|"]
    lines += [f"| {name} | " + " | ".join(f"{v:.3f}" for v in row) + " |"
              for name, row in zip(result["features"], result["weights"])]
    lines += ["", "The rows above without \"camera range\" are on the random cases.  These are "
              "fit-set numbers; `make eval-detector` measures the result on the validation split."]
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
