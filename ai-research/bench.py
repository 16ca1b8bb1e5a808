"""Speed and memory of detection and restoration at several image sizes, with spp alongside.

    python ai-research/bench.py          # or: make bench

Each size runs in a fresh process (so its peak resident memory is its own): a validation
picture tiled/cropped to the size, compressed at QF 30, then timed (best of --repeat) for the
shipped detector (`Detector.detect`), the default restorer (`Restorer.restore`) and ffmpeg's
spp.  Writes results/bench.{md,json}.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
SIZES = [(512, 512), (1024, 1024), (2304, 1728), (4608, 3456)]   # ~0.26, 1, 4, 16 MP


def one(w, h, repeat, restorer_name):
    from dejpeg import data, jpeg, registry
    import spp as spp_filter
    pic = data.load_images(HERE / "data/corpus/val")[0]
    reps = (-(-h // pic.shape[0]), -(-w // pic.shape[1]), 1)
    img = jpeg.compress(np.ascontiguousarray(np.tile(pic, reps)[:h, :w]), 30)
    models = registry.load_models()
    rest = models.restorers[restorer_name or models.default_restorer]
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def best(fn):
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    models.detector.detect(img[:512, :512])      # warm up
    rest.restore(img[:256, :256])
    out = {"width": w, "height": h, "megapixels": w * h / 1e6,
           "detect_s": best(lambda: models.detector.detect(img)),
           "restore_s": best(lambda: rest.restore(img)),
           "spp_s": best(lambda: spp_filter.spp(img, 16)),
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "rss_after_load_mb": base / 1024, "restorer": rest.name}
    print(json.dumps(out))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--restorer", default=None)
    ap.add_argument("--one", nargs=2, type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=str(HERE / "results/bench"))
    args = ap.parse_args(argv)
    if args.one:
        return one(*args.one, args.repeat, args.restorer)
    rows = []
    for w, h in SIZES:
        cmd = [sys.executable, __file__, "--one", str(w), str(h), "--repeat", str(args.repeat)]
        if args.restorer:
            cmd += ["--restorer", args.restorer]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"{r['megapixels']:5.2f} MP  detect {r['detect_s']:.3f} s  restore {r['restore_s']:.2f} s "
              f"({r['restore_s'] / r['megapixels']:.2f} s/MP)  spp {r['spp_s']:.2f} s  "
              f"peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
    lines = ["# Benchmark", "",
             f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
             f"best of {args.repeat}; QF 30 JPEG input; restorer `{rows[0]['restorer']}`; spp at qp 16, "
             "quality 6, 4:4:4; peak RSS of the whole process (models loaded, TensorFlow).", "",
             "| size | MP | detect s | restore s | restore s/MP | spp s | spp s/MP | peak RSS MB |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        mp = r["megapixels"]
        lines.append(f"| {r['width']}x{r['height']} | {mp:.2f} | {r['detect_s']:.3f} | "
                     f"{r['restore_s']:.2f} | {r['restore_s'] / mp:.2f} | {r['spp_s']:.2f} | "
                     f"{r['spp_s'] / mp:.2f} | {r['peak_rss_mb']:.0f} |")
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    Path(args.out + ".json").write_text(json.dumps(rows, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
