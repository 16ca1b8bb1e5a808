"""Measure the same-grid test for a lighter first compression on training pictures.

    python ai-research/light_first_thresholds.py         # writes results/light_first_thresholds.{md,json}

`quality.light_first_pass` gives a likelihood-ratio statistic (a deviance): how much better
the last steps' histograms are explained with the alternation a first pass's finer lattice
leaves than by a smooth outline alone.  `Detector.detect` calls a picture double from
`quality.LIGHT_DECISIVE`.  This script shows where that threshold sits: on random crops of
the *training* pictures (the validation ones stay for `eval_detector.py`), the statistic of
single compressions (plain pictures, a camera pipeline's, a camera's kind of table) and of
doubles whose first pass is the lighter one (a camera's JPEG resaved, IJG pairs, some a few
qualities apart, some heavy resaves whose block means keep the first lattice: QF 50 then
30), with the AC coefficients and the DC read as `Detector` reads them.
"""
from __future__ import annotations

import time

import numpy as np

from dejpeg import data, jpeg, quality
import threshold_crops
from eval_detector import camera_like


def cases():
    """(name, kind, first quality or None, make(rgb, rng) -> the picture): the first quality
    of the IJG pairs, against which `light_first_pass`'s estimate is scored."""
    cam = data.camera_pipeline
    out = [(f"single {q}", "single", None, lambda im, rng, q=q: jpeg.compress(im, q))
           for q in (10, 20, 30, 40, 50, 60, 75, 85, 90)]
    out += [
        ("single 60 of a camera pipeline's picture", "single", None, lambda im, rng: jpeg.compress(cam(im, rng), 60)),
        ("single 75 of a camera pipeline's picture", "single", None, lambda im, rng: jpeg.compress(cam(im, rng), 75)),
        ("single 85 of a camera pipeline's picture", "single", None, lambda im, rng: jpeg.compress(cam(im, rng), 85)),
        ("single, camera-like ~QF 92", "single", None, lambda im, rng: camera_like(im, 92, rng)),
        ("single, camera-like ~QF 92 of a camera pipeline's picture", "single", None,
         lambda im, rng: camera_like(cam(im, rng), 92, rng)),
        ("single, camera-like ~QF 97 of a camera pipeline's picture", "single", None,
         lambda im, rng: camera_like(cam(im, rng), 97, rng)),
        ("double: camera-like ~QF 95 of a camera pipeline's picture, then QF 75", "double", None,
         lambda im, rng: jpeg.compress(camera_like(cam(im, rng), 95, rng), 75)),
        ("double: camera-like ~QF 95 of a camera pipeline's picture, then QF 60", "double", None,
         lambda im, rng: jpeg.compress(camera_like(cam(im, rng), 95, rng), 60)),
        ("double: camera-like ~QF 92 of a camera pipeline's picture, then QF 80", "double", None,
         lambda im, rng: jpeg.compress(camera_like(cam(im, rng), 92, rng), 80)),
        ("double: camera-like ~QF 97 of a camera pipeline's picture, then QF 85", "double", None,
         lambda im, rng: jpeg.compress(camera_like(cam(im, rng), 97, rng), 85)),
    ]
    pairs = [((95, 75), ""), ((90, 70), ""), ((85, 60), ""), ((85, 75), ", a few qualities lower"),
             ((70, 50), ", a few qualities lower"), ((60, 40), ", a few qualities lower"),
             ((50, 30), ""), ((50, 20), ""), ((70, 30), ""), ((80, 60), ""),
             ((50, 10), ", the first step dividing the last"),
             ((50, 70), ", first pass heavier")]
    out += [(f"double ({a},{b}){note}", "double", a if a > b else None,
             lambda im, rng, a=a, b=b: jpeg.compress_double(im, a, b)) for (a, b), note in pairs]
    return out


def main(argv=None):
    args = threshold_crops.parse(argv, __doc__, crops=20, seed=5, out="light_first_thresholds")
    t0 = time.time()
    n_pictures, crops = threshold_crops.training_crops(args)
    rows = []
    for name, kind, q1, make in cases():
        stats, first_err = [], []
        for i, crop in enumerate(crops):
            img = make(crop, np.random.default_rng(100 + i))
            ac, dc = quality.grid_coefficients(img, max_side=quality.LIGHT_SIDE, with_dc=True)
            evidence, first = quality.light_first_pass(ac, dc=dc)
            stats.append(evidence)
            if q1 is not None and evidence >= quality.LIGHT_DECISIVE and first is not None:
                first_err.append(abs(first - q1))
        rows.append(threshold_crops.case_row(
            name, kind, np.array(stats), quality.LIGHT_DECISIVE,
            first_qf_mae=float(np.mean(first_err)) if first_err else None,
            first_qf_exact_pct=100 * float(np.mean(np.array(first_err) == 0)) if first_err else None))
    summary = threshold_crops.singles_summary(rows, quality.LIGHT_DECISIVE, t0)
    lines = ["# The same-grid test for a lighter first compression, on training crops", "",
             f"`quality.light_first_pass` on {args.crops} random crops (at most {args.side} px a side, "
             f"read whole up to {quality.LIGHT_SIDE} px as `Detector` reads a picture) "
             f"of the {n_pictures} training pictures (seed {args.seed}), every case on every "
             "crop, aligned grid.  "
             f"Decisive from {quality.LIGHT_DECISIVE:g} (`quality.LIGHT_DECISIVE`).  \"camera-like\": "
             "IJG tables with every step moved by -1..+1 (`eval_detector.camera_like`); \"camera "
             "pipeline\": `data.camera_pipeline` (Bayer demosaicing, sensor noise, sharpening).  "
             "\"first QF\": the error of the test's estimate of the first quality where it was "
             "decisive, on the IJG pairs.", "",
             "| case | truth | median | max | decisive % | first QF: MAE | exact % |",
             "|---|---|---|---|---|---|---|"]
    fmt = lambda v, spec: "" if v is None else format(v, spec)
    lines += [f"| {r['case']} | {r['kind']} | {r['median']:.1f} | {r['max']:.1f} | {r['decisive_pct']:.0f} "
              f"| {fmt(r['first_qf_mae'], '.2f')} | {fmt(r['first_qf_exact_pct'], '.0f')} |" for r in rows]
    threshold_crops.write(args.out, rows, summary, lines + threshold_crops.closing(summary))


if __name__ == "__main__":
    main()
