"""Image quality metrics for evaluation: PSNR, SSIM, PSNR-B, detail and lattice (uint8 RGB arrays)."""
from __future__ import annotations

import numpy as np

from .features import block_dct, luma


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM over RGB channels (Wang et al. 2004, Gaussian window), via scikit-image."""
    from skimage.metrics import structural_similarity
    return float(structural_similarity(a, b, channel_axis=-1, data_range=255,
                                       gaussian_weights=True, sigma=1.5, use_sample_covariance=False))


def psnr_b(reference: np.ndarray, test: np.ndarray, block: int = 8) -> float:
    """PSNR-B of Yim & Bovik (IEEE TIP 2011) on luma: PSNR with a blocking-effect factor.

    BEF = eta * (D_B - D_Bc) when blocking dominates, where D_B is the mean squared
    difference of neighbouring pixels across 8x8 block boundaries and D_Bc across the other
    pixel pairs, and eta = log2(B) / log2(min(H, W)).
    """
    x = luma(reference).astype(np.float64)
    y = luma(test).astype(np.float64)
    h, w = y.shape
    dh = (y[:, :-1] - y[:, 1:]) ** 2            # pair between column j and j + 1
    dv = (y[:-1, :] - y[1:, :]) ** 2
    bh = (np.arange(w - 1) % block) == block - 1
    bv = (np.arange(h - 1) % block) == block - 1
    boundary = dh[:, bh].sum() + dv[bv, :].sum()
    n_b = dh[:, bh].size + dv[bv, :].size
    other = dh[:, ~bh].sum() + dv[~bv, :].sum()
    n_bc = dh[:, ~bh].size + dv[~bv, :].size
    d_b, d_bc = boundary / max(n_b, 1), other / max(n_bc, 1)
    eta = np.log2(block) / np.log2(min(h, w)) if d_b > d_bc else 0.0
    mse = np.mean((x - y) ** 2) + eta * (d_b - d_bc)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


def detail(reference: np.ndarray, test: np.ndarray, band: int = 4) -> float:
    """Fine detail kept: high-frequency energy of `test` as a % of the reference's (luma).

    Energy of the 8x8 block DCT coefficients (u, v) with u + v >= `band`, blocks on the JPEG
    grid of the image's top-left corner.  JPEG at low quality zeroes most of these, a
    smoothing restorer leaves them low, a crisper one brings them back: 100 is as much detail
    as the reference, above 100 more (noise or exaggerated texture).  It says nothing about
    whether the detail is the right one; PSNR and SSIM do.
    """
    h, w = (min(a, b) // 8 * 8 for a, b in zip(reference.shape[:2], test.shape[:2]))
    high = (np.add.outer(np.arange(8), np.arange(8)) >= band).ravel()
    energy = [float((block_dct(luma(x)[:h, :w])[..., high] ** 2).sum()) for x in (reference, test)]
    return 100.0 * energy[1] / max(energy[0], 1e-12)


def lattice(test: np.ndarray, period: int = 4) -> float:
    """Checkerboard: % of the luma's high-pass energy on the frequencies of a `period` lattice.

    A U-Net that upsamples by stride-2 transposed convolutions can print a faint pattern that
    repeats every 2 or 4 pixels, and an adversarial term may grow it.  Such a pattern's energy
    lies on the Fourier lines k/period cycles a pixel (k = 0 .. period-1) of both axes, where a
    photograph has almost none: the share of the high-pass (discrete Laplacian) energy found
    there.  Needs no reference.  JPEG's 8x8 blocking has its even harmonics on these lines
    too: a QF 10 JPEG, whose fine energy is mostly elsewhere, scores about as low as its
    original, but a filter that smooths all but faint block edges (ffmpeg's spp) scores high.
    """
    y = luma(test).astype(np.float64)
    h, w = (s // period * period for s in y.shape[:2])
    y = y[:h, :w]
    high = y - (np.roll(y, 1, 0) + np.roll(y, -1, 0) + np.roll(y, 1, 1) + np.roll(y, -1, 1)) / 4
    power = np.abs(np.fft.fft2(high)) ** 2
    on = power[np.ix_(np.arange(0, h, h // period), np.arange(0, w, w // period))].sum()
    return 100.0 * float(on - power[0, 0]) / max(float(power.sum()), 1e-12)
