"""Bounded load test over loopback: a fixed number of requests, then a report; stops by itself.

    python -m dejpeg.loadtest --start-server --workers 2 --detect 200 --restore 50 --concurrency 8
    python -m dejpeg.loadtest --url http://127.0.0.1:5000 --detect 50 --restore 10

Every distinct image is first sent once, alone, to record the right answer; under load, each
answer must be identical to it (a "wrong" answer otherwise).  Reports p50/p90/p99 latency,
throughput, statuses, wrong answers and, with --start-server, the memory of each server process.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import platform
import random
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import requests
from PIL import Image

from . import machine

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


# --- the server under test ---------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(models_dir=None, workers: int = 0, env: dict | None = None,
                   timeout_s: float = 180):
    """`python -m dejpeg serve` on a free loopback port; yields (base URL, process); stops it."""
    port = free_port()
    environ = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    if models_dir:
        environ["DEJPEG_MODELS_DIR"] = str(models_dir)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dejpeg", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers)],
        env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log: list[str] = []
    reader = threading.Thread(target=lambda: log.extend(proc.stdout), daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                reader.join(5)
                raise RuntimeError(f"server exited with {proc.returncode}:\n{''.join(log)}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(url + "/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not healthy after {timeout_s} s:\n{''.join(log)}")
            time.sleep(0.5)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def memory(pid: int) -> dict:
    """Resident memory (MiB) of the server process and of each of its workers."""
    return {"server": _rss_mib(pid), "workers": [_rss_mib(c) for c in _children(pid)]}


# --- the requests ------------------------------------------------------------------------------

def test_images(count: int, height: int, width: int, seed: int = 0) -> list[tuple[str, bytes]]:
    """Photo-like pictures saved as JPEG at assorted qualities, and one PNG."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        y, x = np.mgrid[0:height, 0:width].astype(np.float64)
        phase = rng.uniform(0, 6.28, 3)
        img = np.stack([128 + 100 * np.sin(x / (15 + 9 * c) + phase[c]) * np.cos(y / (21 + 5 * c))
                        for c in range(3)], axis=-1) + rng.normal(0, 8, (height, width, 3))
        im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
        buf = io.BytesIO()
        if i == count - 1:
            im.save(buf, format="PNG")
            out.append((f"img{i}.png", buf.getvalue()))
        else:
            im.save(buf, format="JPEG", quality=int(rng.choice([10, 30, 50, 70, 90])))
            out.append((f"img{i}.jpg", buf.getvalue()))
    return out


def fingerprint(kind: str, response: requests.Response) -> str | None:
    """What must not change between a request alone and the same request under load."""
    if response.status_code != 200:
        return None
    if kind == "detect":
        body = response.json()
        return json.dumps([body["verdict"], body["probabilities"], body["blocks"], body["quality"]])
    return hashlib.sha256(response.content).hexdigest()


def send(session: requests.Session, url: str, kind: str, name: str, data: bytes, timeout: float):
    fields = {"force": "true"} if kind == "restore" else {}
    t0 = time.perf_counter()
    try:
        r = session.post(f"{url}/{kind}", files={"image": (name, data)}, data=fields, timeout=timeout)
    except requests.RequestException as e:
        return time.perf_counter() - t0, f"network: {type(e).__name__}", None
    return time.perf_counter() - t0, r.status_code, fingerprint(kind, r)


def percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 4) if values else None


def run(url: str, n_detect: int, n_restore: int, concurrency: int, timeout: float,
        seed: int = 0, detect_size=(480, 640), restore_size=(256, 320)) -> dict:
    detect_images = test_images(6, *detect_size, seed)
    restore_images = test_images(3, *restore_size, seed + 1)
    jobs = [("detect", *detect_images[i % len(detect_images)]) for i in range(n_detect)]
    jobs += [("restore", *restore_images[i % len(restore_images)]) for i in range(n_restore)]
    random.Random(seed).shuffle(jobs)

    # the right answers: each distinct request once, alone (this also warms the server up)
    expected = {}
    with requests.Session() as s:
        for kind, name, data in {(k, n, d) for k, n, d in jobs}:
            _, status, fp = send(s, url, kind, name, data, timeout)
            if status != 200:
                raise RuntimeError(f"warm-up {kind} {name} answered {status}")
            expected[(kind, name)] = fp

    local = threading.local()

    def one(job):
        if not hasattr(local, "session"):
            local.session = requests.Session()
        kind, name, data = job
        latency, status, fp = send(local.session, url, kind, name, data, timeout)
        return kind, latency, status, status == 200 and fp != expected[(kind, name)]

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, jobs))
    wall = time.perf_counter() - t0

    report = {"requests": len(jobs), "concurrency": concurrency, "wall_s": round(wall, 3),
              "throughput_rps": round(len(jobs) / wall, 3), "endpoints": {}}
    for kind in ("detect", "restore"):
        rows = [r for r in results if r[0] == kind]
        ok = [lat for _, lat, status, _ in rows if status == 200]
        statuses: dict[str, int] = {}
        for _, _, status, _ in rows:
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        report["endpoints"][kind] = {
            "requests": len(rows), "ok": len(ok), "statuses": statuses,
            "errors_5xx": sum(1 for _, _, s, _ in rows if isinstance(s, int) and s >= 500),
            "network_errors": sum(1 for _, _, s, _ in rows if isinstance(s, str)),
            "wrong_answers": sum(1 for *_, wrong in rows if wrong),
            "latency_s": {"p50": percentile(ok, 50), "p90": percentile(ok, 90),
                          "p99": percentile(ok, 99), "max": percentile(ok, 100)},
        }
    return report


def _print(report: dict) -> None:
    print(f"{report['requests']} requests at concurrency {report['concurrency']} in "
          f"{report['wall_s']} s: {report['throughput_rps']} requests/s")
    print(f"{'endpoint':<9} {'ok':>5} {'5xx':>4} {'net':>4} {'wrong':>5} {'p50 s':>7} {'p90 s':>7} "
          f"{'p99 s':>7}  statuses")
    for kind, e in report["endpoints"].items():
        lat = e["latency_s"]
        print(f"{kind:<9} {e['ok']:>5} {e['errors_5xx']:>4} {e['network_errors']:>4} "
              f"{e['wrong_answers']:>5} {lat['p50'] or 0:>7.3f} {lat['p90'] or 0:>7.3f} "
              f"{lat['p99'] or 0:>7.3f}  {e['statuses']}")
    if "memory_mib" in report:
        print(f"memory (RSS, MiB): {report['memory_mib']}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m dejpeg.loadtest", description=__doc__.splitlines()[0])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="a running server on this machine (loopback only)")
    where.add_argument("--start-server", action="store_true",
                       help="start `python -m dejpeg serve` on a free loopback port, stop it after")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers with --start-server")
    p.add_argument("--models-dir", help="with --start-server (default: $DEJPEG_MODELS_DIR or shipped)")
    p.add_argument("--detect", type=int, default=200)
    p.add_argument("--restore", type=int, default=50)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--timeout", type=float, default=300, help="per request, seconds")
    p.add_argument("--out", type=Path, help="also write the report as JSON here")
    args = p.parse_args(argv)

    meta = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "cpus": os.cpu_count(),
            "machine": platform.machine(), "cpu": machine.cpu(), "python": platform.python_version()}
    if args.url:
        if urlparse(args.url).hostname not in LOOPBACK:
            p.error("--url must be a loopback address (127.0.0.1, localhost, ::1)")
        report = {**meta, **run(args.url.rstrip("/"), args.detect, args.restore,
                                args.concurrency, args.timeout)}
    else:
        with running_server(args.models_dir, workers=args.workers) as (url, proc):
            report = {**meta, "workers": args.workers,
                      **run(url, args.detect, args.restore, args.concurrency, args.timeout)}
            report["memory_mib"] = memory(proc.pid)       # resident, after the load
            report["health"] = requests.get(url + "/health", timeout=10).json()
    _print(report)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"report written to {args.out}")
    bad = sum(e["errors_5xx"] + e["network_errors"] + e["wrong_answers"]
              for e in report["endpoints"].values())
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
