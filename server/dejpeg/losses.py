"""Restorer losses in `keras.ops` only (any backend).  Images are RGB in [-1, 1].

- `l1`
- `ms_ssim` (Wang, Simoncelli & Bovik 2003): Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03,
  the published scale weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), renormalised over as
  many scales as the crop allows (each scale's side must be at least the window).
- `VGGFeatures`: distance between VGG-19 ImageNet features of output and target, when the
  weights file is on disk (they cannot be downloaded on our machines).
- `content_loss`: L1 + 0.5 (1 - MS-SSIM) (+ the VGG term when available).  Zhao et al.
  (IEEE TCI 2017) mix 0.84 MS-SSIM with 0.16 L1; with so little L1 our first runs drifted in
  colour (MS-SSIM barely sees a uniform shift; validation PSNR -0.94 dB vs. the input at step
  400, ai-research/results/restorer_training_log.csv),
  so L1 leads here and MS-SSIM adds structure.
- `lattice`: the error's mean fine-detail pattern over each period x period cell, i.e. a
  checkerboard that repeats every 2 or 4 pixels (what `metrics.lattice` measures in the output).
- `texture`: how far (log ratio) the output's local fine-detail strength (RMS of the luma's
  high-pass in small windows, two scales) is from the target's, whatever its exact placement.
- `adversarial` losses for the critic and the generator (non-saturating, on logits).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import keras
from keras import ops

from .features import LUMA_WEIGHTS

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WINDOW = 11


def l1(y_true, y_pred):
    return ops.mean(ops.abs(y_true - y_pred))


def _gaussian_kernel(size: int = WINDOW, sigma: float = 1.5, channels: int = 3):
    x = np.arange(size, dtype=np.float32) - (size - 1) / 2
    g = np.exp(-(x ** 2) / (2 * sigma ** 2))
    k = np.outer(g, g)
    k /= k.sum()
    return np.tile(k[:, :, None, None], (1, 1, channels, 1)).astype(np.float32)


def _ssim_parts(x, y, kernel):
    """Mean SSIM luminance*contrast-structure and contrast-structure terms, images in [0, 1]."""
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    f = lambda t: ops.depthwise_conv(t, kernel, strides=1, padding="valid")
    mx, my = f(x), f(y)
    sxx = f(x * x) - mx * mx
    syy = f(y * y) - my * my
    sxy = f(x * y) - mx * my
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    lum = (2 * mx * my + c1) / (mx * mx + my * my + c1)
    return ops.mean(lum * cs, axis=(1, 2, 3)), ops.mean(cs, axis=(1, 2, 3))


def scales_for(side: int, window: int = WINDOW) -> int:
    """How many MS-SSIM scales fit a crop of `side` pixels (at most 5)."""
    s = 1
    while s < 5 and side // (2 ** s) >= window:
        s += 1
    return s


def ms_ssim(y_true, y_pred, scales: int | None = None):
    """Per-image MS-SSIM of [-1, 1] images (batch, H, W, 3)."""
    x = (y_true + 1.0) / 2.0
    y = (y_pred + 1.0) / 2.0
    side = min(int(x.shape[1]), int(x.shape[2]))
    n = scales or scales_for(side)
    w = np.array(MS_SSIM_WEIGHTS[:n], np.float32)
    w = w / w.sum()
    kernel = _gaussian_kernel(channels=int(x.shape[-1]))
    out = 1.0
    for i in range(n):
        ssim, cs = _ssim_parts(x, y, kernel)
        if i == n - 1:
            out = out * ops.power(ops.relu(ssim) + 1e-6, w[i])
        else:
            out = out * ops.power(ops.relu(cs) + 1e-6, w[i])
            x = ops.average_pool(x, 2, strides=2, padding="valid")
            y = ops.average_pool(y, 2, strides=2, padding="valid")
    return out


def vgg19_weights_path() -> Path | None:
    """The VGG-19 ImageNet weights (no top) if present: $DEJPEG_VGG19_WEIGHTS or the Keras cache."""
    env = os.environ.get("DEJPEG_VGG19_WEIGHTS")
    candidates = [Path(env)] if env else []
    candidates.append(Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
                      / "models/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")
    return next((p for p in candidates if p.is_file()), None)


class VGGFeatures:
    """Mean squared distance between VGG-19 features (layer `layer`) of output and target."""

    def __init__(self, weights: str | Path, layer: str = "block5_conv4"):
        vgg = keras.applications.VGG19(include_top=False, weights=str(weights))
        vgg.trainable = False
        self.model = keras.Model(vgg.input, vgg.get_layer(layer).output)
        # ImageNet preprocessing of the "caffe" VGG weights: BGR, mean subtracted, 0..255
        self.mean = np.array([103.939, 116.779, 123.68], np.float32)

    def _prep(self, x):
        x = (x + 1.0) * 127.5
        return ops.flip(x, axis=-1) - self.mean

    def __call__(self, y_true, y_pred):
        return ops.mean(ops.square(self.model(self._prep(y_true)) - self.model(self._prep(y_pred))))


LAPLACIAN = np.array([[0, -0.25, 0], [-0.25, 1, -0.25], [0, -0.25, 0]], np.float32)


def _laplacian(x):
    """The high-pass of `metrics.lattice` (pixel less the mean of its four neighbours), per
    channel, on the pixels whose neighbours are all inside."""
    kernel = np.tile(LAPLACIAN[:, :, None, None], (1, 1, int(x.shape[-1]), 1))
    return ops.depthwise_conv(x, kernel, strides=1, padding="valid")


def lattice(y_true, y_pred, period: int = 4):
    """Mean square of the error's period x period pattern, per image and channel.

    A stride-2 transposed convolution can print the same faint offset on every output pixel
    of one phase (position mod 2 or 4), and an adversarial term may grow it: a checkerboard or
    stripes one pixel apart.  The error's high-pass (the Laplacian of `metrics.lattice`) is
    averaged over all pixels of each of the period**2 phases; a pattern that repeats with the
    period survives that average, the texture of a photograph (whose phase is random) and the
    error a right restoration leaves average out.  Their squares are the error's energy on the
    period's Fourier lines, where `metrics.lattice` looks in the output.
    """
    channels = int(y_pred.shape[-1])
    high = _laplacian(y_pred - y_true)
    h, w = (int(s) // period * period for s in high.shape[1:3])
    cells = ops.reshape(high[:, :h, :w, :], (-1, h // period, period, w // period, period, channels))
    phases = ops.mean(cells, axis=(1, 3))
    phases = phases - ops.mean(phases, axis=(1, 2), keepdims=True)
    return ops.mean(ops.square(phases))


def _local_rms(y, window: int):
    """RMS of the high-pass (`_laplacian`) of a one-channel batch, over window x window
    squares every window / 2 pixels."""
    energy = ops.average_pool(ops.square(_laplacian(y)), window, strides=window // 2,
                              padding="valid")
    return ops.sqrt(energy + 1e-6)


def texture(y_true, y_pred, window: int = 8, scales: int = 2, first: int = 0,
            floor: float = 0.004):
    """Mean absolute log ratio of the local fine-detail strength of output and target.

    L1 and MS-SSIM are least when the output is the mean of all pictures the JPEG could
    have come from, and that mean is smooth: where the JPEG lost a texture's exact grain they
    leave none.  This term asks only for as much fine detail, window by window, as the
    target has: the RMS of the luma's Laplacian over window x window squares (half
    overlapping), at full size and at each of `scales` - 1 halvings.  It does not care where
    the detail lies, so detail of the right strength costs nothing here though its pixels
    differ.  (The matching of local band energy is the idea of texture statistics, e.g.
    Portilla & Simoncelli 2000, reduced to one statistic.)  The strengths are compared as
    log ratios, so that three times too much grain on a flat sky costs what a third of a
    leaf's grain does (a plain difference let a first trial spread a faint hatch over flat
    areas); `floor` (half a grey level) keeps the log finite where there is no detail at all.
    With `first` = 1 the scales start at half size: the Laplacian answers most to a pattern
    repeating every 2 pixels, the cheapest detail a stride-2 transposed convolution makes,
    which halving by 2x2 means removes, so the term can no longer be paid with it.  The
    smallest size measured must hold a window and the Laplacian's border: crops of at least
    2 ** (first + scales - 1) x (window + 2) pixels (40 for `first=1`).
    """
    luma = ops.convert_to_tensor(LUMA_WEIGHTS.reshape(1, 1, 1, 3))
    a = ops.sum(y_true * luma, axis=-1, keepdims=True)
    b = ops.sum(y_pred * luma, axis=-1, keepdims=True)
    total = 0.0
    for scale in range(first + scales):
        if scale:
            a, b = (ops.average_pool(v, 2, strides=2, padding="valid") for v in (a, b))
        if scale < first:
            continue
        ra, rb = _local_rms(a, window), _local_rms(b, window)
        total = total + ops.mean(ops.abs(ops.log(ra + floor) - ops.log(rb + floor)))
    return total / scales


def content_loss(vgg: VGGFeatures | None = None, vgg_weight: float = 1e-3,
                 lattice_weight: float = 0.0, texture_weight: float = 0.0,
                 texture_first: int = 0):
    """The generator's content loss as a Keras loss function (+ `lattice_weight` x `lattice`
    + `texture_weight` x `texture`, its scales from halving `texture_first`)."""
    def loss(y_true, y_pred):
        value = l1(y_true, y_pred) / 2.0 + 0.5 * (1.0 - ops.mean(ms_ssim(y_true, y_pred)))
        if vgg is not None:
            value = value + vgg_weight * vgg(y_true, y_pred)
        if lattice_weight:
            value = value + lattice_weight * lattice(y_true, y_pred)
        if texture_weight:
            value = value + texture_weight * texture(y_true, y_pred, first=texture_first)
        return value
    loss.__name__ = "content"
    return loss


def critic_loss(real_logits, fake_logits):
    """Binary cross-entropy on logits: real -> 1, generated -> 0."""
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    return bce(ops.ones_like(real_logits), real_logits) + bce(ops.zeros_like(fake_logits), fake_logits)


def generator_adversarial(y_true, fake_logits):
    """Non-saturating generator loss: make the critic call generated crops real."""
    return keras.losses.BinaryCrossentropy(from_logits=True)(ops.ones_like(fake_logits), fake_logits)
