"""Make demo/: example uploads from validation pictures (never trained on), with known history.

    python ai-research/make_demo.py

demo/uncompressed/ (PNG), demo/SQF10/ (QF 10), demo/DQF5010/ (QF 50 then 10),
demo/DQF5070/ (QF 50 then 70); in each, one file is the JPEG decoded and resaved as PNG, to
show that detection works from pixels alone.  Views are cut at different sizes and offsets
(so the JPEG grid is not always at the origin).  demo/SQF30-portrait/photo1.jpg: the first
view at QF 30, stored on its side as a camera stores a portrait photo, with the EXIF
orientation (6) that shows it upright, 480x640.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from dejpeg import data, jpeg


HERE = Path(__file__).parent
OUT = HERE.parent / "demo"
PICTURES = ["FallenLeaf", "rhythm", "firstgeneration"]
VIEWS = [(400, 296, 640, 480), (37, 21, 800, 600), (5, 3, 512, 512)]   # x, y, width, height


def decode(b):
    return np.asarray(Image.open(io.BytesIO(b)).convert("RGB"))


def main():
    val = HERE / "data/corpus/val"
    # a photograph of the validation split (FallenLeaf) first, then two rendered wallpapers
    picks = [data.load_image(next(val.glob(f"{g}-*.png"))) for g in PICTURES]
    for folder in ("uncompressed", "SQF10", "DQF5010", "DQF5070"):
        (OUT / folder).mkdir(parents=True, exist_ok=True)
    x0, y0, w0, h0 = VIEWS[0]
    for n, (pic, (x, y, w, h)) in enumerate(zip(picks, VIEWS)):
        view = np.ascontiguousarray(pic[y:y + h, x:x + w])
        Image.fromarray(view).save(OUT / "uncompressed" / f"photo{n + 1}.png")
        cases = {"SQF10": jpeg.encode(view, 10),
                 "DQF5010": jpeg.encode(decode(jpeg.encode(view, 50)), 10),
                 "DQF5070": jpeg.encode(decode(jpeg.encode(view, 50)), 70)}
        for folder, b in cases.items():
            if n == 2:      # the third of each set: decoded and resaved as PNG
                Image.fromarray(decode(b)).save(OUT / folder / f"photo{n + 1}-resaved.png")
            else:
                (OUT / folder / f"photo{n + 1}.jpg").write_bytes(b)
    # a portrait photo as a camera stores it: on its side (the first view, 640x480), with
    # the EXIF orientation that shows it upright (6: turned a quarter clockwise, 480x640)
    stored = np.ascontiguousarray(picks[0][y0:y0 + h0, x0:x0 + w0])
    (OUT / "SQF30-portrait").mkdir(parents=True, exist_ok=True)
    (OUT / "SQF30-portrait" / "photo1.jpg").write_bytes(jpeg.encode(stored, 30, orientation=6))
    print("\n".join(sorted(str(p.relative_to(OUT)) for p in OUT.rglob("*.*"))))


if __name__ == "__main__":
    main()
