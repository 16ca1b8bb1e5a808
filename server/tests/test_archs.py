"""The networks of dejpeg.archs: shapes, identity at initialisation, .keras round trips.

Full-size generators are built (their shapes are what the server relies on) but only run
on tiny inputs; the detector is C_Tiny at width 4.
"""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from dejpeg import archs  # noqa: E402
from dejpeg.features import BINS  # noqa: E402

GENERATORS = {
    "g_small": (lambda **kw: archs.g_small(**kw), 8),
    "g_small_resize": (lambda **kw: archs.g_small(resize=True, **kw), 8),
    "g_zhao": (lambda **kw: archs.g_zhao(**kw), 16),
}


def rgb_batch(n: int, h: int, w: int, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-scale, scale, (n, h, w, 3)).astype(np.float32)


def perturb(model, seed: int = 0, scale: float = 0.3, every: bool = False):
    """Give every zero-initialised kernel (or `every` kernel) random values."""
    rng = np.random.default_rng(seed)
    for v in model.weights:
        value = np.asarray(v)
        if value.ndim >= 2 and (every or not value.any()):
            v.assign(rng.normal(0, scale, value.shape).astype(np.float32))


@pytest.fixture(scope="module")
def generators():
    keras.utils.set_random_seed(1)
    return {name: build() for name, (build, _) in GENERATORS.items()}


# --- C_Tiny --------------------------------------------------------------------------------

def test_c_tiny_shapes_and_softmax():
    model = archs.c_tiny(width=4)
    assert tuple(model.input_shape) == (None, BINS, 64, 1) == (None, 120, 64, 1)
    assert tuple(model.output_shape) == (None, len(archs.CLASSES)) == (None, 3)
    x = np.random.default_rng(0).random((5, 120, 64, 1)).astype(np.float32)
    p = np.asarray(model(x, training=False))
    assert p.shape == (5, 3)
    assert np.all(p >= 0) and np.all(p <= 1)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert archs.CLASSES == ("uncompressed", "single", "double")


def test_c_tiny_width_scales_the_convolutions():
    convs = [l for l in archs.c_tiny(width=4).layers if isinstance(l, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [4, 4, 8, 16]
    assert all(c.kernel_size == (5, 5) for c in convs)


# --- generators ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(GENERATORS))
def test_generator_keeps_the_shape(generators, name):
    model, mult = generators[name], GENERATORS[name][1]
    for h, w in [(mult, mult), (2 * mult, 3 * mult), (48, 32)]:
        x = rgb_batch(1, h, w)
        assert np.asarray(model(x, training=False)).shape == (1, h, w, 3)


@pytest.mark.parametrize("name", list(GENERATORS))
def test_multiple(generators, name):
    assert archs.multiple(generators[name]) == GENERATORS[name][1]


def test_multiple_of_other_models():
    assert archs.multiple(archs.c_tiny(width=4)) == 1        # no stride-2 convolution
    assert archs.multiple(archs.unet((4, 8))) == 4
    assert archs.multiple(archs.unet((4, 8, 8, 8, 8))) == 32


@pytest.mark.parametrize("name", list(GENERATORS))
def test_residual_generator_starts_as_the_identity(generators, name):
    model = generators[name]
    x = rgb_batch(2, 32, 32, seed=3)
    np.testing.assert_allclose(np.asarray(model(x, training=False)), x, atol=1e-6)
    # beyond [-1, 1] the identity is clipped
    big = rgb_batch(1, 32, 32, seed=4, scale=3.0)
    np.testing.assert_allclose(np.asarray(model(big, training=False)), np.clip(big, -1, 1),
                               atol=1e-6)


def test_non_residual_generator_is_not_the_identity():
    model = archs.unet((8, 16, 32), residual=False)
    x = rgb_batch(1, 16, 16)
    assert np.abs(np.asarray(model(x, training=False)) - x).max() > 0.05


@pytest.mark.parametrize("residual", [True, False])
def test_outputs_stay_in_range(residual):
    """With large random weights the pre-clip sum leaves [-1, 1]; the output never does."""
    model = archs.unet((8, 16, 32), residual=residual)
    perturb(model, scale=1.0, every=True)
    x = rgb_batch(2, 24, 40, seed=5)
    extreme = 0.0
    for inp in (x, 3 * x):
        for training in (False, True):
            out = np.asarray(model(inp, training=training))
            assert out.min() >= -1.0 and out.max() <= 1.0
            extreme = max(extreme, float(np.abs(out).max()))
    assert extreme > 0.999, "the test must drive outputs to the bounds"


# --- critic --------------------------------------------------------------------------------

def test_critic_outputs_a_logit_map():
    model = archs.critic()
    for h, w in [(32, 32), (64, 40)]:
        jpeg, cand = rgb_batch(2, h, w, seed=1), rgb_batch(2, h, w, seed=2)
        logits = np.asarray(model([jpeg, cand], training=False))
        assert logits.shape == (2, h // 8, w // 8, 1)
        assert np.all(np.isfinite(logits))
        # logits, not probabilities: no sigmoid at the end
        assert model.get_layer("logits").activation is keras.activations.linear


# --- save / load -------------------------------------------------------------------------

def _round_trip(model, tmp_path, inputs):
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)     # no custom objects
    before = model(inputs, training=False)
    after = loaded(inputs, training=False)
    if isinstance(before, (list, tuple)):
        before, after = before[0], after[0]
    np.testing.assert_array_equal(np.asarray(before), np.asarray(after))
    return loaded


@pytest.mark.parametrize("name", list(GENERATORS))
def test_generator_round_trip(tmp_path, name):
    model = GENERATORS[name][0]()
    perturb(model, seed=7, scale=0.1)      # else both sides are the identity, trivially equal
    x = rgb_batch(1, 32, 48, seed=8)
    assert np.abs(np.asarray(model(x, training=False)) - x).max() > 1e-3
    loaded = _round_trip(model, tmp_path, x)
    assert archs.multiple(loaded) == GENERATORS[name][1]
    assert loaded.name == model.name


@pytest.mark.parametrize("name", list(GENERATORS))
def test_noise_input_starts_as_the_network_it_copies(tmp_path, name):
    """`noise=0`: a second input, a noise map, whose projections start at zero, so with a
    trained network's weights (`copy_weights`) it computes that network whatever the noise;
    with projections of some spread the same noise gives the same output and other noise
    another; the side multiple is the network's own, and it survives a .keras round trip."""
    build, mult = GENERATORS[name]
    plain = build()
    perturb(plain, seed=5, scale=0.1)
    noisy = build(noise=0.0)
    archs.copy_weights(plain, noisy)
    x = rgb_batch(2, 32, 48, seed=6)
    noise = [np.random.default_rng(s).standard_normal((2, 32, 48, 1)).astype(np.float32)
             for s in (1, 2)]
    want = np.asarray(plain(x, training=False))
    for n in noise:
        np.testing.assert_allclose(np.asarray(noisy([x, n], training=False)), want, atol=1e-5)
    assert archs.multiple(noisy) == mult

    grainy = build(noise=0.2)
    archs.copy_weights(plain, grainy)
    one, again, other = (np.asarray(grainy([x, n], training=False))
                         for n in (noise[0], noise[0], noise[1]))
    np.testing.assert_array_equal(one, again)
    assert np.abs(one - other).max() > 1e-3 and np.abs(one - want).max() > 1e-3
    loaded = _round_trip(grainy, tmp_path, [x, noise[0]])
    assert archs.multiple(loaded) == mult
    # and back: the noise projections are left out
    back = build()
    archs.copy_weights(grainy, back)
    np.testing.assert_allclose(np.asarray(back(x, training=False)), want, atol=1e-5)


def test_copy_weights_refuses_another_network():
    with pytest.raises(ValueError, match="not the same network"):
        archs.copy_weights(archs.g_small(), archs.g_zhao(noise=0.0))


def test_c_tiny_round_trip(tmp_path):
    x = np.random.default_rng(2).random((3, 120, 64, 1)).astype(np.float32)
    _round_trip(archs.c_tiny(width=4), tmp_path, x)


def train_critic_on_faint_texture(residual_scale, highpass=False):
    """Train a small critic on flat crops (generated) vs. the same with ~2.5 grey levels of
    grain (photos); its final training loss and inference logits on new crops."""
    keras.utils.set_random_seed(0)
    model = archs.critic(filters=(8, 16, 32), residual_scale=residual_scale, highpass=highpass)
    model.compile(optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)

    def batch(n=8):
        jpeg = rng.uniform(-0.8, 0.8, (n, 1, 1, 3)) + np.zeros((n, 32, 32, 3))   # flat
        real = jpeg + rng.normal(0, 0.02, jpeg.shape)
        return jpeg.astype(np.float32), real.astype(np.float32)

    labels = np.concatenate([np.ones((8, 4, 4, 1)), np.zeros((8, 4, 4, 1))]).astype(np.float32)
    for _ in range(200):      # BN's moving statistics settle too
        jpeg, real = batch()
        loss = model.train_on_batch([np.concatenate([jpeg, jpeg]), np.concatenate([real, jpeg])],
                                    labels)
    jpeg, real = batch(16)
    return loss, np.asarray(model([jpeg, real], training=False)), \
        np.asarray(model([jpeg, jpeg], training=False))


def test_critic_learns_to_see_a_faint_texture():
    """Photos differ from restorations by a few grey levels of detail: the critic looks at
    the candidate's correction of the JPEG, scaled, and learns that quickly; fed the
    candidate itself (the first recipe's critic) it stays at chance."""
    loss, real_logits, smooth_logits = train_critic_on_faint_texture(10.0)
    assert loss < 0.1
    # each photo judged more real than its smooth twin (inference mode: moving BN statistics)
    assert np.all(real_logits.mean(axis=(1, 2, 3)) > smooth_logits.mean(axis=(1, 2, 3)))
    plain_loss, _, _ = train_critic_on_faint_texture(None)
    assert plain_loss > 0.6


def test_highpass_critic_sees_only_fine_detail():
    """`highpass=True`: the critic sees the candidate less its 3x3 mean (x the scale), so a
    candidate brighter by a constant is judged exactly alike; and it learns faint grain."""
    model = archs.critic(filters=(8, 16, 32), residual_scale=20.0, highpass=True)
    jpeg, cand = rgb_batch(2, 32, 32, seed=3), rgb_batch(2, 32, 32, seed=4) * 0.5
    np.testing.assert_allclose(np.asarray(model([jpeg, cand])), np.asarray(model([jpeg, cand + 0.3])),
                               atol=1e-5)
    assert not np.allclose(np.asarray(model([jpeg, cand])), np.asarray(model([jpeg, cand * 1.5])),
                           atol=1e-3)
    loss, real_logits, smooth_logits = train_critic_on_faint_texture(20.0, highpass=True)
    assert loss < 0.1
    assert np.all(real_logits.mean(axis=(1, 2, 3)) > smooth_logits.mean(axis=(1, 2, 3)))


def test_critic_round_trip(tmp_path):
    _round_trip(archs.critic(filters=(8, 16, 32)), tmp_path,
                [rgb_batch(1, 32, 32, seed=1), rgb_batch(1, 32, 32, seed=2)])
