"""Calibrate each shipped restorer's strength per JPEG quality, on training pictures.

    python ai-research/calibrate_strength.py      # or: make calibrate-strength

The restorers were trained at QF 10; on lighter compression they remove detail along with
the artifacts.  The served output is input + strength x (network output - input), so for
each quality in QUALITIES this script restores central views of training pictures (never
the validation split, which stays for `eval_restorer.py`) once, scores every strength of
STRENGTHS by mean RGB PSNR, and writes the best into models/catalog.json
(`strength_by_quality`) and results/strength_calibration.{md,json}.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from dejpeg import data, jpeg, metrics, registry
from dejpeg.restorer import Restorer
from eval_restorer import central

HERE = Path(__file__).parent
QUALITIES = (10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
STRENGTHS = tuple(round(0.1 * i, 1) for i in range(11))


def mix(jpeg_img: np.ndarray, restored: np.ndarray, strength: float) -> np.ndarray:
    """What `Restorer.restore(..., strength)` returns, from its full-strength output."""
    a = jpeg_img.astype(np.float32)
    return np.clip(np.rint(a + strength * (restored.astype(np.float32) - a)), 0, 255).astype(np.uint8)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=str(registry.DEFAULT_DIR))
    ap.add_argument("--corpus", default=str(HERE / "data/corpus"))
    ap.add_argument("--every", type=int, default=3, help="use every n-th training picture")
    ap.add_argument("--side", type=int, default=512)
    ap.add_argument("--out", default=str(HERE / "results/strength_calibration"))
    ap.add_argument("--no-catalog", action="store_true", help="do not write models/catalog.json")
    ap.add_argument("--only", help="comma-separated restorer names (default: all in the catalog); "
                                   "the others keep their tables and results rows")
    args = ap.parse_args(argv)

    models = Path(args.models)
    catalog = json.loads((models / "catalog.json").read_text())
    entries = [e for e in catalog["models"] if e["kind"] == "restorer"
               and (not args.only or e["name"] in args.only.split(","))]
    refs = [central(im, args.side)
            for im in data.load_images(Path(args.corpus) / "train")[::args.every]]
    table = {}
    previous = Path(args.out + ".json")
    if args.only and previous.exists():        # keep the other restorers' rows
        table = {n: {int(q): p for q, p in rows.items()}
                 for n, rows in json.loads(previous.read_text()).items()}
    # without their tables: the strength is what is being measured (LiteRT: one conversion)
    restorers = Restorer.load_all({e["name"]: models / e["file"] for e in entries})
    for e in entries:
        rest = restorers[e["name"]]
        rows = {}
        for q in QUALITIES:
            inputs = [jpeg.compress(r, q) for r in refs]
            outs = [rest.restore(x) for x in inputs]
            psnr = [float(np.mean([metrics.psnr(r, mix(x, o, s)) for r, x, o in zip(refs, inputs, outs)]))
                    for s in STRENGTHS]
            rows[q] = psnr
            print(f"{e['name']} QF {q}: best strength {STRENGTHS[int(np.argmax(psnr))]} "
                  f"({max(psnr) - psnr[0]:+.2f} dB over JPEG; full strength {psnr[-1] - psnr[0]:+.2f})",
                  flush=True)
        table[e["name"]] = rows
        e["strength_by_quality"] = {str(q): STRENGTHS[int(np.argmax(p))] for q, p in rows.items()}

    lines = ["# Restorer strength calibration (training pictures)", "",
             f"{len(refs)} training pictures (every {args.every}th, central view of at most "
             f"{args.side}x{args.side}), Pillow 4:2:0 at each quality.  Output = JPEG + strength x "
             "(restored - JPEG); mean RGB PSNR gain over the JPEG input, in dB, at full strength "
             "and at the best strength (the one served).", "",
             "| restorer | QF | gain at strength 1 | best strength | gain at best |", "|---|---|---|---|---|"]
    for name, rows in table.items():
        for q, p in rows.items():
            b = int(np.argmax(p))
            lines.append(f"| {name} | {q} | {p[-1] - p[0]:+.2f} | {STRENGTHS[b]} | {p[b] - p[0]:+.2f} |")
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    Path(args.out + ".json").write_text(json.dumps(
        {n: {str(q): [round(v, 4) for v in p] for q, p in rows.items()} for n, rows in table.items()},
        indent=1))
    if not args.no_catalog:
        (models / "catalog.json").write_text(json.dumps(catalog, indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
