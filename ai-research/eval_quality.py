"""How well /detect reads a picture's last JPEG quality from its pixels, on random crops.

    python ai-research/eval_quality.py             # or: make eval-quality
    python ai-research/eval_quality.py --split train --out /tmp/q   # tuning: training pictures

`eval_detector.py` reads the quality of 1024x1024 views under fixed cases.  Users upload
pictures of any size, and a small or smooth one holds few coefficients to read; so here every
sample is a random crop of 128-1024 px a side of a validation picture (pictures it never
trained on) under a random history: half single compressions at a QF uniform in 10-100, half
double compressions at two QFs in 10-95 at least 5 apart (half of those recropped between
the passes, so the two grids differ), and half of all crops cut again by 1-7 px at the end
(the grid found by search).  Each goes through the server's own `Detector.detect`, as a PNG
upload does (no file table): its `quality.estimate` against the last QF applied.

Reported per history and last-QF band: how often the crop was called compressed at all and
its last grid found (the offset the last compression left), how often a quality was read
(none when the picture is called uncompressed or holds too little), the mean absolute error,
the share read exactly, within 2 and more than 10 off.  Writes results/quality_eval.{md,json}.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from dejpeg import data, registry
from dejpeg.data import Case

HERE = Path(__file__).parent
BANDS = ((10, 29), (30, 59), (60, 89), (90, 95), (96, 100))


def random_history(rng: np.random.Generator) -> Case:
    """A single or double compression at random qualities (the module's docstring)."""
    shift = (int(rng.integers(1, 8)), int(rng.integers(1, 8))) if rng.random() < 0.5 else (0, 0)
    if rng.random() < 0.5:
        return Case("single", int(rng.integers(10, 101)), shift=shift)
    while True:
        q1, q2 = (int(q) for q in rng.integers(10, 96, 2))
        if abs(q1 - q2) >= 5:
            break
    recrop = (int(rng.integers(1, 8)), int(rng.integers(1, 8))) if rng.random() < 0.5 else (0, 0)
    return Case("double", q1, q2, recrop=recrop, shift=shift)


def last_quality(case: Case) -> int:
    return case.q1 if case.kind == "single" else case.q2


def kind_of(case: Case) -> str:
    if case.kind == "single":
        return "single"
    return "double, recropped" if case.recrop != (0, 0) else "double, same grid"


def summarise(samples: list[dict]) -> dict:
    """Read share, MAE, exact / within 2 / over 10 off (in % of the reads) of `samples`."""
    errors = np.array([abs(s["read"] - s["truth"]) for s in samples if s["read"] is not None])
    out = {"samples": len(samples), "read_pct": 100 * len(errors) / len(samples) if samples else None,
           "grid_right_pct": 100 * float(np.mean([s["grid_right"] for s in samples])) if samples else None,
           "called_compressed_pct": (100 * float(np.mean([s["verdict"] != "uncompressed" for s in samples]))
                                     if samples else None),
           "last_table_pct": 100 * float(np.mean([s["last_table"] for s in samples])) if samples else None,
           "verdict_right_pct": 100 * float(np.mean([s["verdict"] == s["truth_class"] for s in samples]))
                                if samples else None,
           "before_check_right_pct": 100 * float(np.mean([s["unchecked_verdict"] == s["truth_class"]
                                                          for s in samples])) if samples else None}
    if len(errors):
        out.update(mae=float(errors.mean()), exact_pct=100 * float(np.mean(errors == 0)),
                   within_2_pct=100 * float(np.mean(errors <= 2)),
                   over_10_off_pct=100 * float(np.mean(errors > 10)),
                   over_10_off=int(np.sum(errors > 10)))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=str(registry.DEFAULT_DIR))
    ap.add_argument("--corpus", default=str(HERE / "data/corpus"))
    ap.add_argument("--split", default="val", help="the corpus folder whose pictures are cropped")
    ap.add_argument("--crops", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--out", default=str(HERE / "results/quality_eval"),
                    help="results path without extension")
    args = ap.parse_args(argv)

    entry = registry.detector_entry(args.models)
    det = registry.load_detector(args.models, entry)
    pictures = data.load_images(Path(args.corpus) / args.split)
    if not pictures:
        raise SystemExit(f"no pictures in {Path(args.corpus) / args.split}")
    rng = np.random.default_rng(args.seed)
    samples, t0 = [], time.time()
    for i in range(args.crops):
        crop = data.random_crop(pictures[i % len(pictures)], int(rng.integers(128, 1025)), rng)
        case = random_history(rng)
        x = case.apply(crop)
        ev = det.blocks_and_evidence(x)
        r = det.detect(x, evidence=ev)
        # the same evidence without the last table check (`last_table` in /detect)
        unchecked = det.detect(x, evidence=replace(ev, exact_table=False))["verdict"]
        samples.append({"case": case.name, "kind": kind_of(case), "side": int(max(crop.shape[:2])),
                        "truth": last_quality(case),
                        "grid_right": (r["grid"]["dx"], r["grid"]["dy"]) == data.grid_after_crop(case.shift),
                        "verdict": r["verdict"], "truth_class": case.kind,
                        "last_table": bool(r["last_table"] and r["last_table"]["decisive"]),
                        "unchecked_verdict": unchecked,
                        "read": r["quality"]["estimate"] if r["quality"] else None})
    seconds = time.time() - t0

    rows = []
    for kind in ("single", "double, same grid", "double, recropped"):
        for lo, hi in BANDS:
            sel = [s for s in samples if s["kind"] == kind and lo <= s["truth"] <= hi]
            if sel:
                rows.append({"history": kind, "last_qf": f"{lo}-{hi}", **summarise(sel)})
    small = [s for s in samples if s["side"] < 384]
    overall = {"all": summarise(samples), "singles": summarise([s for s in samples if s["kind"] == "single"]),
               "crops under 384 px": summarise(small),
               "crops of 384 px or more": summarise([s for s in samples if s["side"] >= 384])}
    outliers = [s for s in samples if s["read"] is not None and abs(s["read"] - s["truth"]) > 10]
    result = {"model": entry["file"], "split": args.split, "pictures": len(pictures),
              "crops": args.crops, "seed": args.seed, "seconds": seconds, "rows": rows,
              "overall": overall, "outliers": outliers}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1))

    def cells(r):
        def f(key, digits=1):
            return "" if r.get(key) is None else f"{r[key]:.{digits}f}"
        return " | ".join([str(r["samples"]), f("called_compressed_pct"), f("grid_right_pct"), f("read_pct"), f("mae", 2), f("exact_pct"),
                           f("within_2_pct"), f("over_10_off_pct"), f("last_table_pct"),
                           f("verdict_right_pct"), f("before_check_right_pct")])
    lines = [f"# Quality read from pixels ({args.split} split, random crops)", "",
             f"Model `{entry['file']}`; {args.crops} random crops of 128-1024 px a side of the "
             f"{len(pictures)} pictures of the `{args.split}` split (seed {args.seed}), each under a "
             "random history (`eval_quality.py`'s docstring), through `Detector.detect` as a PNG "
             f"upload; {seconds:.0f} s.  Errors in QF, of the crops whose quality was read.  "
             "\"last table double %\": the crops whose steps read sat on a coarser lattice than "
             "the IJG table that gives their blocks back (`last_table` in /detect, decisive: a "
             "heavier first pass on the same grid), which makes a compressed call double; "
             "\"verdict right %\": the served verdict (uncompressed, single or double) against "
             "the history, and the same without the last table check (the same evidence, "
             "`exact_table` off).", "",
             "| history | last QF | crops | called compressed % | last grid found % | read % | MAE | exact % | within 2 % | over 10 off % | last table double % | verdict right % | without the check % |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['history']} | {r['last_qf']} | {cells(r)} |" for r in rows]
    lines += ["", "| crops | n | called compressed % | last grid found % | read % | MAE | exact % | within 2 % | over 10 off % | last table double % | verdict right % | without the check % |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {name} | {cells(s)} |" for name, s in overall.items()]
    lines += ["", "More than 10 QF off (case, crop side, read):", ""]
    lines += [f"- {s['case']}, {s['side']} px: read {s['read']}"
              + ("" if s["grid_right"] else " (on another grid)") for s in outliers] or ["- none"]
    lines += ["", "Singles the last table check called double (case, crop side, read):", ""]
    lines += [f"- {s['case']}, {s['side']} px: read {s['read']}" for s in samples
              if s["kind"] == "single" and s["last_table"]] or ["- none"]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
