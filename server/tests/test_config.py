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
