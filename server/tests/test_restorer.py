"""Tiled restorer inference (dejpeg.restorer): sizes, blending, seams, the JPEG grid.

Models here are tiny stand-ins (Keras identity, fixed 1x1 / 3x3 convolutions, plain NumPy
callables): these tests are about the tiling arithmetic, not about restoration quality.
Small tiles (64 px, overlap 16) make even small images cross many tile boundaries.
"""
from __future__ import annotations

import numpy as np
import pytest

from dejpeg import restorer
from dejpeg.restorer import MARGIN, Restorer, ramp, tile_size, tile_starts

TILE, OVERLAP = 64, 16


def textured(h: int, w: int, seed: int = 0, lo: int = 0, hi: int = 255) -> np.ndarray:
    """Smooth structure plus noise, uint8 RGB in lo..hi."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack([np.sin(x / 7.0) * np.cos(y / 5.0), np.cos((x + y) / 9.0),
                     np.sin((x - 2 * y) / 11.0)], axis=-1)
    img = (base + 1) / 2 + rng.normal(0, 0.15, (h, w, 3))
    return np.clip(np.rint(lo + (hi - lo) * img), lo, hi).astype(np.uint8)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """The restorer's own [-1, 1] -> uint8 conversion."""
    return np.clip(np.rint((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


def diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int64) - b.astype(np.int64)).max())


@pytest.fixture(scope="module")
def keras():
    import keras
    return keras


@pytest.fixture(scope="module")
def identity_model(keras):
    return keras.Sequential([keras.Input((None, None, 3)), keras.layers.Identity()])


@pytest.fixture(scope="module")
def box3_model(keras):
    """3x3 mean filter per channel, zero padding: its output is wrong on the tile's border."""
    conv = keras.layers.Conv2D(3, 3, padding="same", use_bias=False)
    model = keras.Sequential([keras.Input((None, None, 3)), conv])
    kernel = np.zeros((3, 3, 3, 3), np.float32)
    for c in range(3):
        kernel[:, :, c, c] = 1.0 / 9.0
    conv.set_weights([kernel])
    return model


def box3_reference(rgb: np.ndarray) -> np.ndarray:
    """The same filter on the whole image, reflected at the image border (no tiles)."""
    x = np.pad(rgb.astype(np.float64) / 127.5 - 1.0, ((1, 1), (1, 1), (0, 0)), mode="symmetric")
    h, w = rgb.shape[:2]
    out = sum(x[i:i + h, j:j + w] for i in range(3) for j in range(3)) / 9.0
    return to_uint8(out)


# --- tile_starts / tile_size ------------------------------------------------------------

def _check_cover(size: int, tile: int, overlap: int, starts: list[int]):
    assert starts[0] == 0
    assert starts[-1] + tile == size, "the last tile ends on the last pixel"
    assert all(s % 8 == 0 for s in starts), starts
    assert all(b > a for a, b in zip(starts, starts[1:])), starts
    # consecutive tiles overlap by at least `overlap` (so everything is covered, too)
    assert all(a + tile - b >= overlap for a, b in zip(starts, starts[1:])), starts


@pytest.mark.parametrize("tile,overlap", [(t, o) for t in (16, 24, 64, 128, 512)
                                          for o in (0, 8, 16, 32) if o < t])
def test_tile_starts_cover_on_multiples_of_8(tile, overlap):
    # precondition, as in Restorer.restore: size, tile and overlap are multiples of 8
    # (an overlap that is not a multiple of 8 is not guaranteed: the starts are rounded to 8)
    for size in range(8, 1600, 8):
        starts = tile_starts(size, tile, overlap)
        if size <= tile:
            assert starts == [0]
        else:
            _check_cover(size, tile, overlap, starts)


@pytest.mark.parametrize("multiple", [8, 16])
@pytest.mark.parametrize("max_tile,overlap", [(64, 16), (128, 32), (512, 32), (512, 64)])
def test_tile_size(max_tile, overlap, multiple):
    for size in range(8, 2100, 8):
        t = tile_size(size, max_tile, overlap, multiple)
        assert t % multiple == 0
        if size <= max_tile:
            assert t >= size and t - size < multiple, "one tile, barely larger than the image"
        else:
            assert t <= max_tile
            # no more tiles than max_tile itself needs, and the tiling it implies is sound
            assert len(tile_starts(size, t, overlap)) <= len(tile_starts(size, max_tile, overlap))
            _check_cover(size, t, overlap, tile_starts(size, t, overlap))


def test_ramp():
    for side, overlap in [(64, 16), (512, 32), (40, 32), (24, 8)]:
        r = ramp(side, overlap)
        assert r.shape == (side,)
        assert np.all(r > 0) and np.all(r <= 1)
        np.testing.assert_allclose(r, r[::-1])                       # symmetric
        if overlap:
            rise = r[:min(overlap, side // 2)]
            assert r[0] < 0.1 and np.all(np.diff(rise) > 0)          # rises from ~0 ...
        inner = r[overlap:side - overlap]
        assert np.all(inner == 1.0)                                  # ... to 1 inside


# --- whole images -------------------------------------------------------------------------

SIZES = [(1, 1), (1, 7), (7, 1), (5, 300), (300, 5), (7, 9), (8, 8), (9, 17), (16, 16),
         (31, 32), (32, 33), (33, 31), (40, 41), (47, 49), (63, 64), (64, 65), (65, 63),
         (100, 131), (257, 513)]
GRIDS = [(0, 0), (3, 5), (7, 1)]


def test_identity_model_gives_the_input_back(identity_model):
    r = Restorer(identity_model, "identity", tile=TILE, overlap=OVERLAP, batch=64)
    for i, (h, w) in enumerate(SIZES):
        rgb = textured(h, w, seed=i)
        for grid in GRIDS:
            out = r.restore(rgb, grid)
            assert out.shape == rgb.shape and out.dtype == np.uint8, (h, w, grid)
            assert diff(out, rgb) <= 1, (h, w, grid)


def test_identity_with_the_default_tile(identity_model):
    r = Restorer(identity_model, "identity", batch=8)        # default tile and overlap
    for h, w in [(3, 4), (479, 481), (480, 495), (500, 1030)]:
        rgb = textured(h, w, seed=h)
        assert diff(r.restore(rgb, (2, 6)), rgb) <= 1


def test_per_pixel_model_tiled_equals_untiled(keras):
    """A 1x1 convolution (a per-pixel function) tiled equals it applied to the whole image:
    the blending weights normalise to 1 everywhere, so no seam whatever the tiling."""
    conv = keras.layers.Conv2D(3, 1, activation="tanh")
    model = keras.Sequential([keras.Input((None, None, 3)), conv])
    mix = np.array([[0.9, -0.4, 0.3], [0.2, 1.1, -0.5], [-0.3, 0.6, 0.8]], np.float32)
    conv.set_weights([mix[None, None], np.array([0.1, -0.2, 0.05], np.float32)])
    r = Restorer(model, "pixel", tile=TILE, overlap=OVERLAP, batch=64)
    for i, (h, w) in enumerate([(1, 1), (5, 300), (33, 31), (65, 63), (150, 97)]):
        rgb = textured(h, w, seed=10 + i)
        whole = to_uint8(np.asarray(model(rgb[None].astype(np.float32) / 127.5 - 1.0))[0])
        for grid in GRIDS:
            out = r.restore(rgb, grid)
            assert out.shape == rgb.shape
            assert diff(out, whole) <= 1, (h, w, grid)


def _box3_runs(model, rgb):
    tiled = Restorer(model, "box3", tile=TILE, overlap=OVERLAP, batch=64).restore(rgb, (0, 0))
    untiled = Restorer(model, "box3", tile=4096, overlap=OVERLAP).restore(rgb, (0, 0))
    return tiled, untiled


def test_position_dependent_model_has_no_seam(box3_model, monkeypatch):
    """A 3x3 filter with zero padding is wrong on each tile's one-pixel border: where tiles
    meet, that border lies inside the neighbouring tile, and the linear ramps give the
    border pixel a weight of 0.5/overlap against ~1 for the neighbour's correct value.

    The check would fail without blending: with box weights (ramp patched to all ones
    below) the wrong border pixels count half, and the seam shows (tens of grey levels).
    """
    rgb = textured(150, 170, seed=3, lo=170, hi=255)    # bright: zero padding hurts most
    ref = box3_reference(rgb)
    tiled, untiled = _box3_runs(box3_model, rgb)
    assert diff(untiled, ref) <= 1, "one tile with reflected context is the plain filter"
    # the zero-padding error itself, as a lone tile shows it on its border: large
    lone = to_uint8(np.asarray(box3_model(rgb[None, :TILE, :TILE].astype(np.float32)
                                          / 127.5 - 1.0))[0])
    border_error = diff(lone[0], ref[0, :TILE])
    assert border_error > 30
    # tiled with blending: within 3 grey levels of the untiled result (3 only where four
    # tiles' corners meet), a tenth of the error a lone tile makes on its border
    err_blend = np.abs(tiled.astype(int) - untiled.astype(int))
    assert err_blend.max() <= 3 and err_blend.max() * 10 <= border_error, err_blend.max()
    assert err_blend.mean() < 0.1

    monkeypatch.setattr(restorer, "ramp", lambda side, overlap: np.ones(side, np.float32))
    tiled_box, _ = _box3_runs(box3_model, rgb)
    err_box = np.abs(tiled_box.astype(int) - untiled.astype(int))
    assert err_box.max() > 15, "the test must catch a restorer without blending"
    assert err_box.max() > 5 * err_blend.max()


def test_tile_dependent_model_transitions_smoothly(monkeypatch):
    """A model that adds a per-tile constant (half its tile's mean): neighbouring tiles
    disagree, and blending must spread the disagreement over the overlap, not leave a step.

    On a 0..255 horizontal ramp, tiles 48 px apart disagree by ~24 grey levels.  Linear
    ramps over >= 16 px change the added constant by at most ~2 levels per pixel; box
    weights (patched in below, to prove the check catches them) leave steps of ~12."""
    def tile_mean(batch, training=False):
        return batch + 0.5 * batch.mean(axis=(1, 2, 3), keepdims=True)

    # a horizontal ramp: every tile has a different mean
    h, w = 40, 260
    row = np.linspace(0, 255, w)
    rgb = np.rint(np.broadcast_to(row[None, :, None], (h, w, 3))).astype(np.uint8)

    def largest_step():
        out = Restorer(tile_mean, "mean", tile=TILE, overlap=OVERLAP).restore(rgb)
        added = out.astype(float) - rgb.astype(float)       # the blended per-tile constants
        assert added.max() - added.min() > 50, "the tiles do disagree"
        return np.abs(np.diff(added, axis=1)).max()

    assert largest_step() <= 3

    monkeypatch.setattr(restorer, "ramp", lambda side, overlap: np.ones(side, np.float32))
    assert largest_step() >= 8, "the test must catch a restorer without blending"


# --- the JPEG grid ----------------------------------------------------------------------

def grid_marker(batch: np.ndarray, training=False) -> np.ndarray:
    """Brighten pixels at (row, col) = 0 mod 8 *of the tile*: where the model sees the grid."""
    out = np.array(batch, np.float32)
    out[:, ::8, ::8, :] += 0.4
    return out


@pytest.mark.parametrize("h,w", [(20, 30), (61, 77), (150, 97), (201, 333)])
@pytest.mark.parametrize("grid", [(0, 0), (3, 5), (7, 1), (4, 0)])
def test_tiles_sit_on_the_jpeg_grid(h, w, grid):
    """With every tile starting on the JPEG grid (pixel dx + 8i, dy + 8j of the image), the
    per-tile marks blend into exactly the image's grid; one tile off the grid smears them."""
    rgb = np.full((h, w, 3), 100, np.uint8)
    out = Restorer(grid_marker, "grid", tile=TILE, overlap=OVERLAP, batch=64).restore(rgb, grid)
    dx, dy = grid
    yy, xx = np.mgrid[0:h, 0:w]
    on_grid = ((yy - dy) % 8 == 0) & ((xx - dx) % 8 == 0)
    expected = np.where(on_grid[..., None], to_uint8(np.float32(100 / 127.5 - 1 + 0.4)), 100)
    assert diff(out, expected) <= 1, f"marks off the grid at {np.argwhere(out[..., 0] != expected[..., 0])[:5]}"


def test_tile_starts_are_on_the_grid_in_image_coordinates(monkeypatch):
    seen = []
    real = restorer.tile_starts

    def recording(size, tile, overlap):
        starts = real(size, tile, overlap)
        seen.append(starts)
        return starts

    monkeypatch.setattr(restorer, "tile_starts", recording)
    r = Restorer(lambda b, training=False: b, "id", tile=TILE, overlap=OVERLAP)
    for h, w, (dx, dy) in [(1001, 77, (0, 0)), (300, 301, (3, 5)), (129, 131, (6, 2))]:
        seen.clear()
        r.restore(np.zeros((h, w, 3), np.uint8), (dx, dy))
        ys, xs = seen
        # padded coordinate p is image coordinate p - (MARGIN + (8 - d) % 8)
        top, left = MARGIN + (8 - dy) % 8, MARGIN + (8 - dx) % 8
        assert all((y - top - dy) % 8 == 0 for y in ys), ys
        assert all((x - left - dx) % 8 == 0 for x in xs), xs
        assert len(ys) > 1 or h + 40 <= TILE


# --- a noise input -----------------------------------------------------------------------

def test_noise_tiles_are_parts_of_one_map():
    """Each pixel's noise depends on its coordinates alone: tiles agree where they overlap;
    the values are unit Gaussian; another seed gives another map."""
    a = restorer.noise_tile(10, 20, 30, 40)
    assert a.shape == (30, 40, 1) and a.dtype == np.float32
    np.testing.assert_array_equal(a[5:, 8:], restorer.noise_tile(15, 28, 25, 32))
    big = restorer.noise_tile(0, 0, 512, 512)
    assert abs(float(big.mean())) < 0.01 and abs(float(big.std()) - 1.0) < 0.01
    assert abs(float(np.corrcoef(big[:, :-1].ravel(), big[:, 1:].ravel())[0, 1])) < 0.01
    assert not np.allclose(big[:64, :64], restorer.noise_tile(0, 0, 64, 64, seed=1))


def test_noise_input_model_tiled_equals_untiled(keras):
    """A generator with a noise input (here: the input plus a per-pixel function of the
    noise) gets the same noise at a pixel from every tile: tiled equals one tile, so no
    seam; the noise shows, and the same image gives the same output twice."""
    inp, noise = keras.Input((None, None, 3)), keras.Input((None, None, 1))
    conv = keras.layers.Conv2D(3, 1, use_bias=False)
    model = keras.Model([inp, noise], keras.layers.Add()([inp, conv(noise)]))
    conv.set_weights([np.array([[[[0.05, -0.04, 0.03]]]], np.float32)])
    tiled = Restorer(model, "noisy", tile=TILE, overlap=OVERLAP, batch=64)
    whole = Restorer(model, "noisy", tile=4096, overlap=OVERLAP)
    rgb = textured(150, 97, seed=4, lo=40, hi=215)
    out = tiled.restore(rgb, (3, 5))
    assert out.shape == rgb.shape
    assert diff(out, whole.restore(rgb, (3, 5))) <= 1
    assert diff(out, rgb) > 5
    np.testing.assert_array_equal(out, tiled.restore(rgb, (3, 5)))


# --- real generators through Restorer.load ------------------------------------------------

@pytest.mark.parametrize("filters,multiple", [((8, 16, 32), 8), ((8, 16, 32, 32), 16)])
def test_load_a_unet_and_restore_any_size(tmp_path, filters, multiple):
    """An untrained residual U-Net is the identity; through Restorer.load it must keep every
    size and pick the side multiple the network needs."""
    from dejpeg import archs
    path = tmp_path / "g.keras"
    archs.unet(filters, name="tiny").save(path)
    r = Restorer.load(path, "tiny", tile=TILE, overlap=OVERLAP, batch=16)
    assert r.multiple == multiple
    for h, w in [(1, 1), (5, 300), (33, 47), (90, 70)]:
        rgb = textured(h, w, seed=h * w)
        out = r.restore(rgb, (5, 2))
        assert out.shape == rgb.shape
        assert diff(out, rgb) <= 1


# --- strength ------------------------------------------------------------------------------

def negate(batch, training=False):
    return -batch


def test_strength_mixes_input_and_output():
    rgb = textured(40, 56, seed=3)
    r = Restorer(negate, "neg", tile=TILE, overlap=OVERLAP)
    x = rgb.astype(np.float64) / 127.5 - 1.0
    np.testing.assert_array_equal(r.restore(rgb, strength=0.0), rgb)
    assert diff(r.restore(rgb, strength=1.0), to_uint8(-x)) <= 1
    assert diff(r.restore(rgb, strength=0.25), to_uint8(x + 0.25 * (-2 * x))) <= 1
    for bad in (-0.01, 1.01, float("nan")):
        with pytest.raises(ValueError):
            r.restore(rgb, strength=bad)


def test_strength_for_interpolates_the_calibration_table():
    r = Restorer(negate, "neg", strength={"10": 1.0, "30": 0.4, 50: 0.2})
    assert r.strength_for(None) == 1.0                     # quality unknown: as trained
    assert r.strength_for(5) == 1.0 and r.strength_for(10) == 1.0
    assert r.strength_for(20) == pytest.approx(0.7)
    assert r.strength_for(30) == pytest.approx(0.4)
    assert r.strength_for(40) == pytest.approx(0.3)
    assert r.strength_for(95) == pytest.approx(0.2)       # beyond the table: its last value
    assert Restorer(negate, "neg").strength_for(80) == 1.0    # no table: full strength
