"""What the threshold scripts (light_first_thresholds.py, other_grid_thresholds.py,
lattice_thresholds.py) share: their options, the random crops of the *training* pictures they
measure a statistic on (the validation pictures stay for eval_detector.py), and the rows and
summary of a statistic against its threshold."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from dejpeg import data

HERE = Path(__file__).parent


def parse(argv, doc: str, crops: int, seed: int, out: str) -> argparse.Namespace:
    """--corpus, --crops (training crops per case), --side, --seed and --out (results/ + out)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(HERE / "data/corpus"))
    ap.add_argument("--crops", type=int, default=crops, help="training crops per case")
    ap.add_argument("--side", type=int, default=768, help="crops of at most side x side")
    ap.add_argument("--seed", type=int, default=seed, help="of the crops")
    ap.add_argument("--out", default=str(HERE / "results" / out))
    return ap.parse_args(argv)


def training_crops(args: argparse.Namespace) -> tuple[int, list[np.ndarray]]:
    """(how many training pictures, args.crops random crops of them of at most args.side a
    side, drawn with args.seed)."""
    pictures = data.load_images(Path(args.corpus) / "train")
    rng = np.random.default_rng(args.seed)
    return len(pictures), [data.random_crop(pictures[int(rng.integers(len(pictures)))], args.side, rng)
                           for _ in range(args.crops)]


def case_row(name: str, kind: str, stats: np.ndarray, threshold: float, **extra) -> dict:
    """One case's row (printed as it comes): its statistic's median and maximum over the crops
    and the share of crops at or over `threshold`; `extra`, more columns."""
    row = {"case": name, "kind": kind, "crops": len(stats), "median": float(np.median(stats)),
           "max": float(stats.max()), "decisive_pct": 100 * float(np.mean(stats >= threshold)),
           **extra}
    print(f"{name:72s} median {row['median']:7.1f}  max {row['max']:7.1f}  "
          f"decisive {row['decisive_pct']:5.1f} %", flush=True)
    return row


def singles_summary(rows: list[dict], threshold: float, started: float) -> dict:
    """The threshold, the largest statistic of a single compression, the mean share of singles
    decisive, and the seconds since `started`."""
    singles = [r for r in rows if r["kind"] == "single"]
    return {"threshold": threshold, "largest_single": max(r["max"] for r in singles),
            "decisive_on_singles_pct": float(np.mean([r["decisive_pct"] for r in singles])),
            "seconds": round(time.time() - started, 1)}


def closing(summary: dict) -> list[str]:
    """The report's last lines, from `singles_summary`."""
    return ["", f"Largest statistic of a single compression: {summary['largest_single']:.1f}; "
            f"decisive on {summary['decisive_on_singles_pct']:.1f} % of the singles.  "
            f"{summary['seconds']:.0f} s.", ""]


def write(out: str, rows: list, summary: dict, lines: list[str]) -> None:
    """out.json ({"rows", "summary"}) and out.md (the report's lines)."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out + ".json").write_text(json.dumps({"rows": rows, "summary": summary}, indent=1))
    Path(out + ".md").write_text("\n".join(lines))
    print(f"wrote {out}.md")
