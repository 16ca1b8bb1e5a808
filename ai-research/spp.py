"""ffmpeg's `spp` post-processing filter (Debian's ffmpeg), the classical baseline.

spp re-quantises shifted DCTs at quantiser `qp` and averages them (Nosratinia's method).
Run in 4:4:4 so the filter, not a chroma resampling, is what is measured.
"""
from __future__ import annotations

import subprocess

import numpy as np

QPS = (4, 8, 12, 16, 20, 24, 28, 32)   # candidate quantisers searched for the best per QF


def spp(rgb: np.ndarray, qp: int, quality: int = 6) -> np.ndarray:
    h, w = rgb.shape[:2]
    cmd = ["ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
           "-i", "-", "-vf", f"format=yuv444p,spp=quality={quality}:qp={qp},format=rgb24",
           "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    out = subprocess.run(cmd, input=np.ascontiguousarray(rgb).tobytes(), capture_output=True, check=True)
    return np.frombuffer(out.stdout, np.uint8).reshape(h, w, 3)
