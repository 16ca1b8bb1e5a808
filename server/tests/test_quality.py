"""Quality factors: IJG tables from Pillow's own encoder, and the pixel estimate."""
import io

import numpy as np
import pytest
from PIL import Image

from dejpeg import jpeg, quality


def photo_like(seed=0, size=384):
    rng = np.random.default_rng(seed)
    x = np.cumsum(np.cumsum(rng.normal(0, 1, (size, size, 3)), axis=0), axis=1)
    x = (x - x.min()) / (x.max() - x.min()) * 200 + 20
    return x.astype(np.uint8)


@pytest.mark.parametrize("q", [5, 10, 25, 50, 75, 90, 95, 100])
def test_quality_from_pillow_tables_is_exact(q):
    buf = io.BytesIO()
    Image.fromarray(photo_like()).save(buf, "JPEG", quality=q)
    table = Image.open(io.BytesIO(buf.getvalue())).quantization[0]
    assert quality.quality_from_table(table) == (q, True)


def test_zigzag_order_is_handled():
    t = quality.ijg_table(30)
    assert quality.quality_from_table(t[quality.ZIGZAG], natural_order=False) == (30, True)


def test_ijg_table_values():
    assert list(quality.ijg_table(50)[:4]) == [16, 11, 10, 16]
    assert quality.ijg_table(100).max() == 1
    assert quality.ijg_table(1).max() == 255


@pytest.mark.parametrize("q", [10, 20, 40, 60, 80, 90])
def test_quality_from_pixels_is_close(q):
    from skimage.data import astronaut     # a real photograph shipped with scikit-image
    comp = jpeg.compress(astronaut(), q)
    assert abs(quality.quality_from_pixels(comp) - q) <= 2


def test_quality_from_pixels_after_a_crop():
    from skimage.data import astronaut
    comp = jpeg.compress(astronaut(), 35)[3:, 5:]
    assert abs(quality.quality_from_pixels(comp, offset=(3, 5)) - 35) <= 2


def test_grid_and_quality_without_the_cnn():
    from skimage.data import astronaut
    comp = jpeg.compress(astronaut(), 60)[5:, 2:]           # cropped: grid at (6, 3)
    offset, q = quality.grid_and_quality(comp)
    assert offset == (6, 3) and abs(q - 60) <= 2
    assert quality.grid_and_quality(astronaut()[5:, 2:]) == ((0, 0), None)   # no JPEG grid


@pytest.mark.parametrize("q", [30, 75, 95])
def test_table_fit_tells_a_jpeg_from_a_clean_picture(q):
    """On a JPEG's grid the coefficients sit on its quantisers' multiples far more often than
    chance, QF 95 (quantisers 1-3, hardly any zeros) included; a clean picture's do not."""
    from skimage.data import astronaut
    clean = astronaut()[:256, :256]
    comp = jpeg.compress(clean, q)
    ac = quality.grid_coefficients(comp)
    assert quality.quality_from_coefficients(ac) == q
    assert quality.table_fit(ac, q) > 0.2
    assert abs(quality.table_fit(quality.grid_coefficients(clean), q)) < 0.1
    # off the grid the multiples are gone
    shifted = quality.grid_coefficients(comp, (3, 5))
    assert quality.table_fit(shifted, q) < quality.table_fit(ac, q) / 2
    assert quality.table_fit(None, q) == 0.0 and quality.table_fit(ac, None) == 0.0
