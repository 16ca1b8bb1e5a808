"""Measure the quarter-turn test (`quality.transposed`) on training pictures.

    python ai-research/turned_thresholds.py        # writes results/turned_thresholds.{md,json}

A picture turned a quarter after its last compression has the rows and columns of every 8x8
block swapped; transposed back, its coefficients fit an IJG table better (`quality.turn_gain`:
the best `quality.table_fit` over all qualities, transposed minus as they are).
`quality.transposed` calls a picture turned when that gain is at least `quality.TURNED_MARGIN` and at least `quality.TURNED_MIN_READ` AC coefficients
are clearly non-zero.  This script shows where the two thresholds sit: on random crops (128
px to --side a side) of the *training* pictures (the validation ones stay for
`eval_detector.py`), under each history, the gain of the picture as compressed (which must
stay under the margin: a picture taken for turned is read the wrong way round) and of the
same picture transposed (which should reach it), by how many coefficients were read.
"""
from __future__ import annotations

import time

import numpy as np

from dejpeg import jpeg, quality
import threshold_crops
from eval_detector import camera_like

BANDS = (0, 250, 500, 1000, 2000, None)     # clearly non-zero coefficients read


def histories():
    """(name, make(rgb, rng) -> the picture as last compressed)."""
    out = [("uncompressed", lambda im, rng: im)]
    out += [(f"single {q}", lambda im, rng, q=q: jpeg.compress(im, q))
            for q in (10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97)]
    out += [(f"double ({a},{b})", lambda im, rng, a=a, b=b: jpeg.compress_double(im, a, b))
            for a, b in ((50, 30), (50, 70), (90, 50), (30, 70))]
    out += [("double (70,50) recropped", lambda im, rng: jpeg.compress_double(im, 70, 50, (3, 5))),
            ("single, camera-like ~QF 92", lambda im, rng: camera_like(im, 92, rng)),
            ("single, camera-like ~QF 97", lambda im, rng: camera_like(im, 97, rng))]
    return out


def gain(ac: np.ndarray | None) -> tuple[int, float | None]:
    """(clearly non-zero coefficients, `quality.turn_gain`: what `quality.transposed`
    compares with TURNED_MARGIN)."""
    read = 0 if ac is None else int(np.count_nonzero(np.abs(ac) > quality.CLEARLY_NON_ZERO))
    return read, quality.turn_gain(ac)


def band_name(lo, hi) -> str:
    return f"{lo}+" if hi is None else f"{lo}-{hi - 1}"


def main(argv=None):
    args = threshold_crops.parse(argv, __doc__, crops=150, seed=17, out="turned_thresholds")
    t0 = time.time()
    n_pictures, crops = threshold_crops.training_crops(args)
    rng = np.random.default_rng(args.seed)
    sides = [int(rng.integers(128, args.side + 1)) for _ in crops]
    measured = []                    # (history, read, gain as compressed, gain turned)
    for name, make in histories():
        for i, (crop, side) in enumerate(zip(crops, sides)):
            img = make(crop[:side, :side], np.random.default_rng(100 + i))
            read, upright = gain(quality.grid_coefficients(img))
            _, turned = gain(quality.grid_coefficients(np.swapaxes(img, 0, 1)))
            measured.append((name, read, upright, turned))
        print(f"{name}: {time.time() - t0:.0f} s", flush=True)

    def stats(sel):
        up = np.array([m[2] for m in sel if m[2] is not None])
        tu = np.array([m[3] for m in sel if m[3] is not None])
        return {"crops": len(sel),
                "upright_max": float(up.max()) if len(up) else None,
                "upright_over_margin": int(np.sum(up >= quality.TURNED_MARGIN)),
                "turned_found_pct": 100 * float(np.mean(tu >= quality.TURNED_MARGIN)) if len(tu) else None}

    rows = []
    for name, _ in histories():
        mine = [m for m in measured if m[0] == name]
        for lo, hi in zip(BANDS[:-1], BANDS[1:]):
            sel = [m for m in mine if m[1] >= lo and (hi is None or m[1] < hi)]
            if sel:
                rows.append({"history": name, "read": band_name(lo, hi), **stats(sel)})
    compressed = [m for m in measured if m[0] != "uncompressed"]
    bands = []
    for lo, hi in zip(BANDS[:-1], BANDS[1:]):
        sel = [m for m in compressed if m[1] >= lo and (hi is None or m[1] < hi)]
        bands.append({"read": band_name(lo, hi), **stats(sel)})
    never = [m for m in measured if m[0] == "uncompressed"]
    summary = {"margin": quality.TURNED_MARGIN, "min_read": quality.TURNED_MIN_READ,
               "bands": bands, "uncompressed": stats(never),
               "seconds": round(time.time() - t0, 1)}

    def fmt(v, spec):
        return "" if v is None else format(v, spec)
    lines = ["# The quarter-turn test, on training crops", "",
             f"`quality.turn_gain` (the best IJG table fit of the transposed coefficients minus "
             f"that of the coefficients as they are) on {args.crops} random crops of the "
             f"{n_pictures} training pictures (seed {args.seed}), each cut to a random 128-{args.side} "
             "px square, under every history (aligned grid), as last compressed (\"upright\") and "
             f"transposed (\"turned\").  A picture counts as turned from a gain of "
             f"{quality.TURNED_MARGIN:g} (`quality.TURNED_MARGIN`) when at least "
             f"{quality.TURNED_MIN_READ} AC coefficients are clearly non-zero "
             "(`quality.TURNED_MIN_READ`).  \"read\": how many were; \"camera-like\": IJG tables with "
             "every step moved by -1..+1 (`eval_detector.camera_like`).", "",
             "Every compressed history together, by coefficients read:", "",
             "| read | crops | upright: largest gain | upright: at or over the margin | turned: at or over the margin % |",
             "|---|---|---|---|---|"]
    lines += [f"| {b['read']} | {b['crops']} | {fmt(b['upright_max'], '.3f')} | {b['upright_over_margin']} "
              f"| {fmt(b['turned_found_pct'], '.0f')} |" for b in bands]
    u = summary["uncompressed"]
    lines += ["", f"Never compressed: largest gain {fmt(u['upright_max'], '.3f')} upright, "
              f"{fmt(u['turned_found_pct'], '.0f')} % of the transposed at or over the margin.", "",
              "| history | read | crops | upright: largest gain | upright: at or over the margin | turned: at or over the margin % |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {r['history']} | {r['read']} | {r['crops']} | {fmt(r['upright_max'], '.3f')} "
              f"| {r['upright_over_margin']} | {fmt(r['turned_found_pct'], '.0f')} |" for r in rows]
    lines += ["", f"{summary['seconds']:.0f} s.", ""]
    threshold_crops.write(args.out, rows, summary, lines)


if __name__ == "__main__":
    main()
