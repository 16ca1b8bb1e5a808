from pathlib import Path

import pytest

from dejpeg.config import Config, ConfigError, MiB


def test_defaults():
    c = Config.from_env({})
    assert c.max_upload_bytes == 32 * MiB
    assert c.max_pixels == 50_000_000
    assert c.max_concurrent == 2
    assert c.cors_origins == ()
    assert c.port == 5000
    assert c.models_dir.name == "models" and c.models_dir.parent.name == "dejpeg"


def test_environment_overrides():
    c = Config.from_env({
        "DEJPEG_MODELS_DIR": "/srv/models", "DEJPEG_MAX_UPLOAD_BYTES": "1000",
        "DEJPEG_MAX_PIXELS": "2000", "DEJPEG_MAX_CONCURRENT": "3", "DEJPEG_MAX_QUEUE": "0",
        "DEJPEG_QUEUE_TIMEOUT_S": "2.5",
        "DEJPEG_CORS_ORIGINS": "http://a.example, http://b.example", "PORT": "5077"})
    assert c.models_dir == Path("/srv/models")
    assert (c.max_upload_bytes, c.max_pixels, c.max_concurrent, c.max_queue) == (1000, 2000, 3, 0)
    assert c.queue_timeout_s == 2.5
    assert c.cors_origins == ("http://a.example", "http://b.example")
    assert c.port == 5077


@pytest.mark.parametrize("var, value", [("PORT", "http"), ("DEJPEG_MAX_PIXELS", "0"),
                                        ("DEJPEG_MAX_CONCURRENT", "-1"),
                                        ("DEJPEG_QUEUE_TIMEOUT_S", "soon")])
def test_bad_values_are_named(var, value):
    with pytest.raises(ConfigError):
        Config.from_env({var: value})


def test_numpy_blas_is_limited_to_one_thread_unless_told_otherwise():
    """dejpeg sets OPENBLAS_NUM_THREADS=1 before NumPy loads (spinning BLAS threads cut the
    server's throughput by ~3x under concurrent requests); an explicit setting wins."""
    import os
    import subprocess
    import sys
    code = "import os, dejpeg; print(os.environ['OPENBLAS_NUM_THREADS'])"
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "1"
    out = subprocess.run([sys.executable, "-c", code], env={**env, "OPENBLAS_NUM_THREADS": "2"},
                         capture_output=True, text=True)
    assert out.stdout.strip() == "2"
