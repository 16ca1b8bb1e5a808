"""Which corpus pictures still show a JPEG grid: their sources' compression, not washed out.

    python ai-research/corpus_grid_check.py      # or: make corpus-check

The corpus (`build_corpus.py`) takes its pictures from wallpaper packages, many of them JPEG
files, and downscales each by 2x or more with antialiasing, on the premise that this washes
out the source's own JPEG traces: the pictures stand for "never compressed" in training and
validation.  It does not always hold: a heavily compressed source halved keeps its 8x8 blocks
as 4x4 ones, which line up with two of the 64 8x8 grids in each direction.  This scores every
corpus picture (both splits) with the detector's own grid search (`data.source_grid`: the
grid that stands out most and by how much) and flags those where a grid shows: at or above
`features.GRID_MIN_EVIDENCE`, where the detector takes a grid to stand out, or from half that
where a halved JPEG's blocks put one (0 or 4 in both directions); with each,
its source's format and, for a JPEG source, the quality of its luma table
(`quality.quality_from_table`).  Since 2026-11-28 `build_corpus.py` runs the same search and
downscales such sources further (or leaves them out), so this should flag none; the report
also lists the pictures it downscaled further and the sources it left out, from the manifest.
Writes results/corpus_grid_check.{md,json}.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from dejpeg import data, features, quality

HERE = Path(__file__).parent


def source_format(path: Path) -> tuple[str | None, int | None]:
    """(format, IJG quality of its luma table when a JPEG) of a source file; (None, None)
    when it is not on this machine."""
    if not path.exists():
        return None, None
    with Image.open(path) as im:
        fmt = im.format
        table = im.quantization.get(0) if fmt == "JPEG" else None
    return fmt, (quality.quality_from_table(table)[0] if table else None)


def check(corpus: Path, manifest: dict) -> list[dict]:
    """A row per corpus picture: its file, split, grid evidence and offset, source, the
    source's format and JPEG quality, and whether a grid shows (`data.source_grid`), from the
    `manifest`; by evidence, highest first."""
    rows = []
    for item in manifest["images"]:
        shows, evidence, offset = data.source_grid(data.load_image(corpus / item["file"]))
        fmt, q = source_format(Path(item["source"]))
        rows.append({"file": item["file"], "split": item["file"].split("/")[0],
                     "grid_evidence": round(float(evidence), 4), "offset": list(offset),
                     "source": item["source"], "source_format": fmt, "source_quality": q,
                     "grid_shows": bool(shows),
                     "factor": item.get("factor"), "further": item.get("further")})
    return sorted(rows, key=lambda r: -r["grid_evidence"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(HERE / "data/corpus"))
    ap.add_argument("--out", default=str(HERE / "results/corpus_grid_check"))
    args = ap.parse_args(argv)

    manifest = json.loads((Path(args.corpus) / "manifest.json").read_text())
    rows = check(Path(args.corpus), manifest)
    left_out = manifest.get("left_out_for_grids", [])
    flagged = [r for r in rows if r["grid_shows"]]
    summary = {"pictures": len(rows), "flagged": len(flagged),
               "flagged_by_split": {s: sum(r["split"] == s for r in flagged) for s in ("train", "val")},
               "median_grid_evidence": float(np.median([r["grid_evidence"] for r in rows])),
               "threshold": features.GRID_MIN_EVIDENCE, "halved_threshold": data.HALVED_EVIDENCE,
               "downscaled_further": sum((r["further"] or 1) > 1 for r in rows),
               "left_out_for_grids": len(left_out)}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"summary": summary, "pictures": rows,
                                                    "left_out_for_grids": left_out}, indent=1))
    lines = ["# Corpus pictures that still show a JPEG grid", "",
             f"The detector's grid search on each of the {len(rows)} corpus pictures (as `build_corpus.py` "
             f"made them); flagged from `features.GRID_MIN_EVIDENCE` = {features.GRID_MIN_EVIDENCE:g}, "
             "where the detector takes a grid to stand out, or from "
             f"`data.HALVED_EVIDENCE` = {data.HALVED_EVIDENCE:g} where the best grid sits at 0 or 4 "
             "in both directions (`data.source_grid`).  Median evidence "
             f"{summary['median_grid_evidence']:.4f}; flagged {len(flagged)} "
             f"(train {summary['flagged_by_split']['train']}, val {summary['flagged_by_split']['val']}).  "
             "Such a picture stands for \"never compressed\" while its source's compression "
             "shows through the downscale; a halved JPEG's 4x4 blocks put the grid at 0 or 4 in "
             "both directions.", "",
             "| picture | grid evidence | grid (dx, dy) | source | source format (JPEG quality) |",
             "|---|---|---|---|---|"]
    def source(r):
        fmt = r["source_format"] or "not on this machine"
        return fmt + (f" ({r['source_quality']})" if r["source_quality"] is not None else "")

    lines += [f"| {r['file']} | {r['grid_evidence']:.4f} | {tuple(r['offset'])} | "
              f"{Path(r['source']).name} | {source(r)} |" for r in flagged] or ["| none | | | | |"]
    further = [r for r in rows if (r["further"] or 1) > 1]
    lines += ["", f"Downscaled further by `build_corpus.py` because a grid showed at its first "
              f"factor: {len(further)}; sources it left out because one still did: {len(left_out)}.", "",
              "| picture | downscale factor | grid evidence now | source | source format (JPEG quality) |",
              "|---|---|---|---|---|"]
    lines += [f"| {r['file']} | {r['factor']:g} | {r['grid_evidence']:.4f} | {Path(r['source']).name} | "
              f"{source(r)} |" for r in further]
    lines += [f"| (left out) | {r['factor']:g} | {r['grid_evidence']:.4f} | {Path(r['source']).name} | |"
              for r in left_out]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
