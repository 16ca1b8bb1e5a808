"""Build the training corpus: clean photos, downscaled, split train/val by source picture.

    python ai-research/build_corpus.py                   # Debian wallpapers + scikit-image
    python ai-research/build_corpus.py --packages plasma-workspace-wallpapers \
        gnome-backgrounds ukui-wallpapers                # the corpus before 2026-11-27
    python ai-research/build_corpus.py --source DIR ...  # any folders of images

Each source picture is decoded, converted to RGB, downscaled by at least --scale (2) with
Lanczos antialiasing -- which washes out the traces of the JPEG compression many wallpapers
were shipped with -- and capped at --max-side, then saved as PNG.  Halving does not always
wash them out: a heavily compressed source's 8x8 blocks become 4x4 ones, which line up with
two of the 64 8x8 grids in each direction (`corpus_grid_check.py` found 13 of 112 pictures so).
So every downscaled picture goes through the detector's own grid search
(`data.source_grid`), and while a grid shows (it stands out, `features.GRID_MIN_EVIDENCE`, or
half as strong where halving puts one) the source is downscaled again by a larger factor
(FURTHER: 1.2, 1.6, then 2.4 times the first, chosen so that the blocks' traces no longer
repeat with the 8x8 grid); a picture still showing a grid at the last one, or under
--min-side, is left out.  --keep-grids skips the check (the corpus of before
2026-11-28).  Byte-identical files (the
wallpaper packages install one picture under many names) are kept once, and variants of one
picture (`images/` and `images_dark/`, `-l`/`-d` pairs) share a group, so a picture is never on
both sides of the split.  The split is a hash of the group name: deterministic, no seed.

Writes OUT/train/*.png, OUT/val/*.png and OUT/manifest.json (sources, sizes, counts).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

from dejpeg import data

DEFAULT_SOURCES = ["/usr/share/wallpapers", "/usr/share/backgrounds"]
# the Debian packages whose pictures the default corpus takes (`make corpus` installs them);
# the first three alone made the corpus every shipped model was trained on
DEFAULT_PACKAGES = ["plasma-workspace-wallpapers", "gnome-backgrounds", "ukui-wallpapers",
                    "mate-backgrounds", "lomiri-wallpapers", "lomiri-wallpapers-16.04",
                    "lomiri-wallpapers-20.04"]
EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp"}
# scikit-image's natural colour photographs (shipped inside the wheel, no download)
SKIMAGE_PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg",
                  "motorcycle_left.png", "motorcycle_right.png"]


def skimage_dir() -> Path | None:
    try:
        import skimage.data
    except ImportError:
        return None
    return Path(skimage.data.__file__).parent


def group_of(path: Path) -> str:
    """Name shared by all variants of one picture."""
    parts = path.parts
    if "contents" in parts:                       # KDE wallpaper package: NAME/contents/...
        return parts[parts.index("contents") - 1]
    if path.stem.startswith("motorcycle_"):
        return "motorcycle"
    # one picture at several sizes (MATE's Elephants_3840x2160, sway's ..._1366x768_Portrait)
    stem = re.sub(r"_\d+x\d+(_Portrait)?$", "", path.stem)
    return re.sub(r"-(l|d)$", "", stem)


def in_val(group: str, fraction: float) -> bool:
    h = int(hashlib.sha256(group.encode()).hexdigest()[:8], 16)
    return (h % 1000) < fraction * 1000


def package_files(packages: list[str]) -> set[str]:
    """Every path the installed Debian `packages` put on disk (`dpkg -L`)."""
    paths = set()
    for name in packages:
        listing = subprocess.run(["dpkg", "-L", name], capture_output=True, text=True)
        if listing.returncode != 0:
            print(f"skip package {name}: not installed")
            continue
        paths.update(listing.stdout.splitlines())
    return paths


def find_sources(dirs: list[str], use_skimage: bool, only: set[str] | None = None) -> list[Path]:
    """The pictures under `dirs` (walked in order, each sorted), those in `only` when given,
    then scikit-image's photos."""
    files = []
    for d in dirs:
        files += [p for p in sorted(Path(d).rglob("*"))
                  if p.is_file() and p.suffix.lower() in EXTENSIONS and "screenshot" not in p.name
                  and (only is None or str(p) in only)]
    sk = skimage_dir() if use_skimage else None
    if sk is not None:
        files += [sk / n for n in SKIMAGE_PHOTOS if (sk / n).exists()]
    return files


# Factors tried in turn, times the first downscale, while the source's JPEG grid shows through.
# Downscaled by f = a / b (lowest terms), a source's 8-px block boundaries repeat every
# 8 b / gcd(a, 8 b) px: every 4 px at 2x, 8 at 3x, 2 at 4x, all periods an 8x8 grid shares
# (16 at 2.5x, whose harmonics it shares); every 10 px at 2.4x (a period that meets the grid's
# frequencies at Nyquist alone) and every 5 px at 3.2x and 4.8x (at none).  Measured on the 23
# corpus pictures whose grid showed at 2x (2026-11-28, ad hoc): evidence 0.002-0.009 at 2.4x,
# up to 0.016 at 2.5x and 0.025 at 3x.
FURTHER = (1.0, 1.2, 1.6, 2.4)


def prepare(path: Path, scale: float, max_side: int, min_side: int,
            keep_grids: bool = False) -> tuple[Image.Image | None, float, float, float | None]:
    """(picture, downscale factor, the FURTHER multiplier in it, grid evidence) of a source:
    downscaled by at least `scale` and to at most `max_side`, then by the next multiplier of
    FURTHER while a JPEG grid shows (`data.source_grid`; unless `keep_grids`, which takes the
    first and measures nothing).  The picture is None when it would fall under `min_side` (the evidence
    is then that of the last factor measured, None if none was) or when a grid still shows at
    the last factor."""
    with Image.open(path) as im:
        im.load()
        if im.mode in ("RGBA", "LA", "P"):
            im = im.convert("RGBA")
            bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(bg, im)
        im = im.convert("RGB")
    first = max(scale, max(im.size) / max_side)
    evidence = None
    for further in FURTHER:
        factor = first * further
        size = (round(im.width / factor), round(im.height / factor))
        if min(size) < min_side:
            return None, factor, further, evidence
        small = im.resize(size, Image.Resampling.LANCZOS)
        if keep_grids:
            return small, factor, further, None
        shows, evidence, _ = data.source_grid(np.asarray(small))
        if not shows:
            return small, factor, further, evidence
    return None, factor, further, evidence


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", action="append", help="folder of images (repeatable); "
                    "default: the pictures of --packages")
    ap.add_argument("--packages", nargs="+", default=DEFAULT_PACKAGES,
                    help="Debian packages whose pictures make the corpus when no --source is given")
    ap.add_argument("--no-skimage", action="store_true", help="leave out scikit-image's photos")
    ap.add_argument("--out", default="ai-research/data/corpus")
    ap.add_argument("--scale", type=float, default=2.0, help="minimum downscale factor (>= 2)")
    ap.add_argument("--max-side", type=int, default=2048)
    ap.add_argument("--min-side", type=int, default=256)
    ap.add_argument("--val-fraction", type=float, default=0.2)
    ap.add_argument("--keep-grids", action="store_true",
                    help="skip the grid check (downscale by the first factor only, as before 2026-11-28)")
    args = ap.parse_args(argv)
    if args.scale < 2:
        ap.error("--scale must be at least 2 to wash out the sources' own JPEG traces")

    out = Path(args.out)
    for split in ("train", "val"):
        (out / split).mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    records, left_out = [], []
    only = None if args.source else package_files(args.packages)
    for path in find_sources(args.source or DEFAULT_SOURCES, not args.no_skimage, only):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        try:
            im, factor, further, evidence = prepare(path, args.scale, args.max_side, args.min_side,
                                           args.keep_grids)
        except Exception as exc:  # unreadable file: report and go on
            print(f"skip {path}: {exc}")
            continue
        if im is None:
            if evidence is not None:     # a grid showed at the last factor measured
                print(f"skip {path}: a JPEG grid still shows ({evidence:.4f}) by {factor:.2f}x")
                left_out.append({"source": str(path), "factor": round(factor, 3),
                                 "grid_evidence": round(float(evidence), 4)})
            continue
        if np.asarray(im).std() < 8:   # flat colour fields teach nothing
            print(f"skip {path}: nearly flat")
            continue
        group = group_of(path)
        split = "val" if in_val(group, args.val_fraction) else "train"
        name = f"{group}-{digest[:8]}.png"
        im.save(out / split / name)
        records.append({"file": f"{split}/{name}", "source": str(path), "group": group,
                        "width": im.width, "height": im.height, "factor": round(factor, 3),
                        "further": further,
                        "grid_evidence": None if evidence is None else round(float(evidence), 4)})
        print(f"{split:5s} {im.width}x{im.height} {factor:.2f}x {path}")

    written = {r["file"] for r in records}
    for split in ("train", "val"):     # pictures of an earlier build that this one left out
        for stale in (out / split).glob("*.png"):
            if f"{split}/{stale.name}" not in written:
                stale.unlink()

    summary = {}
    for split in ("train", "val"):
        rs = [r for r in records if r["file"].startswith(split)]
        summary[split] = {"images": len(rs), "groups": len({r["group"] for r in rs}),
                          "megapixels": round(sum(r["width"] * r["height"] for r in rs) / 1e6, 1)}
    further = sum(r["further"] > 1 for r in records)
    (out / "manifest.json").write_text(json.dumps({"summary": summary, "downscaled_further": further,
                                                   "images": records, "left_out_for_grids": left_out},
                                                  indent=1))
    print(json.dumps(summary), f"downscaled further: {further}, left out for grids: {len(left_out)}")


if __name__ == "__main__":
    main()
