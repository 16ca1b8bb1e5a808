"""Score the shipped detector on real JPEG files and on their resaves, at their full size.

    python ai-research/eval_real_jpegs.py              # or: make eval-real-jpegs
    python ai-research/eval_real_jpegs.py --dir DIR    # your own JPEGs, each saved once

`eval_detector.py` compresses the corpus's clean PNGs with Pillow: every first pass there is
libjpeg's.  Here the first pass is a real encoder's -- a camera's firmware, Lightroom, GIMP,
Photoshop -- on a real photograph at its full size, as a user would upload it.  By default the
pictures are those of the corpus's *validation* split that their Debian package ships as JPEG
files (`manifest.json` names each source; the detector never trained on these pictures, and
the corpus itself holds only their pixels downscaled by 2x or more, which
`build_corpus.py`'s grid check leaves with no JPEG grid showing).  With
--split train, the training split's (more files, several straight from a camera or through
GIMP; the CNN saw their content at half size; nine of the pictures it trained on showed their
source's grid faintly, see ai-research/README.md, "The grid check"); with --dir, every
*.jpg / *.jpeg in DIR instead (say, a camera's own files).

Each file is taken to have been saved once -- a camera's, or an editor's export; its earlier
history is not known -- and is then scored:

- as the file itself (single), its decoded pixels as a PNG would come (single), and those
  pixels cropped 3 px left and 5 px top (single, grid shifted);
- resaved by Pillow at QF 75 and at QF 90 (4:2:0), as files and as pixels (double: the lighter
  first pass the same-grid test `quality.light_first_pass` looks for, and the file's table);
- cropped, then resaved at QF 80 (double on another grid: `features.second_grid`), and resaved
  at QF 75 then cropped (double, shifted grid).

Writes results/real_jpegs_eval.{md,json}: the verdict of every file in every case, the
accuracy per case, which tests were decisive, and the seconds a detection took.
"""
from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

from dejpeg import imageio, jpeg, quality, registry
from dejpeg.archs import CLASSES

HERE = Path(__file__).parent
SHIFT = (3, 5)      # px cropped off the left and the top


def crop(rgb: np.ndarray) -> np.ndarray:
    dx, dy = SHIFT
    return np.ascontiguousarray(rgb[dy:, dx:])


def png(rgb: np.ndarray) -> bytes:
    return imageio.encode_png(rgb, compress_level=1)


def cases():
    """(name, truth, make(file bytes, decoded rgb, resaved) -> the upload's bytes), where
    resaved(q) is the decoded file saved again by Pillow at quality q, 4:2:0 (made once)."""
    return [
        ("the file", "single", lambda raw, rgb, resaved: raw),
        ("its pixels (PNG)", "single", lambda raw, rgb, resaved: png(rgb)),
        ("its pixels, cropped (PNG)", "single", lambda raw, rgb, resaved: png(crop(rgb))),
        ("resaved QF 75 (file)", "double", lambda raw, rgb, resaved: resaved(75)),
        ("resaved QF 75, pixels (PNG)", "double", lambda raw, rgb, resaved: png(decoded(resaved(75)))),
        ("resaved QF 90 (file)", "double", lambda raw, rgb, resaved: resaved(90)),
        ("cropped, resaved QF 80 (file)", "double", lambda raw, rgb, resaved: jpeg.encode(crop(rgb), 80)),
        ("resaved QF 75, then cropped (PNG)", "double",
         lambda raw, rgb, resaved: png(crop(decoded(resaved(75))))),
    ]


def decoded(raw: bytes) -> np.ndarray:
    return imageio.decode(raw).rgb


def label(path: Path) -> str:
    """A file's name, with its KDE wallpaper package's (NAME/contents/images/1280x1024.jpg)."""
    parts = path.parts
    if "contents" in parts:
        return f"{parts[parts.index('contents') - 1]}/{path.name}"
    return path.name


def split_jpegs(corpus: Path, split: str = "val") -> list[Path]:
    """The sources of a corpus split that are JPEG files, each once, in manifest order."""
    manifest = json.loads((corpus / "manifest.json").read_text())
    out = []
    for item in manifest["images"]:
        src = Path(item["source"])
        if not item["file"].startswith(f"{split}/") or src in out or not src.exists():
            continue
        with Image.open(src) as im:
            if im.format == "JPEG":
                out.append(src)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=str(registry.DEFAULT_DIR))
    ap.add_argument("--corpus", default=str(HERE / "data/corpus"))
    ap.add_argument("--dir", help="score every *.jpg / *.jpeg here instead of the validation split's")
    ap.add_argument("--split", default="val", choices=("val", "train"),
                    help="the corpus split whose JPEG sources to score (train: pictures the CNN "
                         "saw at half size, without their JPEG traces)")
    ap.add_argument("--out", default=str(HERE / "results/real_jpegs_eval"))
    ap.add_argument("--note", default="", help="a line for the report (what was run)")
    args = ap.parse_args(argv)

    if args.dir:
        files = sorted(p for p in Path(args.dir).iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    else:
        files = split_jpegs(Path(args.corpus), args.split)
    if not files:
        raise SystemExit("no JPEG files to score")
    entry = registry.detector_entry(args.models)
    det = registry.load_detector(args.models, entry)

    per_file, seconds = [], []
    for path in files:
        raw = path.read_bytes()
        first = imageio.decode(raw)
        row = {"file": str(path), "width": first.width, "height": first.height,
               "quality": first.jpeg_quality, "ijg_table": first.jpeg_quality_exact,
               "low_steps": first.jpeg_table.reshape(8, 8)[0, :4].tolist()
               if first.jpeg_table is not None else None, "cases": {}}
        resaved = functools.cache(lambda q, rgb=first.rgb: jpeg.encode(rgb, q))
        for name, truth, make in cases():
            up = imageio.decode(make(raw, first.rgb, resaved))     # as the server reads the upload
            t0 = time.perf_counter()
            r = det.detect(up.rgb, jpeg_quality=up.jpeg_quality, jpeg_table=up.jpeg_table)
            seconds.append(time.perf_counter() - t0)
            tests = [t for t, key in (("DQ", "double_quantization"), ("2nd grid", "second_grid"),
                                      ("light first", "light_first_pass"))
                     if r[key]["decisive"]]
            if r["file_table"] and r["file_table"]["decisive"]:
                tests.append("table")
            if r["last_table"] and r["last_table"]["decisive"]:
                tests.append("last table")
            sd = r["single_vs_double"]
            row["cases"][name] = {"truth": truth, "verdict": r["verdict"], "tests": tests,
                                  "decided": None if sd is None else sd["decided"],
                                  "light_first": r["light_first_pass"]["evidence"],
                                  "light_first_quality": r["light_first_pass"]["first_quality"],
                                  "grid": [r["grid"]["dx"], r["grid"]["dy"]]}
        per_file.append(row)
        print(f"{label(path)[:40]:40s} {first.width}x{first.height} QF {first.jpeg_quality}: "
              + ", ".join(f"{c['verdict'][0]}{'?' * (c['decided'] is False)}"
                          f"{'+' + '/'.join(c['tests']) if c['tests'] else ''}"
                          for c in row["cases"].values()), flush=True)

    summary = []
    for name, truth, _ in cases():
        said = [f["cases"][name] for f in per_file]
        summary.append({"case": name, "truth": truth, "files": len(said),
                        "counts": {c: sum(s["verdict"] == c for s in said) for c in CLASSES},
                        "accuracy": 100 * float(np.mean([s["verdict"] == truth for s in said])),
                        "compressed_vs_not": 100 * float(np.mean([s["verdict"] != "uncompressed" for s in said])),
                        "light_first_decisive": sum("light first" in s["tests"] for s in said),
                        # the first pass of a resave is the file: its quality is known when
                        # its table is exactly IJG's
                        "light_first_qf_errors": [abs(s["light_first_quality"] - f["quality"])
                                                  for s, f in zip(said, per_file)
                                                  if truth == "double" and f["ijg_table"]
                                                  and s["light_first_quality"] is not None],
                        "table_decisive": sum("table" in s["tests"] for s in said),
                        "last_table_decisive": sum("last table" in s["tests"] for s in said),
                        "undecided": sum(s["decided"] is False for s in said)})
    overall = {"three_class_acc": float(np.mean([s["accuracy"] for s in summary])),
               "compressed_vs_not": float(np.mean([s["compressed_vs_not"] for s in summary])),
               "files": len(per_file), "median_detect_seconds": float(np.median(seconds))}

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"summary": summary, "overall": overall,
                                                    "files": per_file}, indent=1))
    names = [c[0] for c in cases()]
    lines = ["# Detector on real JPEG files and their resaves (full size)", "",
             *([args.note, ""] if args.note else []),
             f"Model `{entry['file']}` as served; {len(per_file)} files "
             f"({'--dir ' + args.dir if args.dir else 'the ' + args.split + ' split’s sources shipped as JPEG'}). "
             "Each file is taken as saved once (its earlier history is unknown). Crops: "
             f"{SHIFT[0]} px left, {SHIFT[1]} top. Resaves: Pillow, 4:2:0. u / s / d: the verdict, "
             "? when single vs double was undecided (`single_vs_double`: the answer says "
             "\"once or twice\"); after + the tests that were decisive (DQ: heavier first pass; "
             "2nd grid; light first: lighter first pass on the same grid; table: the file's own "
             "table; last table: the table that gives a PNG's blocks back, `last_table`).", "",
             "| case | truth | uncompressed | single | double | accuracy % | undecided (once or twice) "
             "| light first decisive | its first QF vs the file's IJG table: MAE (files) | table decisive "
             "| last table decisive |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in summary:
        c, err = s["counts"], s["light_first_qf_errors"]
        first = f"{np.mean(err):.1f} ({len(err)})" if err else ""
        lines.append(f"| {s['case']} | {s['truth']} | {c['uncompressed']} | {c['single']} | {c['double']} "
                     f"| {s['accuracy']:.1f} | {s['undecided']} | {s['light_first_decisive']} | {first} "
                     f"| {s['table_decisive']} | {s['last_table_decisive']} |")
    lines += ["", f"Mean accuracy over the cases: {overall['three_class_acc']:.1f} %; called compressed: "
              f"{overall['compressed_vs_not']:.1f} % (every case here is compressed); median detection "
              f"{overall['median_detect_seconds']:.2f} s.", "",
              "| file | size | its QF (IJG table?) | first steps | " + " | ".join(names) + " |",
              "|---|---|---|---|" + "---|" * len(names)]
    for f in per_file:
        cells = []
        for n in names:
            c = f["cases"][n]
            first = f", QF {c['light_first_quality']}" if "light first" in c["tests"] else ""
            cells.append(c["verdict"][0] + "?" * (c["decided"] is False)
                         + (" +" + "/".join(c["tests"]) if c["tests"] else "")
                         + f" ({c['light_first']:.0f}{first})")
        lines.append(f"| {label(Path(f['file']))} | {f['width']}x{f['height']} | {f['quality']} "
                     f"({'yes' if f['ijg_table'] else 'no'}) | {f['low_steps']} | " + " | ".join(cells) + " |")
    lines += ["", "In brackets: the light-first statistic (`quality.light_first_pass`; decisive "
              f"from {quality.LIGHT_DECISIVE:g}) and, where decisive, the first quality it names."]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:len(summary) + 8]))


if __name__ == "__main__":
    main()
