"""Measure the block-mean test for a first compression on another grid, on training pictures.

    python ai-research/other_grid_thresholds.py      # writes results/other_grid_thresholds.{md,json}

A JPEG cropped and saved again keeps its first pass's lattice in the block means of the
first grid (`quality.other_grid_dc`: a z-score of how tightly they sit on some DC step,
against the other grids).  `Detector` counts it only where `features.second_grid`, the AC
coefficients' periodicity, points to the same grid, and calls the picture double from
`quality.GRID_DC_DECISIVE`.  This script shows where that threshold sits: the statistic as
`Detector.blocks_and_evidence` serves it (`Evidence.second_grid_dc`), on random crops of the
*training* pictures (the validation ones stay for `eval_detector.py`), of single compressions
(plain, cropped after, a camera pipeline's, a camera's kind of table) and of doubles cropped
between the passes (3 px left, 5 top), a same-grid double besides.
"""
from __future__ import annotations

import time

import numpy as np

from dejpeg import data, jpeg, quality, registry
import threshold_crops
from eval_detector import camera_like


def cases():
    """(name, kind, make(rgb, rng) -> the picture)."""
    cam = data.camera_pipeline
    out = [(f"single {q}", "single", lambda im, rng, q=q: jpeg.compress(im, q))
           for q in (30, 50, 60, 70, 75, 80, 85, 90)]
    out += [
        ("single 70, cropped after", "single", lambda im, rng: jpeg.compress(im, 70)[5:, 3:]),
        ("single 75 of a camera pipeline's picture", "single", lambda im, rng: jpeg.compress(cam(im, rng), 75)),
        ("single, camera-like ~QF 92", "single", lambda im, rng: camera_like(im, 92, rng)),
    ]
    out += [(f"double ({a},{b}), cropped between", "double",
             lambda im, rng, a=a, b=b: jpeg.compress_double(im, a, b, (3, 5)))
            for a, b in ((50, 70), (50, 80), (30, 60), (60, 75), (70, 85), (90, 50), (50, 60))]
    out += [("double (50,70), same grid", "double", lambda im, rng: jpeg.compress_double(im, 50, 70))]
    return out


def main(argv=None):
    args = threshold_crops.parse(argv, __doc__, crops=24, seed=5, out="other_grid_thresholds")
    t0 = time.time()
    det = registry.load_detector(registry.DEFAULT_DIR, registry.detector_entry())
    n_pictures, crops = threshold_crops.training_crops(args)
    rows = []
    for name, kind, make in cases():
        stats = np.array([det.blocks_and_evidence(make(crop, np.random.default_rng(100 + i))).second_grid_dc
                          for i, crop in enumerate(crops)])
        rows.append(threshold_crops.case_row(name, kind, stats, quality.GRID_DC_DECISIVE,
                                             read_pct=100 * float(np.mean(stats > 0))))
    summary = threshold_crops.singles_summary(rows, quality.GRID_DC_DECISIVE, t0)
    lines = ["# The block means of another grid, on training crops", "",
             f"`Evidence.second_grid_dc` (`quality.other_grid_dc`'s z-score where "
             f"`features.second_grid` points to the same grid, else 0) as `Detector` serves it, on "
             f"{args.crops} random crops (at most {args.side} px a side) of the {n_pictures} training "
             f"pictures (seed {args.seed}), every case on every crop.  Decisive from "
             f"{quality.GRID_DC_DECISIVE:g} (`quality.GRID_DC_DECISIVE`); read only after a last DC "
             f"step of 1-{quality.GRID_DC_LAST_STEP} (QF 60 or lighter).  \"read\": the share of crops "
             "with a z-score above 0 where both tests point to the same grid.  \"cropped between\": "
             "3 px left and 5 top between the two passes.", "",
             "| case | truth | median | max | read % | decisive % |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['case']} | {r['kind']} | {r['median']:.1f} | {r['max']:.1f} | {r['read_pct']:.0f} "
              f"| {r['decisive_pct']:.0f} |" for r in rows]
    threshold_crops.write(args.out, rows, summary, lines + threshold_crops.closing(summary))


if __name__ == "__main__":
    main()
