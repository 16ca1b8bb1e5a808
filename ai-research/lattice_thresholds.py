"""Measure the whole-number lattice of a JPEG's coefficients on training pictures.

    python ai-research/lattice_thresholds.py        # writes results/lattice_thresholds.{md,json}

`features.lattice_scan` scores each of the 64 8x8 grids by how far its AC coefficients sit on
whole numbers (z-scores), which a JPEG decoder leaves on its grid at any quality, QF 100
included, where no coefficient is zeroed and `features.grid_scan` finds no grid; the evidence
of a grid is its z-score's margin over the best other grid's (`LatticeScan.at`).  `Detector`
takes the best grid from it when the zeros show none, and calls a picture compressed that the
calibration calls uncompressed from `detector.LATTICE_DECISIVE`.  This script shows where that
threshold sits: on random crops of the *training* pictures (the validation ones stay for
`eval_detector.py`), the evidence of the best grid of never-compressed pictures as
photographs, renders, graphics, upscales and pixel art come, and of light JPEGs, aligned and
cropped (the grid moved); and whether the best grid is the JPEG's.
"""
from __future__ import annotations

import time

import numpy as np
from PIL import Image
from skimage import data as skdata

from dejpeg import data, detector, features, jpeg
import threshold_crops
from eval_detector import camera_like

CROP = (3, 5)       # (dx, dy) cropped off after the compression: the grid moves to (5, 3)


def _noisy(im, rng, sigma=3.0):
    return np.clip(np.rint(im + rng.normal(0, sigma, im.shape)), 0, 255).astype(np.uint8)


def _upscaled(im, factor, method):
    h, w = im.shape[:2]
    small = im[: h // factor, : w // factor]
    return np.asarray(Image.fromarray(small).resize((small.shape[1] * factor, small.shape[0] * factor), method))


def _posterized(im, levels):
    """Each channel rounded to `levels` evenly spaced values (few colours, as pixel art has)."""
    step = 255 / (levels - 1)
    return np.clip(np.rint(np.rint(im / step) * step), 0, 255).astype(np.uint8)


def _graphic(name):
    """A scikit-image picture that is no photograph (text, a checkerboard, a logo...) as RGB."""
    im = np.asarray(getattr(skdata, name)())
    if im.dtype == bool:
        im = im.astype(np.uint8) * 255
    if im.ndim == 2:
        im = np.stack([im] * 3, axis=2)
    return np.ascontiguousarray(im[..., :3]).astype(np.uint8)


# scikit-image's pictures that are no photographs, or old grey ones; not its "page", a scan
# whose zeros show a JPEG grid of their own (grid evidence 0.46): it was compressed
GRAPHICS = ("text", "checkerboard", "horse", "logo", "clock", "camera", "moon")


def cases():
    """(name, compressed?, make(rgb, rng) -> the picture (the grid at (0, 0) when compressed))."""
    cam = data.camera_pipeline
    out = [
        ("uncompressed", False, lambda im, rng: im),
        ("uncompressed, varied (`data.vary`)", False, lambda im, rng: data.vary(im, rng)),
        ("uncompressed, camera pipeline", False, lambda im, rng: cam(im, rng)),
        ("uncompressed, noise sigma 3", False, _noisy),
        ("uncompressed, upscaled 2x (bilinear)", False, lambda im, rng: _upscaled(im, 2, Image.Resampling.BILINEAR)),
        ("uncompressed, upscaled 2x (nearest)", False, lambda im, rng: _upscaled(im, 2, Image.Resampling.NEAREST)),
        ("uncompressed, upscaled 4x (nearest)", False, lambda im, rng: _upscaled(im, 4, Image.Resampling.NEAREST)),
        ("uncompressed pixel art: 8 levels a channel, upscaled 4x (nearest)", False,
         lambda im, rng: _upscaled(_posterized(im, 8), 4, Image.Resampling.NEAREST)),
        ("uncompressed pixel art: 4 levels a channel, upscaled 2x (nearest)", False,
         lambda im, rng: _upscaled(_posterized(im, 4), 2, Image.Resampling.NEAREST)),
        ("uncompressed, 16 levels a channel", False, lambda im, rng: _posterized(im, 16)),
    ]
    for q in (90, 95, 97, 98, 99, 100):
        out.append((f"single {q}", True, lambda im, rng, q=q: jpeg.compress(im, q)))
    out += [
        ("single 100, chroma 4:4:4", True, lambda im, rng: jpeg.compress(im, 100, subsampling=0)),
        ("single 100 of a camera pipeline's picture", True, lambda im, rng: jpeg.compress(cam(im, rng), 100)),
        ("single, camera-like ~QF 97 of a camera pipeline's picture", True,
         lambda im, rng: camera_like(cam(im, rng), 97, rng)),
        ("single 100 of a noisy picture (sigma 3)", True, lambda im, rng: jpeg.compress(_noisy(im, rng), 100)),
    ]
    return out


def main(argv=None):
    args = threshold_crops.parse(argv, __doc__, crops=30, seed=7, out="lattice_thresholds")
    t0 = time.time()
    n_pictures, crops = threshold_crops.training_crops(args)
    threshold = detector.LATTICE_DECISIVE
    served = features.WHOLE_LUMA_LATTICE
    rows = []

    def best_grid(img, whole):
        features.WHOLE_LUMA_LATTICE = whole
        try:
            return features.lattice_scan(img).best()
        finally:
            features.WHOLE_LUMA_LATTICE = served

    def measure(name, compressed, pictures_):
        for crop_name, crop in (("", (0, 0)), (", cropped", CROP)):
            z, right, z_decoded = [], [], []
            for img in pictures_:
                img = np.ascontiguousarray(img[crop[1]:, crop[0]:])
                offset, best = best_grid(img, True)
                z.append(best)
                right.append(offset == data.grid_after_crop(crop))
                z_decoded.append(best_grid(img, False)[1])
            z, z_decoded = np.array(z), np.array(z_decoded)
            rows.append({"case": name + crop_name, "compressed": compressed, "pictures": len(z),
                         "median": float(np.median(z)), "max": float(z.max()), "min": float(z.min()),
                         "decisive_pct": 100 * float(np.mean(z >= threshold)),
                         "right_grid_pct": 100 * float(np.mean(right)) if compressed else None,
                         "decoded_median": float(np.median(z_decoded)), "decoded_max": float(z_decoded.max()),
                         "decoded_decisive_pct": 100 * float(np.mean(z_decoded >= threshold))})
            r = rows[-1]
            print(f"{r['case']:66s} median {r['median']:6.1f} min {r['min']:6.1f} max {r['max']:6.1f} "
                  f"decisive {r['decisive_pct']:5.1f} % (luma as decoded: median "
                  f"{r['decoded_median']:6.1f} max {r['decoded_max']:6.1f} decisive "
                  f"{r['decoded_decisive_pct']:5.1f} %)", flush=True)

    for name, compressed, make in cases():
        measure(name, compressed, [make(c, np.random.default_rng(100 + i)) for i, c in enumerate(crops)])
    measure("uncompressed graphics (scikit-image: " + ", ".join(GRAPHICS) + ")", False,
            [_graphic(g) for g in GRAPHICS])

    clean = [r for r in rows if not r["compressed"]]
    summary = {"threshold": threshold,
               "largest_uncompressed": max(r["max"] for r in clean),
               "decisive_on_uncompressed_pct": float(np.mean([r["decisive_pct"] for r in clean])),
               "decisive_on_compressed_pct": float(np.mean([r["decisive_pct"] for r in rows if r["compressed"]])),
               "decoded_largest_uncompressed": max(r["decoded_max"] for r in clean),
               "decoded_decisive_on_uncompressed_pct": float(np.mean([r["decoded_decisive_pct"] for r in clean])),
               "decoded_decisive_on_compressed_pct": float(np.mean([r["decoded_decisive_pct"] for r in rows if r["compressed"]])),
               "seconds": round(time.time() - t0, 1)}
    lines = ["# The whole-number lattice of a JPEG's coefficients, on training crops", "",
             f"`features.lattice_scan` (the evidence of the best of the 64 grids: its z-score minus the next best grid's) on {args.crops} random "
             f"crops (at most {args.side} px a side) of the {n_pictures} training pictures "
             f"(seed {args.seed}), every case on every crop, then the same with {CROP[0]} px cropped "
             f"off the left and {CROP[1]} off the top (the grid moved); the graphics are scikit-image's "
             f"own pictures, whole.  Decisive from {threshold:g} (`detector.LATTICE_DECISIVE`).  \"right "
             "grid\": the best grid is the JPEG's.  \"camera-like\": IJG tables with every step "
             "moved by -1..+1 (`eval_detector.camera_like`); \"camera pipeline\": "
             "`data.camera_pipeline` (Bayer demosaicing, sensor noise, sharpening).  The lattice "
             "is read from the luma rounded to whole numbers (`features.WHOLE_LUMA_LATTICE`: a "
             "decoder's Y plane, which its colour conversion to R, G, B blurs by about 0.2); "
             "\"as decoded\": from the luma of R, G, B as they come, as before, in the same run.", "",
             "| case | compressed | median | min | max | decisive % | right grid % "
             "| as decoded: median | max | decisive % |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    fmt = lambda v: "" if v is None else f"{v:.0f}"
    lines += [f"| {r['case']} | {'yes' if r['compressed'] else 'no'} | {r['median']:.1f} | {r['min']:.1f} "
              f"| {r['max']:.1f} | {r['decisive_pct']:.0f} | {fmt(r['right_grid_pct'])} "
              f"| {r['decoded_median']:.1f} | {r['decoded_max']:.1f} | {r['decoded_decisive_pct']:.0f} |"
              for r in rows]
    lines += ["", f"Largest evidence of a never-compressed picture: {summary['largest_uncompressed']:.1f} "
              f"(as decoded {summary['decoded_largest_uncompressed']:.1f}); decisive on "
              f"{summary['decisive_on_uncompressed_pct']:.1f} % of them "
              f"({summary['decoded_decisive_on_uncompressed_pct']:.1f} %) and on "
              f"{summary['decisive_on_compressed_pct']:.1f} % of the JPEGs "
              f"({summary['decoded_decisive_on_compressed_pct']:.1f} %).  {summary['seconds']:.0f} s.", ""]
    threshold_crops.write(args.out, rows, summary, lines)


if __name__ == "__main__":
    main()
