"""Speed and memory of detection and restoration at several image sizes, with spp alongside.

    python ai-research/bench.py          # or: make bench
    python ai-research/bench.py --restorer zhao-original --sizes 1024x1024 --out results/x

Each size runs in a fresh process (so its peak resident memory is its own): a validation
picture (--picture, by name, so that a grown corpus does not change the input) tiled/cropped
to the size, compressed at QF 30, then timed (best of --repeat) for the
shipped detector (`Detector.detect`; also on the picture never compressed, turned a quarter,
and saved at QF 75 and 92 instead), the default restorer as served (`Restorer.load`:
folded for LiteRT, tiles up to 1072 px), the same network run by Keras (compiled predict,
same tiles: how it was served before `dejpeg.lite`) and as first served (plain Keras call,
512 px tiles) for the ratios, the whole API request (`POST
/restore` of the JPEG file through the Flask app in process: decode, detect, restore, PNG
encode) and ffmpeg's spp.  Peak resident memory is read after detect + restore (the figure
the memory bound is about) and again at the end.  Writes results/bench.{md,json}.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from dejpeg import machine

HERE = Path(__file__).parent
# the validation picture every committed bench used (the first by name before the corpus grew)
PICTURE = "Canopee-c538a5a7"
LIGHTER = (75, 92)     # the other JPEG qualities whose detection is timed
SIZES = [(512, 512), (1024, 1024), (2304, 1728), (4000, 3000), (4608, 3456), (5664, 4248)]  # 0.26-24 MP


class Eager:
    """A Keras model called as a plain function (no compiled predict), its inputs known to
    `Restorer` (a second one: the noise map)."""

    def __init__(self, model):
        self.model, self.inputs = model, model.inputs

    def __call__(self, batch, training=False):
        return self.model(batch, training=training)


def one(w, h, repeat, restorer_name, picture=PICTURE):
    from dejpeg import data, jpeg, registry
    import spp as spp_filter
    pic = data.load_image(HERE / "data/corpus/val" / f"{picture}.png")
    reps = (-(-h // pic.shape[0]), -(-w // pic.shape[1]), 1)
    clean = np.ascontiguousarray(np.tile(pic, reps)[:h, :w])
    img = jpeg.compress(clean, 30)
    turned = np.ascontiguousarray(np.rot90(img))
    # the qualities most photographs carry: a camera's (its statistics read more histograms
    # than QF 30's) and an ordinary resave's (the other grid's block means are read from QF 60)
    lighter = {q: jpeg.compress(clean, q) for q in LIGHTER}
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
    out = {"width": w, "height": h, "megapixels": w * h / 1e6, "restorer": rest.name,
           "served_by": "LiteRT" if rest.runner is not None else "Keras",
           "rss_after_load_mb": base / 1024,
           "detect_s": best(lambda: models.detector.detect(img)),
           # the same picture never compressed: the path that also reads the decoder's lattice
           "detect_uncompressed_s": best(lambda: models.detector.detect(clean)),
           # the JPEG turned a quarter (a portrait photo shown upright): read once, turned back
           # (`quality.transposed`) and read again the way it was compressed
           "detect_turned_s": best(lambda: models.detector.detect(turned)),
           "turn_found": models.detector.detect(turned)["grid"]["transposed"],
           "detect_qf_s": {str(q): best(lambda im=im: models.detector.detect(im)) for q, im in lighter.items()},
           "restore_s": best(lambda: rest.restore(img))}
    out["peak_rss_restore_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    import io
    from PIL import Image
    from dejpeg.web import create_app
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=95)
    client = create_app({"max_pixels": 10 ** 8, "max_upload_bytes": 1 << 30}, models=models).test_client()

    def api():
        r = client.post("/restore", data={"image": (io.BytesIO(buf.getvalue()), "bench.jpg"),
                                          "model": rest.name})
        assert r.status_code == 200 and r.headers["X-Dejpeg-Restored"] == "true", r.status
    out["api_restore_s"] = best(api)

    import keras
    from dejpeg.restorer import Restorer
    keras_form = Restorer(rest.model, rest.name, multiple=rest.multiple)
    out["restore_keras_s"] = best(lambda: keras_form.restore(img))
    entry = next(e for e in models.catalog if e["name"] == rest.name)
    plain = keras.saving.load_model(registry.DEFAULT_DIR / entry["file"], compile=False)
    first = Restorer(Eager(plain), rest.name, tile=512, multiple=rest.multiple)
    out["restore_first_s"] = best(lambda: first.restore(img))
    out["spp_s"] = best(lambda: spp_filter.spp(img, 16))
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--restorer", default=None, help="a restorer of the catalog (default: the default one)")
    ap.add_argument("--sizes", default=None, help="WxH,WxH,... instead of the 0.26-24 MP set")
    ap.add_argument("--one", nargs=2, type=int, help=argparse.SUPPRESS)
    ap.add_argument("--picture", default=PICTURE, help="the validation picture to tile (name, no extension)")
    ap.add_argument("--out", default=str(HERE / "results/bench"))
    args = ap.parse_args(argv)
    if args.one:
        return one(*args.one, args.repeat, args.restorer, args.picture)
    rows = []
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")] if args.sizes else SIZES
    for w, h in sizes:
        cmd = [sys.executable, __file__, "--one", str(w), str(h), "--repeat", str(args.repeat),
               "--picture", args.picture]
        if args.restorer:
            cmd += ["--restorer", args.restorer]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"{r['megapixels']:5.2f} MP  detect {r['detect_s']:.3f} s "
              f"(uncompressed {r['detect_uncompressed_s']:.3f} s, turned {r['detect_turned_s']:.3f} s, "
              + ", ".join(f"QF {q} {t:.3f} s" for q, t in r["detect_qf_s"].items())
              + f")  restore {r['restore_s']:.2f} s "
              f"({r['restore_s'] / r['megapixels']:.2f} s/MP)  spp {r['spp_s']:.2f} s  "
              f"peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
    lines = ["# Benchmark", "",
             f"{machine.cpu()}, {os.cpu_count()} cores; "
             f"best of {args.repeat}; QF 30 JPEG input (validation picture `{args.picture}`, tiled); restorer `{rows[0]['restorer']}`; spp at qp 16, "
             "quality 6, 4:4:4; peak RSS of the whole process (models loaded, TensorFlow), after "
             "detect + restore and at the end (API request and first-served form included).", "",
             f"\"restore\" is the restorer as served now (by {rows[0]['served_by']}: LiteRT once "
             "`dejpeg.lite` folds the network, Keras where it does not); \"Keras\" the same "
             "network and tiles run by Keras' compiled predict (served so before `dejpeg.lite`); "
             "\"first\" as first served (plain Keras call, 512 px tiles); all timed in the same "
             "process; \"API\" a whole `POST /restore` of the JPEG file (decode, detect, "
             "restore, PNG encode).  \"detect s, uncompressed\": the same picture before its JPEG "
             "(called uncompressed, so the detector also reads the decoder's lattice); \"turned\": "
             "the JPEG turned a quarter, as a portrait photo shown upright from its EXIF "
             "orientation (the detector finds the turn and reads the picture transposed; \"(not "
             "found)\" where it did not, and read it as received); \"QF 75\", \"QF 92\": the "
             "same picture saved at those qualities instead (an ordinary resave's, a camera's).", "",
             "| size | MP | detect s | detect s, uncompressed | detect s, turned | "
             + " | ".join(f"detect s, QF {q}" for q in LIGHTER) + " | restore s | restore s/MP | Keras s/MP | first s/MP "
             "| speed-up vs Keras / first | API s/MP | spp s/MP | peak RSS MB (restore / end) |",
             "|---|---|---|---|---|" + "---|" * len(LIGHTER) + "---|---|---|---|---|---|---|---|"]
    for r in rows:
        mp = r["megapixels"]
        lines.append(f"| {r['width']}x{r['height']} | {mp:.2f} | {r['detect_s']:.3f} | "
                     f"{r['detect_uncompressed_s']:.3f} | {r['detect_turned_s']:.3f}"
                     f"{'' if r['turn_found'] else ' (not found)'} | "
                     + "".join(f"{r['detect_qf_s'][str(q)]:.3f} | " for q in LIGHTER)
                     + f"{r['restore_s']:.2f} | {r['restore_s'] / mp:.2f} | "
                     f"{r['restore_keras_s'] / mp:.2f} | {r['restore_first_s'] / mp:.2f} | "
                     f"{r['restore_keras_s'] / r['restore_s']:.2f}x / "
                     f"{r['restore_first_s'] / r['restore_s']:.2f}x | "
                     f"{r['api_restore_s'] / mp:.2f} | {r['spp_s'] / mp:.2f} | "
                     f"{r['peak_rss_restore_mb']:.0f} / {r['peak_rss_mb']:.0f} |")
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    Path(args.out + ".json").write_text(json.dumps(rows, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
