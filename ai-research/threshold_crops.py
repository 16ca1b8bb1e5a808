"""What the threshold scripts (light_first_thresholds.py, lattice_thresholds.py) share: their
options, and the random crops of the *training* pictures they measure a statistic on (the
validation pictures stay for eval_detector.py)."""
from __future__ import annotations

import argparse
import json
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


def write(out: str, rows: list, summary: dict, lines: list[str]) -> None:
    """out.json ({"rows", "summary"}) and out.md (the report's lines)."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out + ".json").write_text(json.dumps({"rows": rows, "summary": summary}, indent=1))
    Path(out + ".md").write_text("\n".join(lines))
    print(f"wrote {out}.md")
