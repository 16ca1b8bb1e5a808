"""Training and evaluation data (dejpeg.data): cases, random draws, restorer pairs, samples."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from PIL import Image

from dejpeg import data, features, jpeg
from dejpeg.archs import CLASSES
from dejpeg.data import Case
from images import pattern


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    return pattern(120, 152, seed=4)


# --- Case ----------------------------------------------------------------------------------

def test_case_labels():
    assert Case("uncompressed").label == 0 == CLASSES.index("uncompressed")
    assert Case("single", 50).label == 1
    assert Case("double", 50, 90).label == 2
    assert Case("double", 50, 90, recrop=(3, 1), shift=(2, 2)).label == 2


@pytest.mark.parametrize("case,name", [
    (Case("uncompressed"), "uncompressed"),
    (Case("uncompressed", shift=(1, 0)), "uncompressed shifted"),
    (Case("single", 30), "single 30"),
    (Case("single", 30, shift=(0, 5)), "single 30 shifted"),
    (Case("double", 50, 90), "double (50,90)"),
    (Case("double", 50, 90, recrop=(4, 4)), "double (50,90) recrop"),
    (Case("double", 70, 20, recrop=(1, 0), shift=(7, 7)), "double (70,20) recrop shifted"),
])
def test_case_names(case, name):
    assert case.name == name


def test_apply_uncompressed(rgb):
    out = Case("uncompressed").apply(rgb)
    assert out.shape == rgb.shape and np.array_equal(out, rgb)


def test_apply_single(rgb):
    out = Case("single", 30).apply(rgb)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert np.array_equal(out, jpeg.compress(rgb, 30))
    assert not np.array_equal(out, rgb)


def test_apply_double_recrop_makes_it_smaller(rgb):
    out = Case("double", 50, 90, recrop=(3, 5)).apply(rgb)
    assert out.shape == (rgb.shape[0] - 5, rgb.shape[1] - 3, 3)
    assert np.array_equal(out, jpeg.compress_double(rgb, 50, 90, (3, 5)))
    aligned = Case("double", 50, 90).apply(rgb)
    assert aligned.shape == rgb.shape
    assert not np.array_equal(aligned, jpeg.compress(rgb, 90)), "the first pass shows"


@pytest.mark.parametrize("base", [Case("uncompressed"), Case("single", 40),
                                  Case("double", 50, 70, recrop=(2, 6))])
def test_apply_shift_crops_the_result(rgb, base):
    plain = base.apply(rgb)
    dx, dy = 5, 2
    shifted = Case(base.kind, base.q1, base.q2, base.recrop, shift=(dx, dy)).apply(rgb)
    assert shifted.shape == (plain.shape[0] - dy, plain.shape[1] - dx, 3)
    assert np.array_equal(shifted, plain[dy:, dx:])
    assert shifted.flags["C_CONTIGUOUS"]


def test_seed_cases():
    cases = data.seed_cases()
    assert len(cases) == 11
    assert Counter(c.kind for c in cases) == {"uncompressed": 1, "single": 5, "double": 5}
    assert len({c.name for c in cases}) == 11
    assert all(c.name.endswith("shifted") for c in data.seed_cases(shift=(1, 1)))


# --- random_case ---------------------------------------------------------------------------

def draws(seed: int, n: int) -> list[Case]:
    rng = np.random.default_rng(seed)
    return [data.random_case(rng) for _ in range(n)]


def test_random_case_is_deterministic():
    assert draws(7, 300) == draws(7, 300)
    assert draws(7, 300) != draws(8, 300)


def test_random_case_distribution():
    cases = draws(0, 3000)
    kinds = Counter(c.kind for c in cases)
    assert set(kinds) == set(CLASSES)
    for k in CLASSES:
        assert 0.28 < kinds[k] / len(cases) < 0.39, kinds
    shifted = sum(c.shift != (0, 0) for c in cases) / len(cases)
    assert 0.43 < shifted < 0.57
    doubles = [c for c in cases if c.kind == "double"]
    assert 0.4 < sum(c.recrop != (0, 0) for c in doubles) / len(doubles) < 0.6
    singles = [c for c in cases if c.kind == "single"]
    assert len({c.q1 for c in singles}) > 40, "seed QFs and random ones"
    for c in cases:
        assert all(0 <= v < 8 for v in c.shift + c.recrop)
        if c.kind == "uncompressed":
            assert (c.q1, c.q2, c.recrop) == (0, 0, (0, 0))
        elif c.kind == "single":
            assert 10 <= c.q1 <= 95 and c.q2 == 0 and c.recrop == (0, 0)
        else:
            assert 10 <= c.q1 <= 95 and 10 <= c.q2 <= 95


def test_camera_case_is_the_light_end_random_case_leaves_out():
    rng = np.random.default_rng(0)
    cases = [data.camera_case(rng) for _ in range(2000)]
    kinds = Counter(c.kind for c in cases)
    assert 0.45 < kinds["single"] / len(cases) < 0.55
    assert 0.2 < kinds["double"] / len(cases) < 0.3 and 0.2 < kinds["uncompressed"] / len(cases) < 0.3
    last = [c.q1 if c.kind == "single" else c.q2 for c in cases if c.kind != "uncompressed"]
    assert set(last) == set(range(96, 100))                       # all of it, nothing else
    assert all(10 <= c.q1 <= 95 for c in cases if c.kind == "double")
    assert 0.43 < sum(c.shift != (0, 0) for c in cases) / len(cases) < 0.57
    assert not set(last) & {c.q1 for c in draws(0, 3000) if c.kind == "single"}


def test_random_case_never_an_aligned_near_same_quality_double():
    for c in draws(1, 5000):
        if c.kind == "double" and c.recrop == (0, 0):
            assert abs(c.q1 - c.q2) >= 5, c


# --- crops, images ---------------------------------------------------------------------------

def test_random_crop(rgb):
    rng = np.random.default_rng(0)
    for _ in range(50):
        crop = data.random_crop(rgb, 64, rng, align=8)
        assert crop.shape == (64, 64, 3)
        # the corner is on a multiple of 8: find it
        ys, xs = np.nonzero(np.all(rgb[:, :, :] == crop[0, 0], axis=-1))
        assert any(y % 8 == 0 and x % 8 == 0 and np.array_equal(rgb[y:y + 64, x:x + 64], crop)
                   for y, x in zip(ys, xs))
    assert data.random_crop(rgb, 1000, rng).shape == rgb.shape      # at most the image


def test_load_images_in_name_order_as_rgb(tmp_path):
    grey = np.full((10, 12), 77, np.uint8)
    rgba = np.zeros((9, 8, 4), np.uint8)
    Image.fromarray(grey).save(tmp_path / "b.png")
    Image.fromarray(rgba).save(tmp_path / "a.png")
    (tmp_path / "c.txt").write_text("not an image")
    images = data.load_images(tmp_path)
    assert [im.shape for im in images] == [(9, 8, 3), (10, 12, 3)]
    assert all(im.dtype == np.uint8 for im in images)
    assert np.all(images[1] == 77)


# --- restorer pairs --------------------------------------------------------------------------

def locate(rgb: np.ndarray, crop: np.ndarray) -> tuple[int, int] | None:
    """Where `crop` lies in `rgb` (exactly), or None."""
    side = crop.shape[0]
    ys, xs = np.nonzero(np.all(rgb == crop[0, 0], axis=-1))
    for y, x in zip(ys, xs):
        if np.array_equal(rgb[y:y + side, x:x + side], crop):
            return int(y), int(x)
    return None


def mse(a, b) -> float:
    return float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


def test_restorer_pairs():
    img = pattern(200, 232, seed=9)
    rng = np.random.default_rng(3)
    offsets = set()
    for _ in range(16):
        comp, clean = data.restorer_pair(img, 64, rng, qualities=(50, 75))
        assert comp.shape == clean.shape == (64, 64, 3)
        assert comp.dtype == clean.dtype == np.uint8
        assert mse(comp, clean) > 1.0, "the JPEG side differs from the clean side"
        # the clean side is a crop of the image ...
        where = locate(img, clean)
        assert where is not None
        offsets.add((where[0] % 8, where[1] % 8))
        # ... and the JPEG side shows the same pixels: any 1-px misalignment is worse
        base = mse(comp, clean)
        for dy, dx in [(0, 1), (1, 0), (1, 1)]:
            assert base < mse(comp[dy:, dx:], clean[:64 - dy, :64 - dx])
            assert base < mse(comp[:64 - dy, :64 - dx], clean[dy:, dx:])
        # the last compression's 8x8 grid starts on the crop's corner
        assert features.grid_offset(comp) == (0, 0)
        assert features.grid_offset(comp[3:, 5:]) == (3, 5)
    # single and aligned doubles start on the image's grid; recropped doubles do not
    assert (0, 0) in offsets and len(offsets) > 1


def test_restorer_pair_is_deterministic():
    img = pattern(160, 160, seed=2)
    a = data.restorer_pair(img, 48, np.random.default_rng(5))
    b = data.restorer_pair(img, 48, np.random.default_rng(5))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_restorer_pair_single_only_is_the_plain_jpeg():
    img = pattern(160, 160, seed=2)
    comp, clean = data.restorer_pair(img, 48, np.random.default_rng(1), qualities=(20,),
                                     p_double=0.0)
    y, x = locate(img, clean)
    assert y % 8 == 0 and x % 8 == 0
    # compressing an area around it (corner 8 px before, on the grid) gives the same pixels
    area = np.ascontiguousarray(img[y - 8:y + 48 + 24, x - 8:x + 48 + 24])
    assert np.array_equal(jpeg.compress(area, 20)[8:56, 8:56], comp)


# --- detector samples ------------------------------------------------------------------------

@pytest.mark.parametrize("case", [Case("uncompressed"), Case("single", 60, shift=(3, 1)),
                                  Case("double", 40, 80, recrop=(2, 5))])
def test_detector_samples(case):
    img = pattern(270, 530, seed=1)
    x, y = data.detector_samples(img, case)
    assert x.dtype == np.uint16 and y.dtype == np.uint8
    assert x.shape == (2, 120, 64, 1) and y.shape == (2,)       # two 256x256 blocks fit
    assert np.all(y == case.label)
    # counts out of the 1024 coefficients of each frequency, as the server's features say
    assert np.all(x.sum(axis=1) <= 1024)
    assert np.all(x[:, :, 1:].sum(axis=1) > 900), "AC coefficients mostly fall in the bins"
    feats, blocks, _ = features.image_features(case.apply(img), limit=64)
    assert np.array_equal(x, np.rint(feats * 1024).astype(np.uint16))


def test_detector_samples_limit_and_small_images():
    img = pattern(270, 530, seed=1)
    x, y = data.detector_samples(img, Case("single", 50), max_blocks=1)
    assert x.shape == (1, 120, 64, 1) and list(y) == [1]
    x, y = data.detector_samples(pattern(40, 56, seed=2), Case("uncompressed"))
    assert x.shape == (1, 120, 64, 1) and list(y) == [0]        # tiled to a full block


# --- varied clean pictures (detector training) -----------------------------------------------

def test_vary_is_deterministic_and_keeps_the_picture_clean():
    """`data.vary` changes scale, tone, sharpness and noise, the same for the same draw, and
    leaves no JPEG grid (an uncompressed training case stays uncompressed), while a JPEG of a
    varied picture shows its grid as usual."""
    from skimage.data import astronaut
    clean = np.ascontiguousarray(astronaut()[:320, :384])
    outs = [data.vary(clean, np.random.default_rng(s)) for s in range(24)]
    assert np.array_equal(data.vary(clean, np.random.default_rng(3)), outs[3])
    assert all(o.dtype == np.uint8 and o.ndim == 3 and o.shape[2] == 3 for o in outs)
    smaller = [o for o in outs if o.shape != clean.shape]
    assert 4 <= len(smaller) <= 20                       # downscaled about half the time ...
    for o in smaller:                                    # ... by 0.5-0.95, keeping the aspect
        f = o.shape[1] / clean.shape[1]
        assert 0.49 <= f <= 0.96 and abs(o.shape[0] / clean.shape[0] - f) < 0.01
    same_size = [o for o in outs if o.shape == clean.shape]
    assert sum(not np.array_equal(o, clean) for o in same_size) >= len(same_size) // 2
    for o in outs:
        assert features.grid_search(o)[1] < features.GRID_MIN_EVIDENCE
    assert features.grid_search(jpeg.compress(outs[0], 60))[1] > 0.1


# --- a camera's processing (detector training and evaluation) --------------------------------

def test_camera_pipeline_adds_sensor_noise_and_no_jpeg_grid():
    """`data.camera_pipeline` (mosaic, noise, demosaicing, sharpening) keeps the picture's size
    and shows no 8x8 grid; its noise grows with `noise` and the same generator state gives the
    same picture; `random_camera` crops 0-1 px off the top and left and draws its strengths."""
    from skimage.data import astronaut
    clean = np.ascontiguousarray(astronaut()[:256, :320])
    cam = lambda seed, **kw: data.camera_pipeline(clean, np.random.default_rng(seed), **kw)
    out = cam(0)
    assert out.shape == clean.shape and out.dtype == np.uint8
    assert np.array_equal(out, cam(0, sharpen=0.6, noise=1.0)), "the defaults"
    assert np.array_equal(out, cam(0)) and not np.array_equal(out, cam(1))
    assert features.grid_search(out)[1] < features.GRID_MIN_EVIDENCE
    spread = lambda **kw: np.std(cam(0, sharpen=0.0, **kw).astype(float) - cam(1, sharpen=0.0, **kw))
    assert spread(noise=2.0) > 1.6 * spread(noise=1.0) > 0
    assert abs(np.mean(out.astype(float)) - np.mean(clean)) < 3, "the tone is kept"

    outs = [data.random_camera(clean, np.random.default_rng(s)) for s in range(12)]
    assert np.array_equal(outs[5], data.random_camera(clean, np.random.default_rng(5)))
    shapes = {o.shape for o in outs}
    assert shapes <= {(256, 320, 3), (255, 320, 3), (256, 319, 3), (255, 319, 3)} and len(shapes) > 1
    assert all(features.grid_search(o)[1] < features.GRID_MIN_EVIDENCE for o in outs)
    assert features.grid_search(jpeg.compress(outs[0], 75))[1] > 0.1


@pytest.mark.parametrize("crop", [(0, 0), (3, 5), (7, 1)])
def test_grid_after_crop_is_where_the_grid_search_finds_the_jpeg_grid(crop):
    img = jpeg.compress(pattern(256, 256, seed=2), 40)
    cut = np.ascontiguousarray(img[crop[1]:, crop[0]:])
    assert features.grid_search(cut)[0] == data.grid_after_crop(crop)
