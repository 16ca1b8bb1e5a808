"""Measure the staircase check of the quality read (`quality._heavier_under_staircase`).

    python ai-research/staircase_check.py      # or: make staircase-check
                                               # writes results/staircase_check.{md,json}

A heavily compressed smooth picture's few large coefficients sit 1.5-3 units off their
steps' multiples (the decoder's rounding of a ramp), and a light table used to fit them
better: the picture read as QF 80-99, and the restorer's automatic strength followed.  On
random crops of 128-1024 px of the *training* pictures (half cut again by 1-7 px at the end,
read on their true grid), every crop is read twice in one run: with the check, and without
it (`quality.STAIRCASE_FIT` above 1, so no table qualifies).  Two samples:

- singles at QF 10-40, where the check is meant to act; for the crops whose read it changed,
  the default restorer at the automatic strength (`Restorer.strength_for` the quality read)
  both ways, and its PSNR gain over the JPEG;
- same-grid doubles with a last QF of 50-95 (first QF 10-95, at least 5 apart), where it
  can take a heavier first pass for the last one: how many reads it changed, and how.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from dejpeg import data, jpeg, quality, registry
from dejpeg.metrics import psnr

HERE = Path(__file__).parent


def random_crop(pictures, rng) -> np.ndarray:
    return data.random_crop(pictures[rng.integers(len(pictures))], int(rng.integers(128, 1025)), rng)


def cut(image: np.ndarray, rng) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """Half the time cut 1-7 px off the top-left: (the picture, the cut (dx, dy), its grid)."""
    dx, dy = (int(rng.integers(1, 8)), int(rng.integers(1, 8))) if rng.random() < 0.5 else (0, 0)
    return np.ascontiguousarray(image[dy:, dx:]), (dx, dy), data.grid_after_crop((dx, dy))


def reads(image: np.ndarray, grid) -> tuple[int | None, int | None]:
    """The quality read without the check, and with it."""
    fit = quality.STAIRCASE_FIT
    try:
        quality.STAIRCASE_FIT = 1.01
        without = quality.quality_from_pixels(image, grid)
    finally:
        quality.STAIRCASE_FIT = fit
    return without, quality.quality_from_pixels(image, grid)


def errors(pairs, truth) -> dict:
    """Mean error and reads more than 10 off, without and with the check."""
    out = {}
    for i, name in enumerate(("without", "with")):
        e = np.array([abs(p[i] - t) for p, t in zip(pairs, truth) if p[i] is not None])
        out[name] = {"read": int(len(e)), "mae": float(e.mean()), "over_10_off": int((e > 10).sum())}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(HERE / "data/corpus"))
    ap.add_argument("--models", default=str(registry.DEFAULT_DIR))
    ap.add_argument("--singles", type=int, default=3000)
    ap.add_argument("--doubles", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=22)
    ap.add_argument("--out", default=str(HERE / "results/staircase_check"))
    args = ap.parse_args(argv)

    pictures = data.load_images(Path(args.corpus) / "train")
    catalog = registry.read_catalog(args.models)
    name = registry.default_restorer(catalog)
    restorer = registry.load_restorers(args.models, [e for e in catalog if e["name"] == name])[name]
    rng = np.random.default_rng(args.seed)
    t0 = time.time()

    singles, truth, restored = [], [], []
    for _ in range(args.singles):
        clean = random_crop(pictures, rng)
        q = int(rng.integers(10, 41))
        image, (dx, dy), grid = cut(jpeg.compress(clean, q), rng)
        pair = reads(image, grid)
        singles.append(pair)
        truth.append(q)
        if None in pair or pair[0] == pair[1]:
            continue
        reference = clean[dy:, dx:]
        base = psnr(reference, image)
        strengths = [restorer.strength_for(r) for r in pair]
        gains = [psnr(reference, restorer.restore(image, grid, s)) - base for s in strengths]
        restored.append({"qf": q, "side": int(max(clean.shape[:2])), "read_without": pair[0],
                         "read_with": pair[1], "strength_without": strengths[0],
                         "strength_with": strengths[1], "gain_db_without": gains[0],
                         "gain_db_with": gains[1]})

    doubles, last, changed = [], [], []
    for _ in range(args.doubles):
        clean = random_crop(pictures, rng)
        q2 = int(rng.integers(50, 96))
        while True:
            q1 = int(rng.integers(10, 96))
            if abs(q1 - q2) >= 5:
                break
        image, _, grid = cut(jpeg.compress(jpeg.compress(clean, q1), q2), rng)
        pair = reads(image, grid)
        doubles.append(pair)
        last.append(q2)
        if pair[0] != pair[1]:
            changed.append({"first": q1, "last": q2, "read_without": pair[0], "read_with": pair[1]})
    seconds = time.time() - t0

    result = {"seed": args.seed, "restorer": name, "seconds": seconds,
              "singles_qf_10_40": errors(singles, truth), "restored": restored,
              "doubles_last_qf_50_95": errors(doubles, last), "doubles_changed": changed}
    if restored:
        result["restored_mean_gain_db"] = {k: float(np.mean([r[f"gain_db_{k}"] for r in restored]))
                                          for k in ("without", "with")}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1))

    s, d = result["singles_qf_10_40"], result["doubles_last_qf_50_95"]
    better = sum(r["gain_db_with"] > r["gain_db_without"] for r in restored)
    lines = ["# The quality read's staircase check, on training crops", "",
             f"`quality._heavier_under_staircase`: {len(pictures)} training pictures, random crops of "
             f"128-1024 px (seed {args.seed}), half cut again by 1-7 px, each read on its true grid "
             "without the check and with it (the module's docstring); "
             f"{seconds:.0f} s.", "",
             "| sample | reads | mean error without / with, QF | more than 10 QF off, without / with |",
             "|---|---|---|---|",
             f"| singles, QF 10-40 | {s['with']['read']} | {s['without']['mae']:.2f} / {s['with']['mae']:.2f} "
             f"| {s['without']['over_10_off']} / {s['with']['over_10_off']} |",
             f"| same-grid doubles, last QF 50-95 | {d['with']['read']} | {d['without']['mae']:.2f} / "
             f"{d['with']['mae']:.2f} | {d['without']['over_10_off']} / {d['with']['over_10_off']} |", ""]
    if restored:
        g = result["restored_mean_gain_db"]
        lines += [f"Restoration: the {len(restored)} singles whose read the check changed, restored by "
                  f"`{name}` at the automatic strength for the quality read: PSNR gain over the JPEG "
                  f"{g['without']:+.2f} dB without the check, {g['with']:+.2f} dB with it "
                  f"({better} of {len(restored)} gained more).", "",
                  "| QF | crop px | read without / with | strength without / with | gain without / with, dB |",
                  "|---|---|---|---|---|"]
        lines += [f"| {r['qf']} | {r['side']} | {r['read_without']} / {r['read_with']} | "
                  f"{r['strength_without']:.2f} / {r['strength_with']:.2f} | "
                  f"{r['gain_db_without']:+.2f} / {r['gain_db_with']:+.2f} |" for r in restored]
        lines += [""]
    lines += [f"Doubles whose read the check changed ({len(changed)}): "
              + (", ".join(f"({c['first']}, {c['last']}) {c['read_without']} -> {c['read_with']}"
                           for c in changed) or "none") + "."]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
