"""Side-by-side crops of restorers on one picture, to look at what the numbers do not show.

    python ai-research/compare_crops.py --picture FallenLeaf-95603a65 --box 880,400,120 \
        --out ai-research/results/compare_fallenleaf_qf10_3x.png
    ... --box 740,320,256 --zoom 1 --out ai-research/results/compare_fallenleaf_qf10_1x.png
    ... --picture Wine_by_Jakkub_Mede-d2e96e6d --box 440,240,320 --zoom 1 \
        --out ai-research/results/compare_wine_qf10_1x.png
    ... --picture Wine_by_Jakkub_Mede-d2e96e6d --box 200,960,320 --zoom 1 \
        --out ai-research/results/compare_wine_drum_qf10_1x.png

One row: the original, the JPEG at --quality, then each restorer of --models (as served:
`registry.load_restorers`, tiled, at the strength its table gives for that quality), all cropped
to the same square (x, y, side) of a validation picture and enlarged --zoom times with
nearest-neighbour pixels, so each output pixel stays visible.  A label above each panel.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from dejpeg import jpeg, registry
from dejpeg.restorer import Restorer

HERE = Path(__file__).parent
LABEL = 14       # pixels of the label strip above each panel
GAP = 4


def panels(original: np.ndarray, quality: int, restorers: dict[str, Restorer]) -> dict[str, np.ndarray]:
    """{label: whole picture}: the original, its JPEG, each restorer's output of the JPEG."""
    compressed = jpeg.compress(original, quality)
    out = {"original": original, f"JPEG QF {quality}": compressed}
    for name, r in restorers.items():
        out[name] = r.restore(compressed, (0, 0), r.strength_for(quality))
    return out


def sheet(images: dict[str, np.ndarray], box: tuple[int, int, int], zoom: int) -> Image.Image:
    """The crops side by side, each `zoom` times, labelled."""
    x, y, side = box
    w = side * zoom
    canvas = Image.new("RGB", (len(images) * (w + GAP) - GAP, w + LABEL), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (label, img) in enumerate(images.items()):
        crop = np.ascontiguousarray(img[y:y + side, x:x + side])
        if crop.shape[:2] != (side, side):
            raise ValueError(f"the box {box} does not fit in a {img.shape[1]}x{img.shape[0]} picture")
        big = Image.fromarray(crop).resize((w, w), Image.NEAREST)
        canvas.paste(big, (i * (w + GAP), LABEL))
        draw.text((i * (w + GAP) + 2, 1), label, fill="black")
    return canvas


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--picture", required=True, help="a validation picture's name (no extension)")
    ap.add_argument("--box", required=True, help="x,y,side of the square to show")
    ap.add_argument("--models", default="small-pregan,small-postgan")
    ap.add_argument("--quality", type=int, default=10)
    ap.add_argument("--zoom", type=int, default=3)
    ap.add_argument("--models-dir", default=str(registry.DEFAULT_DIR))
    ap.add_argument("--corpus", default=str(HERE / "data/corpus"))
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)

    box = tuple(int(v) for v in args.box.split(","))
    original = np.asarray(Image.open(Path(args.corpus) / "val" / f"{args.picture}.png").convert("RGB"))
    restorers = {e["name"]: e for e in registry.read_catalog(args.models_dir)
                 if e["kind"] == "restorer"}
    names = args.models.split(",")
    unknown = sorted(set(names) - set(restorers))
    if unknown:
        ap.error(f"not restorers of the catalog: {', '.join(unknown)}")
    loaded = registry.load_restorers(args.models_dir, [restorers[n] for n in names])
    restorers = {n: loaded[n] for n in names}          # in the order asked for
    sheet(panels(original, args.quality, restorers), box, args.zoom).save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
