"""The machine a measurement ran on, for benchmark and load-test reports: timings depend on it."""
from __future__ import annotations

import platform
from pathlib import Path


def cpu(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The processor's model and its widest vector extension, e.g. "AMD EPYC (AVX-512)"; the
    platform's processor or machine name where `cpuinfo` (Linux's) cannot be read."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    names = {"avx512f": "AVX-512", "avx2": "AVX2", "avx": "AVX", "sse4_2": "SSE4.2"}
    widest = next((names[f] for f in names if f in flags), None)
    return model + (f" ({widest})" if widest else "")
