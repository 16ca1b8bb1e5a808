"""The machine a measurement ran on (dejpeg.machine), as bench and load-test reports name it."""
from __future__ import annotations

import platform

from dejpeg import machine

CPUINFO = """processor\t: {n}
vendor_id\t: AuthenticAMD
model name\t: {model}
flags\t\t: fpu sse4_2 avx {extra}

"""


def test_cpu_names_the_model_and_its_widest_vector_extension(tmp_path):
    info = tmp_path / "cpuinfo"
    cases = {"avx2 fma avx512f avx512bw": "AVX-512", "avx2 fma": "AVX2", "": "AVX"}
    for extra, widest in cases.items():
        info.write_text("".join(CPUINFO.format(n=n, model="Some CPU 9000", extra=extra)
                                for n in range(2)))
        assert machine.cpu(info) == f"Some CPU 9000 ({widest})"


def test_cpu_without_cpuinfo_falls_back_to_the_platform(tmp_path):
    assert machine.cpu(tmp_path / "missing") == (platform.processor() or platform.machine())
