"""Command line: `python -m dejpeg detect|restore|serve`.

    python -m dejpeg detect photo.jpg scan.png [--json]
    python -m dejpeg restore photo.jpg -o restored/ [--model small-postgan] [--force]
                                               [--strength auto|0..1]
    python -m dejpeg serve [--host 127.0.0.1] [--port 5000] [--workers N]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")     # before TensorFlow is imported

from .config import Config, ConfigError   # noqa: E402
from .errors import DejpegError, MissingModel   # noqa: E402


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = Config.from_env()
        if args.models_dir:
            config = config.replace(models_dir=Path(args.models_dir))
        return args.run(args, config)
    except (MissingModel, ConfigError) as e:
        print(f"dejpeg: error: {e}", file=sys.stderr)
        if isinstance(e, MissingModel):
            print("dejpeg: the server never runs with untrained weights; train or copy the "
                  "models first (see README.md, section Models).", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dejpeg", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--models-dir", help="folder with catalog.json and the model files "
                                             "(default: $DEJPEG_MODELS_DIR or the shipped models)")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    p = sub.add_parser("detect", parents=[common],
                       help="was each image JPEG-compressed never, once or twice?")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.epilog = ("In the table a verdict of single? or double? is a coin flip between the two: "
                "the pixels do not tell once from twice (single_vs_double.decided false).")
    p.set_defaults(run=cmd_detect)

    p = sub.add_parser("restore", parents=[common],
                       help="remove JPEG artifacts; writes DIR/<name>.png")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="DIR")
    p.add_argument("--model", help="restorer name (default: the recommended one)")
    p.add_argument("--force", action="store_true",
                   help="restore even when the detector finds no compression")
    p.add_argument("--strength", type=_strength, default=None, metavar="auto|0..1",
                   help="how much of the network's output to use (default auto: calibrated "
                        "for the image's JPEG quality)")
    p.set_defaults(run=cmd_restore)

    p = sub.add_parser("serve", parents=[common], help="run the HTTP API and the web client")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=None, help="default: $PORT or 5000")
    p.add_argument("--workers", type=int, default=0,
                   help="N >= 1: production server (gunicorn, N processes); "
                        "0: one threaded process (default)")
    p.set_defaults(run=cmd_serve)
    return parser


def _load(config: Config, restorers=None):
    from .registry import load_models
    return load_models(config.models_dir, restorers=restorers)


def _read(path: Path, config: Config):
    from .imageio import decode
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DejpegError(f"cannot read {path}: {e.strerror}") from None
    return decode(data, max_bytes=config.max_upload_bytes, max_pixels=config.max_pixels)


def cmd_detect(args, config: Config) -> int:
    models = _load(config, restorers=())          # no restorer needed
    results, failed = [], 0
    for path in args.files:
        t0 = time.perf_counter()
        try:
            image = _read(path, config)
            result = models.detector.detect(image.rgb, jpeg_quality=image.jpeg_quality,
                                            jpeg_table=image.jpeg_table)
            result = {"file": str(path), **result, "image": image.info(),
                      "timings": {"total_s": round(time.perf_counter() - t0, 4)}}
        except DejpegError as e:
            failed += 1
            result = {"file": str(path), "error": e.detail}
        results.append(result)
        if not args.json:
            _print_row(result, first=len(results) == 1)
    if args.json:
        print(json.dumps(results, indent=2))
    elif any(_undecided(r) for r in results):
        print(UNDECIDED_NOTE)
    return 1 if failed else 0


UNDECIDED_NOTE = ("?: compressed, but once or twice is undecided: neither single nor double "
                  "holds 70 % of the compressed probability (single_vs_double in --json)")


def _undecided(r: dict) -> bool:
    """Whether a detect result called compressed left single vs double a coin flip."""
    return (r.get("single_vs_double") or {}).get("decided") is False


def _print_row(r: dict, first: bool) -> None:
    fmt = "{:<32} {:<13} {:>7} {:>7} {:>7}  {:<14} {:>5} {:>6} {:>8}"
    if first:
        print(fmt.format("file", "verdict", "uncomp", "single", "double", "quality", "first",
                         "blocks", "time"))
    name = r["file"] if len(r["file"]) <= 32 else "…" + r["file"][-31:]
    if "error" in r:
        print(f"{name:<32} error: {r['error']}")
        return
    p, q = r["probabilities"], r["quality"]
    quality = "-"
    if q:
        quality = f"{q['estimate']} ({'table' if q['source'] == 'quantization-table' else 'pixels'})"
    # a first compression: its quality when found, "finer" when a lighter one showed unnamed
    first_q = (q or {}).get("first_estimate")
    if first_q is None:
        first_q = "finer" if r["light_first_pass"]["decisive"] else "-"
    print(fmt.format(name, r["verdict"] + "?" * _undecided(r), f"{p['uncompressed']:.3f}",
                     f"{p['single']:.3f}", f"{p['double']:.3f}", quality, first_q,
                     len(r["blocks"]),
                     f"{r['timings']['total_s']:.2f} s"))


def _strength(text: str) -> float | None:
    if text == "auto":
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be 'auto' or a number from 0 to 1, not {text!r}")
    return value


def cmd_restore(args, config: Config) -> int:
    from . import quality as quality_mod
    from .imageio import encode_png
    from .registry import default_restorer, read_catalog
    from .restorer import Restorer
    catalog = read_catalog(config.models_dir)
    model = args.model or default_restorer(catalog)
    known = [e["name"] for e in catalog if e["kind"] == "restorer"]
    if model not in known:
        names = ", ".join(sorted(known))
        print(f"dejpeg: error: unknown model {model!r}; restorers: {names}", file=sys.stderr)
        return 2
    models = _load(config, restorers=[model])      # only the one used
    args.output.mkdir(parents=True, exist_ok=True)
    used, failed = set(), 0
    for path in args.files:
        t0 = time.perf_counter()
        try:
            image = _read(path, config)
            if args.force:      # no detection: grid and quality from the pixels (or the file)
                verdict = "skipped"
                grid, estimate = quality_mod.grid_and_quality(image.rgb)
                quality = image.jpeg_quality or estimate
            else:
                found = models.detector.detect(image.rgb, jpeg_quality=image.jpeg_quality,
                                               jpeg_table=image.jpeg_table)
                verdict, grid = found["verdict"], (found["grid"]["dx"], found["grid"]["dy"])
                quality = Restorer.damage_quality(found["quality"])
            restored = args.force or verdict != "uncompressed"
            pixels = image.rgb
            if restored:
                restorer = models.restorers[model]
                strength = args.strength if args.strength is not None else restorer.strength_for(quality)
                pixels = restorer.restore(image.rgb, grid=grid, strength=strength)
            out = _unique(args.output, path.stem, used)
            out.write_bytes(encode_png(pixels, image.alpha, image.grayscale))
        except DejpegError as e:
            failed += 1
            print(f"{path}: error: {e.detail}")
            continue
        what = f"restored with {model} at strength {strength:.2f}" if restored else \
            "not restored (no compression found), saved as PNG"
        print(f"{path} -> {out}: {what}; verdict {verdict}; {time.perf_counter() - t0:.2f} s")
    return 1 if failed else 0


def _unique(folder: Path, stem: str, used: set) -> Path:
    """folder/stem.png, or stem-2.png, ... when two inputs share a name."""
    name, n = f"{stem}.png", 1
    while name in used:
        n += 1
        name = f"{stem}-{n}.png"
    used.add(name)
    return folder / name


def cmd_serve(args, config: Config) -> int:
    port = args.port if args.port is not None else config.port
    if args.workers >= 1:
        from .registry import read_catalog
        read_catalog(config.models_dir)          # fail fast, before starting any worker
        from .production import run_gunicorn
        return run_gunicorn(args.host, port, args.workers, config)
    from .web import create_app
    app = create_app(config)
    print(f"deJPEG on http://{args.host}:{port}/ (one process; `--workers N` for production)",
          flush=True)
    app.run(host=args.host, port=port, threaded=True, debug=False, use_reloader=False)
    return 0
