"""Restorer losses (dejpeg.losses): MS-SSIM, content loss, gradients, adversarial losses.

The losses are written with keras.ops; gradients need a backend, and the test suite runs on
TensorFlow, so tf.GradientTape is used here (in the tests only).  VGG-19 is never loaded:
its weights are not on our machines; only the look-up of the weights file is tested.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import ops  # noqa: E402

from dejpeg import losses  # noqa: E402


def images(n: int = 2, side: int = 64, seed: int = 0, w: int | None = None) -> np.ndarray:
    """Smooth textured images in [-1, 1] (MS-SSIM needs structure to be meaningful)."""
    rng = np.random.default_rng(seed)
    w = w or side
    y, x = np.mgrid[0:side, 0:w].astype(np.float32)
    out = []
    for i in range(n):
        phase = rng.uniform(0, 6, 3)
        img = np.stack([np.sin(x / (4 + c) + phase[c]) * np.cos(y / (5 + c)) for c in range(3)], -1)
        out.append(0.8 * img + rng.normal(0, 0.05, img.shape))
    return np.clip(np.stack(out), -1, 1).astype(np.float32)


def noisy(x: np.ndarray, sigma: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(x + rng.normal(0, sigma, x.shape), -1, 1).astype(np.float32)


def value(t) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(t))


# --- MS-SSIM -------------------------------------------------------------------------------

@pytest.mark.parametrize("side,expected", [(11, 1), (21, 1), (22, 2), (44, 3), (64, 3),
                                           (87, 3), (88, 4), (96, 4), (161, 4), (175, 4),
                                           (176, 5), (1024, 5)])
def test_scales_for(side, expected):
    assert losses.scales_for(side) == expected


def test_scales_for_fits_the_window_and_is_maximal():
    """Every scale's image (side // 2**i after i 2x2 poolings) holds an 11x11 window, and
    one scale more would not fit (or 5 scales, the published maximum, are reached)."""
    for side in range(11, 600):
        n = losses.scales_for(side)
        assert 1 <= n <= 5
        assert side // 2 ** (n - 1) >= losses.WINDOW
        assert n == 5 or side // 2 ** n < losses.WINDOW


@pytest.mark.parametrize("side,w", [(11, 11), (22, 30), (64, 64), (96, 80), (176, 176)])
def test_ms_ssim_of_an_image_with_itself_is_one(side, w):
    x = images(2, side, w=w)
    s = value(losses.ms_ssim(x, x))
    assert s.shape == (2,)
    np.testing.assert_allclose(s, 1.0, atol=1e-4)


def test_ms_ssim_decreases_with_noise():
    x = images(2, 96)
    scores = [float(np.mean(value(losses.ms_ssim(x, noisy(x, s))))) for s in (0.02, 0.1, 0.3, 0.6)]
    assert all(a > b for a, b in zip(scores, scores[1:])), scores
    assert scores[0] > 0.99 and scores[-1] < 0.85
    assert all(0 <= s <= 1 for s in scores)


def test_ms_ssim_is_symmetric_and_per_image():
    x, y = images(2, 64, seed=2), noisy(images(2, 64, seed=2), 0.2)
    np.testing.assert_allclose(value(losses.ms_ssim(x, y)), value(losses.ms_ssim(y, x)), atol=1e-5)
    # only the second image differs: only its score drops
    mixed = np.stack([x[0], y[1]])
    s = value(losses.ms_ssim(x, mixed))
    assert s[0] > 0.9999 and s[1] < 0.95


def test_ms_ssim_weights_renormalise():
    """Fewer scales renormalise the published weights: an image scores the same whether one
    scale is used explicitly or implied by its side."""
    x = images(1, 64)
    y = noisy(x, 0.1)
    np.testing.assert_allclose(value(losses.ms_ssim(x, y)), value(losses.ms_ssim(x, y, scales=3)),
                               rtol=1e-6)
    assert abs(float(value(losses.ms_ssim(x, y, scales=1))[0])
               - float(value(losses.ms_ssim(x, y, scales=3))[0])) > 1e-4


# --- content loss and gradients ------------------------------------------------------------

def test_l1():
    a = np.zeros((1, 4, 4, 3), np.float32)
    assert float(value(losses.l1(a, a + 0.25))) == pytest.approx(0.25)


def test_content_loss_zero_for_identical_positive_otherwise():
    loss = losses.content_loss()
    assert loss.__name__ == "content"
    x = images(2, 64)
    assert abs(float(value(loss(x, x)))) < 1e-4
    values = [float(value(loss(x, noisy(x, s)))) for s in (0.05, 0.2, 0.5)]
    assert all(v > 0 for v in values)
    assert values == sorted(values), "more noise, more loss"


def test_content_loss_mix():
    """L1 / 2 (L1 of [-1, 1] images halved to the [0, 1] scale) + 0.5 (1 - MS-SSIM)."""
    x = images(2, 64)
    y = noisy(x, 0.2)
    expected = (0.5 * (1 - float(np.mean(value(losses.ms_ssim(x, y)))))
                + float(value(losses.l1(x, y))) / 2)
    assert float(value(losses.content_loss()(x, y))) == pytest.approx(expected, rel=1e-5)


def test_content_loss_adds_the_vgg_term():
    calls = []

    def fake_vgg(y_true, y_pred):
        calls.append(1)
        return ops.convert_to_tensor(5.0)

    x = images(1, 32)
    y = noisy(x, 0.1)
    plain = float(value(losses.content_loss()(x, y)))
    with_vgg = float(value(losses.content_loss(fake_vgg, vgg_weight=0.01)(x, y)))
    assert calls and with_vgg == pytest.approx(plain + 0.05, rel=1e-5)


# --- lattice ---------------------------------------------------------------------------------

def stripes(side: int, amplitude: float, checker: bool = False) -> np.ndarray:
    """A pattern one pixel apart: vertical stripes, or a checkerboard."""
    y, x = np.mgrid[0:side, 0:side]
    sign = (-1.0) ** ((x + y) if checker else x)
    return np.repeat((amplitude * sign)[None, :, :, None], 3, axis=-1).astype(np.float32)


def test_lattice_is_the_square_of_the_patterns_high_pass():
    """Stripes of amplitude a keep amplitude a through the Laplacian, a checkerboard doubles:
    the loss is a**2 and 4 a**2, whatever the picture under them."""
    x = images(2, 64)
    a = 0.01
    assert float(value(losses.lattice(x, x))) == pytest.approx(0.0, abs=1e-12)
    assert float(value(losses.lattice(x, x + stripes(64, a)))) == pytest.approx(a * a, rel=1e-3)
    assert float(value(losses.lattice(x, x + stripes(64, a, checker=True)))) == pytest.approx(4 * a * a, rel=1e-3)
    # periods 2 and 4 see a period-2 pattern alike; an offset of the whole picture is no pattern
    assert float(value(losses.lattice(x, x + stripes(64, a), period=2))) == pytest.approx(a * a, rel=1e-3)
    assert float(value(losses.lattice(x, x + 0.1))) == pytest.approx(0.0, abs=1e-10)


def test_lattice_ignores_an_error_without_a_period():
    """Grain of the same strength as the stripes, but with no period, averages out in the
    phases: on 128 px (1,024 pixels a phase) it costs a few % of what the stripes cost."""
    x = images(2, 128)
    rng = np.random.default_rng(3)
    grain = rng.normal(0, 0.01, x.shape).astype(np.float32)
    assert float(value(losses.lattice(x, x + grain))) < 0.05 * float(value(losses.lattice(x, x + stripes(128, 0.01))))


def test_content_loss_adds_the_lattice_term():
    x = images(2, 64)
    y = noisy(x, 0.05) + stripes(64, 0.02)
    plain = float(value(losses.content_loss()(x, y)))
    weighted = float(value(losses.content_loss(lattice_weight=100.0)(x, y)))
    assert weighted == pytest.approx(plain + 100.0 * float(value(losses.lattice(x, y))), rel=1e-5)
    assert weighted > plain + 100.0 * 0.02 ** 2 * 0.9


# --- texture ---------------------------------------------------------------------------------

def test_texture_asks_for_detail_of_the_right_strength_not_place():
    """A target with grain: the same grain elsewhere (rolled) costs far less than no grain
    (a smoothed output, what L1 alone settles for), and much less than twice the grain;
    L1 ranks the rolled grain below the smooth output.  (Not zero: the strength of random grain in one
    8x8 window varies from window to window by about a quarter.)"""
    rng = np.random.default_rng(5)
    base = images(2, 64, seed=1)
    grain = rng.normal(0, 0.05, base.shape[:3] + (1,)).astype(np.float32)
    target = base + grain
    moved = base + np.roll(grain, (3, 5), axis=(1, 2))
    assert float(value(losses.texture(target, target))) == pytest.approx(0.0, abs=1e-7)
    t_moved, t_smooth, t_double = (float(value(losses.texture(target, y)))
                                   for y in (moved, base, base + 2 * grain))
    assert t_moved < 0.35 * t_smooth and t_moved < 0.35 * t_double
    assert float(value(losses.l1(target, moved))) > float(value(losses.l1(target, base)))


def test_texture_looks_at_luma():
    """Grain in colour only (in red and blue, weighted so that the luma does not move)
    costs little next to the same grain in grey."""
    rng = np.random.default_rng(6)
    base = images(1, 64, seed=2)
    grain = rng.normal(0, 0.05, base.shape[:3]).astype(np.float32)
    grey = base + grain[..., None]
    colour = base + np.stack([grain * 0.114, np.zeros_like(grain), -grain * 0.299], -1)
    assert float(value(losses.texture(base, colour))) < 0.1 * float(value(losses.texture(base, grey)))


def test_texture_from_half_size_cannot_be_paid_with_a_two_pixel_pattern():
    """`first=1`: a checkerboard (what a stride-2 transposed convolution draws most cheaply)
    adds to a smooth picture's texture at full size but not from half size on, where grain
    of a coarser kind still counts."""
    base = images(2, 64, seed=3)
    yy, xx = np.mgrid[:64, :64]
    checker = (0.05 * (-1.0) ** (yy + xx))[None, :, :, None].astype(np.float32)
    blotches = np.kron(np.random.default_rng(7).normal(0, 0.05, (2, 16, 16, 1)),
                       np.ones((1, 4, 4, 1))).astype(np.float32)
    assert float(value(losses.texture(base, base + checker))) > 0.3
    assert float(value(losses.texture(base, base + checker, first=1))) < 1e-3
    assert float(value(losses.texture(base, base + blotches, first=1))) > 0.15


def test_content_loss_adds_the_texture_term():
    x = images(2, 64)
    y = noisy(x, 0.05)
    plain = float(value(losses.content_loss()(x, y)))
    weighted = float(value(losses.content_loss(texture_weight=3.0)(x, y)))
    assert weighted == pytest.approx(plain + 3.0 * float(value(losses.texture(x, y))), rel=1e-5)
    assert weighted > plain
    coarse = float(value(losses.content_loss(texture_weight=3.0, texture_first=1)(x, y)))
    assert coarse == pytest.approx(plain + 3.0 * float(value(losses.texture(x, y, first=1))),
                                   rel=1e-5)


def test_gradients_flow():
    tf = pytest.importorskip("tensorflow")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("gradients are computed with TensorFlow here")
    x = tf.constant(images(2, 64))
    y = tf.Variable(noisy(images(2, 64), 0.2))
    for fn in (losses.content_loss(), lambda a, b: 1 - ops.mean(losses.ms_ssim(a, b)), losses.l1,
               losses.lattice, losses.texture):
        with tf.GradientTape() as tape:
            loss = fn(x, y)
        g = tape.gradient(loss, y)
        assert g is not None
        g = g.numpy()
        assert np.all(np.isfinite(g)) and np.abs(g).max() > 0
    # one gradient step on the content loss lowers it
    loss_fn = losses.content_loss()
    with tf.GradientTape() as tape:
        before = loss_fn(x, y)
    g = tape.gradient(before, y)
    y.assign(y - 0.5 * g / tf.reduce_max(tf.abs(g)) * 0.05)
    assert float(loss_fn(x, y)) < float(before)
    # at the optimum the gradient is finite (no 0/0 in the SSIM terms)
    z = tf.Variable(x)
    with tf.GradientTape() as tape:
        at_optimum = loss_fn(x, z)
    assert np.all(np.isfinite(tape.gradient(at_optimum, z).numpy()))


# --- VGG weights look-up ---------------------------------------------------------------------

def test_vgg19_weights_path_none_when_absent(monkeypatch, tmp_path):
    monkeypatch.delenv("DEJPEG_VGG19_WEIGHTS", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty"))
    assert losses.vgg19_weights_path() is None
    # a variable pointing at a missing file is not a path either
    monkeypatch.setenv("DEJPEG_VGG19_WEIGHTS", str(tmp_path / "missing.h5"))
    assert losses.vgg19_weights_path() is None


def test_vgg19_weights_path_from_the_variable(monkeypatch, tmp_path):
    weights = tmp_path / "vgg.h5"
    weights.write_bytes(b"not really weights")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty"))
    monkeypatch.setenv("DEJPEG_VGG19_WEIGHTS", str(weights))
    assert losses.vgg19_weights_path() == weights


def test_vgg19_weights_path_from_the_keras_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("DEJPEG_VGG19_WEIGHTS", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    cached = tmp_path / "models/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
    cached.parent.mkdir()
    cached.write_bytes(b"x")
    assert losses.vgg19_weights_path() == cached
    # the variable wins over the cache
    other = tmp_path / "other.h5"
    other.write_bytes(b"y")
    monkeypatch.setenv("DEJPEG_VGG19_WEIGHTS", str(other))
    assert losses.vgg19_weights_path() == other


# --- adversarial losses ----------------------------------------------------------------------

def logits(v: float, shape=(2, 4, 4, 1)) -> np.ndarray:
    return np.full(shape, v, np.float32)


def test_critic_loss():
    confident_right = float(value(losses.critic_loss(logits(10), logits(-10))))
    confident_wrong = float(value(losses.critic_loss(logits(-10), logits(10))))
    unsure = float(value(losses.critic_loss(logits(0), logits(0))))
    assert confident_right < 1e-3
    assert confident_wrong > 15
    assert unsure == pytest.approx(2 * math.log(2), rel=1e-4)
    # each half counts: fooled on fakes only
    half = float(value(losses.critic_loss(logits(10), logits(10))))
    assert 9 < half < 11


def test_generator_adversarial():
    y = np.zeros((2, 32, 32, 3), np.float32)       # unused: the Keras loss signature
    fooled = float(value(losses.generator_adversarial(y, logits(10))))
    caught = float(value(losses.generator_adversarial(y, logits(-10))))
    unsure = float(value(losses.generator_adversarial(y, logits(0))))
    assert fooled < 1e-3 < caught and caught > 9
    assert unsure == pytest.approx(math.log(2), rel=1e-4)
    # non-saturating: the gradient does not vanish when the critic is sure of a fake
    tf = pytest.importorskip("tensorflow")
    if keras.backend.backend() == "tensorflow":
        z = tf.Variable(logits(-10))
        with tf.GradientTape() as tape:
            loss = losses.generator_adversarial(y, z)
        assert np.abs(tape.gradient(loss, z).numpy()).mean() > 1e-3
