"""Evaluate every shipped restorer against the JPEG input and ffmpeg's spp, on validation photos.

    python ai-research/eval_restorer.py          # or: make eval-restorer

Each validation picture gives one central view of at most --side pixels; it is compressed
with Pillow (4:2:0) at QF 10, 20, 30, 40 and double 50 -> 10, then restored by every restorer
in models/catalog.json (through the server's own tiled `Restorer`) and by spp at every qp of
spp.QPS (the best qp per setting is reported, chosen on these same images: a favour to spp).
Every restorer is scored twice: at full strength (the network's output as trained) and as
served ("auto": the strength calibrated on training pictures for the quality that
`quality_from_pixels` estimates from the decoded image, as for a PNG upload).
Reported: mean PSNR (RGB), SSIM, PSNR-B (luma), and gains over the JPEG input; and "detail",
the fine-detail energy kept as a % of the original's (`metrics.detail`: how crisp, not how
right); and "lattice", the share of fine detail that is a pattern repeating every 2 or 4
pixels (`metrics.lattice`: the checkerboard an upsampling network can print; the originals'
own share is given for comparison), its mean and its worst picture.  Writes results/restorer_eval.{md,json}.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from dejpeg import data, jpeg, metrics, quality, registry
from dejpeg.restorer import Restorer

import spp as spp_filter

HERE = Path(__file__).parent
SETTINGS = [("QF 10", (10,)), ("QF 20", (20,)), ("QF 30", (30,)), ("QF 40", (40,)),
            ("QF 50", (50,)), ("QF 70", (70,)), ("QF 90", (90,)), ("double 50 -> 10", (50, 10))]


def central(im, side):
    h, w = im.shape[:2]
    y, x = max(0, (h - side) // 2) // 8 * 8, max(0, (w - side) // 2) // 8 * 8
    return im[y:y + side, x:x + side]


def degrade(im, setting):
    return jpeg.compress(im, setting[0]) if len(setting) == 1 else \
        jpeg.compress_double(im, setting[0], setting[1])


def scores(ref, out):
    return np.array([metrics.psnr(ref, out), metrics.ssim(ref, out), metrics.psnr_b(ref, out),
                     metrics.detail(ref, out), metrics.lattice(out)])


def summary(refs, outs):
    """The mean of every score over the pictures, and the worst picture's lattice (a pattern
    is seen where it is strongest: on a dark flat picture, not on the mean)."""
    s = np.array([scores(r, o) for r, o in zip(refs, outs)])
    return np.append(s.mean(axis=0), s[:, 4].max())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=str(registry.DEFAULT_DIR))
    ap.add_argument("--only", help="comma-separated restorer names (default: all in the catalog)")
    ap.add_argument("--extra", action="append", default=[], help="NAME=PATH of an unshipped .keras to include")
    ap.add_argument("--corpus", default=str(HERE / "data/corpus"))
    ap.add_argument("--side", type=int, default=768)
    ap.add_argument("--out", default=str(HERE / "results/restorer_eval"))
    args = ap.parse_args(argv)

    catalog = [e for e in registry.read_catalog(args.models) if e["kind"] == "restorer"]
    if args.only:
        catalog = [e for e in catalog if e["name"] in args.only.split(",")]
    restorers = registry.load_restorers(args.models, catalog)
    for spec in args.extra:
        name, path = spec.split("=", 1)
        restorers[name] = Restorer.load(path, name)
    refs = [central(im, args.side) for im in data.load_images(Path(args.corpus) / "val")]
    results = {}
    for label, setting in SETTINGS:
        inputs = [degrade(r, setting) for r in refs]
        row = {"JPEG": summary(refs, inputs)}
        best = None
        for qp in spp_filter.QPS:
            s = summary(refs, [spp_filter.spp(x, qp) for x in inputs])
            if best is None or s[0] > best[1][0]:
                best = (qp, s)
        row[f"spp (qp {best[0]})"] = best[1]
        estimates = [quality.quality_from_pixels(x) for x in inputs]
        for name, rest in restorers.items():
            t = time.time()
            outs = [rest.restore(x) for x in inputs]
            row[name] = summary(refs, outs)
            if rest.strength:
                auto = [o if rest.strength_for(q) == 1.0 else rest.restore(x, strength=rest.strength_for(q))
                        for x, o, q in zip(inputs, outs, estimates)]
                row[f"{name} (auto strength)"] = summary(refs, auto)
            print(f"{label}: {name} {row[name][0]:.2f} dB ({time.time() - t:.0f} s)", flush=True)
        results[label] = row
        print(label, {k: round(float(v[0]), 2) for k, v in row.items()}, flush=True)

    originals = [metrics.lattice(r) for r in refs]
    lines = ["# Restorer evaluation (validation split)", "",
             f"{len(refs)} validation pictures (central view of at most {args.side}x{args.side}), "
             "compressed with Pillow 4:2:0.  PSNR on RGB and SSIM (RGB mean) in dB / index; "
             "PSNR-B on luma.  Gains are over the JPEG input.  spp's qp is the best of "
             f"{list(spp_filter.QPS)} per setting, picked on these images.  Detail: the "
             "luma energy of 8x8-block DCT frequencies u + v >= 4 on the JPEG grid, as a % of "
             "the original's (100: as much fine detail as the original; says how crisp, not how "
             "right).  Lattice: the % of the luma's high-pass energy on the frequencies of a "
             "pattern repeating every 2 or 4 pixels (a checkerboard; the originals: "
             f"{np.mean(originals):.2f}, at most {np.max(originals):.2f}); worst: the picture "
             "where it is highest.", ""]
    for label, row in results.items():
        base = row["JPEG"]
        lines += [f"## {label}", "",
                  "| method | PSNR | gain | SSIM | gain | PSNR-B | gain | detail % | lattice % | worst |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for name, s in row.items():
            d = s - base
            lines.append(f"| {name} | {s[0]:.2f} | {d[0]:+.2f} | {s[1]:.4f} | {d[1]:+.4f} | "
                         f"{s[2]:.2f} | {d[2]:+.2f} | {s[3]:.1f} | {s[4]:.2f} | {s[5]:.2f} |")
        lines.append("")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out + ".md").write_text("\n".join(lines))
    Path(args.out + ".json").write_text(json.dumps(
        {k: {n: [round(float(v), 4) for v in s] for n, s in row.items()} for k, row in results.items()},
        indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
