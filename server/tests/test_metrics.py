"""Evaluation metrics (dejpeg.metrics): PSNR, SSIM and PSNR-B on uint8 RGB arrays.

PSNR is computed on the RGB values, PSNR-B (as Yim & Bovik define it) on luma: the two are
compared on luma (`luma_psnr`), or on grey images, where luma is the grey value itself.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from dejpeg import jpeg, metrics
from dejpeg.features import luma
from images import pattern


@pytest.fixture(scope="module")
def img() -> np.ndarray:
    return pattern(96, 128, seed=3)


def luma_psnr(a: np.ndarray, b: np.ndarray) -> float:
    return metrics.psnr(luma(a), luma(b))


def grey(values: np.ndarray) -> np.ndarray:
    """An RGB image with equal channels, so its luma is `values` itself."""
    return np.repeat(np.asarray(values, np.uint8)[..., None], 3, axis=-1)


# --- PSNR ----------------------------------------------------------------------------------

def test_psnr_identical_is_very_high(img):
    assert metrics.psnr(img, img) > 100


@pytest.mark.parametrize("offset,expected", [(1, 48.13), (5, 34.15), (255, 0.0)])
def test_psnr_of_a_constant_offset(offset, expected):
    a = np.zeros((16, 24, 3), np.uint8)
    b = np.full_like(a, offset)
    assert metrics.psnr(a, b) == pytest.approx(expected, abs=0.01)
    assert metrics.psnr(b, a) == pytest.approx(expected, abs=0.01)
    assert metrics.psnr(a, b) == pytest.approx(20 * math.log10(255 / offset), abs=1e-9)


def test_psnr_no_uint8_wrap_around():
    a = np.full((4, 4, 3), 250, np.uint8)
    b = np.full((4, 4, 3), 10, np.uint8)          # 10 - 250 must not wrap to 16
    assert metrics.psnr(a, b) == pytest.approx(20 * math.log10(255 / 240))


def test_psnr_falls_with_compression(img):
    values = [metrics.psnr(img, jpeg.compress(img, q)) for q in (90, 50, 10)]
    assert values == sorted(values, reverse=True)


# --- SSIM ----------------------------------------------------------------------------------

def test_ssim_identical_is_one(img):
    assert metrics.ssim(img, img) == pytest.approx(1.0)


def test_ssim_falls_with_compression(img):
    values = [metrics.ssim(img, jpeg.compress(img, q)) for q in (90, 30, 5)]
    assert 1.0 > values[0] > values[1] > values[2] > 0


# --- PSNR-B --------------------------------------------------------------------------------

def test_psnr_b_below_psnr_when_blocking_dominates(img):
    for q in (5, 10, 20):
        comp = jpeg.compress(img, q)
        assert metrics.psnr_b(img, comp) < luma_psnr(img, comp) - 0.01
    # on a grey image the plain RGB PSNR is the luma one
    g = grey(luma(img))
    comp = jpeg.compress(g, 10)
    assert metrics.psnr_b(g, comp) < metrics.psnr(g, comp) - 0.01


def test_psnr_b_known_value_for_pure_blocking():
    """8x8 blocks alternating 100 / 110: every pair across a block boundary differs by 10,
    none inside.  D_B = 100, D_Bc = 0, eta = log2(8) / log2(64) = 1/2, so BEF = 50 and,
    against itself (MSE 0), PSNR-B = 10 log10(255^2 / 50)."""
    yy, xx = np.mgrid[0:64, 0:64]
    test = grey(np.where((yy // 8 + xx // 8) % 2 == 0, 100, 110))
    assert metrics.psnr_b(test, test) == pytest.approx(10 * math.log10(255 ** 2 / 50), abs=1e-3)


def test_psnr_b_equals_psnr_without_block_boundary_excess(img):
    ref = grey(luma(img))
    yy, xx = np.mgrid[0:96, 0:128]
    tests = {
        # a linear ramp: every neighbouring difference is the same, on boundaries or not
        "ramp": grey(np.broadcast_to(np.arange(128) * 2, (96, 128))),
        # stronger differences inside the blocks than across their boundaries
        "inner": grey(np.where((xx % 8 == 3) | (yy % 8 == 5), 200, 50)),
        "flat": grey(np.full((96, 128), 128)),
    }
    for name, test in tests.items():
        assert metrics.psnr_b(ref, test) == pytest.approx(metrics.psnr(ref, test), abs=1e-4), name
        assert metrics.psnr_b(img, test) == pytest.approx(luma_psnr(img, test), abs=1e-4), name


# --- detail -------------------------------------------------------------------------------

def test_detail_of_the_reference_itself_is_100(img):
    assert metrics.detail(img, img) == pytest.approx(100.0)


def test_detail_falls_with_compression_and_blur(img):
    from PIL import Image, ImageFilter
    blurred = np.asarray(Image.fromarray(img).filter(ImageFilter.GaussianBlur(1.5)))
    q90, q10 = (metrics.detail(img, jpeg.compress(img, q)) for q in (90, 10))
    assert 100 > q90 > q10 > 0
    assert metrics.detail(img, blurred) < 50


def test_detail_counts_added_grain_above_100(img):
    noisy = np.clip(img + np.random.default_rng(0).normal(0, 8, img.shape), 0, 255).astype(np.uint8)
    assert metrics.detail(img, noisy) > 100


def test_detail_ignores_brightness():
    # a brightness change moves only the DC coefficients: the fine detail is all still there
    img = pattern(96, 128, seed=4) // 2 + 60
    assert metrics.detail(img, img + 30) == pytest.approx(100.0, abs=0.01)


# --- lattice ------------------------------------------------------------------------------

def checkerboard(shape, period: int, amplitude: float) -> np.ndarray:
    """A faint pattern repeating every `period` pixels on both axes, as a transposed conv prints."""
    tile = np.random.default_rng(period).uniform(-1, 1, (period, period))
    tile -= tile.mean()
    y = np.tile(tile, (shape[0] // period + 1, shape[1] // period + 1))[:shape[0], :shape[1]]
    return (amplitude * y / np.abs(y).max())[..., None]


def test_lattice_is_near_zero_for_a_picture_and_its_jpeg(img):
    assert metrics.lattice(img) < 1.0
    assert metrics.lattice(jpeg.compress(img, 10)) < 1.0


@pytest.mark.parametrize("period", [2, 4])
def test_lattice_finds_a_faint_checkerboard_that_grain_does_not_imitate(img, period):
    # a pattern of +-3 grey levels on a busy picture: over 20 times the picture's own score ...
    faint = np.clip(img + checkerboard(img.shape, period, 3.0), 0, 255).astype(np.uint8)
    assert metrics.lattice(faint) > 20 * max(metrics.lattice(img), 0.25)
    # ... while random grain, much stronger, spreads its energy over all frequencies
    noisy = np.clip(img + np.random.default_rng(1).normal(0, 8, img.shape), 0, 255).astype(np.uint8)
    assert metrics.lattice(noisy) < 1.0
    # and the score does not depend on where the picture was cut
    assert metrics.lattice(faint[1:-2, 3:]) == pytest.approx(metrics.lattice(faint), rel=0.25)
