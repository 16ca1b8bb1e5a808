"""Detector service plumbing (dejpeg.detector) with a tiny untrained C_Tiny.

The network is untrained, so verdicts are arbitrary: these tests check the shape and the
consistency of what `detect` returns, not whether it is right.
"""
from __future__ import annotations

import numpy as np
import pytest

from dejpeg import archs, features, jpeg, quality
from dejpeg.archs import CLASSES
from dejpeg.detector import (DECIDED_CONFIDENCE, LATTICE_DECISIVE, Detector, aggregate,
                             first_compression_tests, single_vs_double)
from dejpeg.errors import UnusableImage
from images import pattern

KEYS = {"verdict", "probabilities", "pixel_probabilities", "blocks", "grid", "quality", "model",
        "double_quantization", "second_grid", "light_first_pass", "lattice", "single_vs_double",
        "file_table", "last_table"}
BLOCK_KEYS = {"x", "y", "size", "width", "height", "tiled", "verdict", "probabilities"}


@pytest.fixture(scope="module")
def detector():
    import keras
    keras.utils.set_random_seed(0)
    return Detector(archs.c_tiny(width=4), name="tiny")


class Fixed:
    """A stand-in network answering the same probabilities for every block."""

    def __init__(self, p):
        self.p = np.asarray(p, np.float32)

    def __call__(self, feats, training=False):
        return np.tile(self.p, (len(feats), 1))


def lattice_unseen(det: Detector, img: np.ndarray, **kw):
    """`det.detect(img)` as if the picture's whole-number lattice did not show (too few
    coefficients, as on flat pictures): `lattice_found` then leaves an uncompressed verdict
    alone, for tests of the steps before and after it."""
    from dataclasses import replace
    return det.detect(img, evidence=replace(det.blocks_and_evidence(img), lattice=0.0), **kw)


def check_probs(p: dict):
    assert list(p) == list(CLASSES)
    assert all(0.0 <= v <= 1.0 for v in p.values())
    assert abs(sum(p.values()) - 1.0) <= 2e-4        # four decimals each


def check_result(r: dict, h: int, w: int):
    assert set(r) == KEYS
    assert r["verdict"] in CLASSES
    check_probs(r["probabilities"])
    check_probs(r["pixel_probabilities"])
    # the verdict has the highest probability (rounded to four decimals, two may tie)
    assert r["probabilities"][r["verdict"]] == max(r["probabilities"].values())
    assert 1 <= len(r["blocks"]) <= features.MAX_BLOCKS
    for b in r["blocks"]:
        assert set(b) == BLOCK_KEYS
        assert b["size"] == features.BLOCK
        assert 0 <= b["x"] and b["x"] + b["width"] <= w
        assert 0 <= b["y"] and b["y"] + b["height"] <= h
        assert b["width"] % 8 == 0 and b["height"] % 8 == 0
        assert b["tiled"] == (b["width"] < 256 or b["height"] < 256)
        assert b["verdict"] in CLASSES
        check_probs(b["probabilities"])
    assert set(r["grid"]) == {"dx", "dy", "evidence", "transposed"} and r["grid"]["evidence"] >= -1
    assert isinstance(r["grid"]["transposed"], bool)
    assert 0 <= r["grid"]["dx"] <= 7 and 0 <= r["grid"]["dy"] <= 7
    for b in r["blocks"]:       # blocks sit on the grid found
        assert (b["x"] - r["grid"]["dx"]) % 8 == 0 and (b["y"] - r["grid"]["dy"]) % 8 == 0
    dq, second = r["double_quantization"], r["second_grid"]
    assert set(dq) == {"evidence", "decisive", "first_quality"} and dq["evidence"] >= 0
    assert set(second) == {"dx", "dy", "evidence", "block_means", "decisive", "first_quality"}
    assert second["block_means"] >= 0
    assert second["first_quality"] is None or (second["decisive"] and 1 <= second["first_quality"] <= 100)
    assert 0 <= second["dx"] <= 7 and 0 <= second["dy"] <= 7
    assert second["dx"] != r["grid"]["dx"] and second["dy"] != r["grid"]["dy"]
    light = r["light_first_pass"]
    assert set(light) == {"evidence", "decisive", "first_quality"} and light["evidence"] >= 0
    assert light["decisive"] == (light["evidence"] >= quality.LIGHT_DECISIVE)
    assert light["first_quality"] is None or (light["decisive"] and 1 <= light["first_quality"] <= 100)
    lattice = r["lattice"]
    assert set(lattice) == {"evidence", "decisive"}
    assert lattice["decisive"] == (lattice["evidence"] >= LATTICE_DECISIVE)
    if lattice["decisive"]:                            # the lattice says compressed
        assert r["verdict"] != "uncompressed"
    if dq["decisive"] or second["decisive"] or light["decisive"]:   # they tell single from double only
        assert r["verdict"] in ("double", "uncompressed")
    sd, p = r["single_vs_double"], r["probabilities"]
    if r["verdict"] == "uncompressed":
        assert sd is None
    else:
        assert set(sd) == {"confidence", "decided"}
        assert sd["confidence"] == pytest.approx(p[r["verdict"]] / (p["single"] + p["double"]), abs=1e-3)
        assert sd["decided"] == (sd["confidence"] >= DECIDED_CONFIDENCE)


@pytest.mark.parametrize("h,w", [(8, 8), (40, 56), (300, 300), (270, 530), (600, 900),
                                 (20, 1600), (1000, 777)])     # the last two: read twice
def test_detect_returns_the_documented_dict(detector, h, w):
    r = detector.detect(pattern(h, w, seed=h + w))
    check_result(r, h, w)
    assert r["model"] == "tiny"
    if r["verdict"] == "uncompressed":
        assert r["quality"] is None


def test_block_count_and_image_probabilities(detector):
    r = detector.detect(pattern(600, 900, seed=1))
    assert len(r["blocks"]) == 2 * 3                   # all non-overlapping blocks fit
    assert not any(b["tiled"] for b in r["blocks"])
    block_p = np.array([[b["probabilities"][c] for c in CLASSES] for b in r["blocks"]])
    mean = block_p.mean(axis=0)
    got = np.array([r["probabilities"][c] for c in CLASSES])
    np.testing.assert_allclose(got, mean / mean.sum(), atol=2e-4)


def test_small_image_is_one_tiled_block(detector):
    r = detector.detect(pattern(40, 57, seed=3))
    assert len(r["blocks"]) == 1
    b = r["blocks"][0]
    assert b["tiled"] and b["width"] <= 57 and b["height"] <= 40


def test_grid_of_a_cropped_jpeg(detector):
    comp = jpeg.compress(pattern(300, 320, seed=5), 30)[5:, 3:]     # grid now at (5, 3)
    r = detector.detect(comp)
    assert (r["grid"]["dx"], r["grid"]["dy"]) == (5, 3) and r["grid"]["evidence"] > 0.05
    check_result(r, *comp.shape[:2])
    clean = detector.detect(pattern(300, 320, seed=5))
    assert clean["grid"]["evidence"] < 0.02 and (clean["grid"]["dx"], clean["grid"]["dy"]) == (0, 0)


def test_quality_from_the_file_tables(detector):
    r = detector.detect(pattern(64, 64, seed=2), jpeg_quality=75)
    assert r["quality"] == {"estimate": 75, "source": "quantization-table"}


def test_a_jpeg_file_is_never_called_uncompressed():
    """The file itself is one compression: P(uncompressed) goes to 0, single and double keep
    their ratio, and the pixels' own answer stays in pixel_probabilities.  (Pixels of QF 60,
    whatever the network says: at the camera end the ratio would not count, `camera_end`;
    their whole-number lattice taken as not decisive, as on pictures where too few
    coefficients show it: else the pixels alone say compressed, `lattice_found`.)"""
    from dejpeg.detector import file_evidence
    np.testing.assert_allclose(file_evidence(np.array([0.8, 0.15, 0.05])), [0.0, 0.75, 0.25])
    np.testing.assert_allclose(file_evidence(np.array([1.0, 0.0, 0.0])), [0.0, 1.0, 0.0])
    img = jpeg.compress(pattern(256, 256, seed=3), 60)
    det = Detector(Fixed([0.8, 0.15, 0.05]), "fixed")
    assert det.detect(img)["lattice"]["decisive"]      # as it is, the lattice shows
    as_png = lattice_unseen(det, img)
    assert as_png["verdict"] == "uncompressed" and as_png["probabilities"] == as_png["pixel_probabilities"]
    as_jpeg = lattice_unseen(det, img, jpeg_quality=90)
    assert as_jpeg["verdict"] == "single"
    assert as_jpeg["probabilities"] == {"uncompressed": 0.0, "single": 0.75, "double": 0.25}
    assert as_jpeg["pixel_probabilities"] == as_png["pixel_probabilities"]
    assert as_jpeg["quality"] == {"estimate": 90, "source": "quantization-table"}
    doubled = Detector(Fixed([0.6, 0.1, 0.3]), "fixed").detect(img, jpeg_quality=90)
    assert doubled["verdict"] == "double"


def test_quality_from_pixels_when_compression_is_detected():
    comp = jpeg.compress(pattern(256, 256, seed=6), 40)
    single = Detector(Fixed([0.1, 0.8, 0.1]), "fixed").detect(comp)
    assert single["verdict"] == "single"
    assert single["quality"]["source"] == "pixels"
    assert abs(single["quality"]["estimate"] - 40) <= 5
    # the file's own table wins over the pixels
    told = Detector(Fixed([0.1, 0.8, 0.1]), "fixed").detect(comp, jpeg_quality=41)
    assert told["quality"] == {"estimate": 41, "source": "quantization-table"}
    # no estimate for an image called uncompressed
    none = Detector(Fixed([0.8, 0.1, 0.1]), "fixed").detect(comp)
    assert none["verdict"] == "uncompressed" and none["quality"] is None


@pytest.mark.parametrize("h,w", [(7, 100), (100, 7), (1, 1), (0, 0), (7, 7)])
def test_too_small_is_unusable(detector, h, w):
    with pytest.raises(UnusableImage) as err:
        detector.detect(np.zeros((h, w, 3), np.uint8))
    assert err.value.status == 422


def test_aggregate_is_the_mean_of_block_probabilities():
    rng = np.random.default_rng(0)
    p = rng.random((7, 3))
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(aggregate(p), p.mean(axis=0))
    np.testing.assert_allclose(aggregate(p).sum(), 1.0)
    one = np.array([[0.2, 0.3, 0.5]])
    np.testing.assert_allclose(aggregate(one), one[0])
    # a confident block and an unsure one: the mean, not a vote
    np.testing.assert_allclose(aggregate(np.array([[0.0, 1.0, 0.0], [0.4, 0.3, 0.3]])),
                               [0.2, 0.65, 0.15])


def test_detector_load(tmp_path):
    path = tmp_path / "c.keras"
    archs.c_tiny(width=4).save(path)
    d = Detector.load(path)
    assert d.name == "c-tiny"
    check_result(d.detect(pattern(64, 80, seed=1)), 64, 80)


# --- image-level calibration ---------------------------------------------------------------

def cnn_weights():
    """Weights under which `calibrate` follows the CNN's probabilities: the compressed logit
    is log P(single) - log P(uncompressed), the double one log P(double) - log P(single)."""
    w = np.zeros((6, 2))
    w[[0, 1], 0] = -1.0, 1.0
    w[[1, 2], 1] = -1.0, 1.0
    return w


def test_calibrate_is_two_logistic_regressions_on_the_features():
    from dejpeg.detector import calibrate, calibration_features
    p = np.array([0.3, 0.5, 0.2])
    f = calibration_features(p, 0.2, 0.4)
    np.testing.assert_allclose(f, [np.log(0.3), np.log(0.5), np.log(0.2), np.log(0.201), 0.4, 1.0])
    c, d = 0.5 / 0.8, 0.2 / 0.7                          # sigmoid(log a - log b) = a / (a + b)
    np.testing.assert_allclose(calibrate(p, 0.2, 0.4, cnn_weights()),
                               [1 - c, c * (1 - d), c * d], atol=1e-12)
    w = cnn_weights()
    w[4, 0] = 20.0                                      # a good table fit: compressed
    for fit, clean in [(0.0, True), (0.5, False)]:
        q = calibrate(np.array([0.6, 0.3, 0.1]), 0.2, fit, w)
        assert q.sum() == pytest.approx(1.0) and (q.argmax() == 0) == clean
    # the double-vs-single column leaves P(uncompressed) alone
    w2 = cnn_weights()
    w2[5, 1] = 5.0
    a, b = calibrate(p, 0.2, 0.4, cnn_weights()), calibrate(p, 0.2, 0.4, w2)
    assert a[0] == pytest.approx(b[0]) and b[2] > a[2]


def test_calibration_weights_must_be_six_by_two():
    with pytest.raises(ValueError):
        Detector(Fixed([0.3, 0.4, 0.3]), "fixed", calibration=[1.0, -0.5, -1.0])
    with pytest.raises(ValueError):
        Detector(Fixed([0.3, 0.4, 0.3]), "fixed", calibration=np.zeros((6, 3)))   # the old form
    Detector(Fixed([0.3, 0.4, 0.3]), "fixed", calibration=cnn_weights())


def test_calibration_in_detect_uses_the_pixel_statistics():
    """A CNN that says 'uncompressed' is overruled by a JPEG's grid and table fit, and
    confirmed for a clean picture (the JPEG's whole-number lattice taken as unseen, which
    would overrule it too)."""
    cnn = Fixed([0.6, 0.3, 0.1])
    w = cnn_weights()
    w[3, 0] = 3.0                                       # compressed as the evidence ...
    w[4, 0] = 10.0                                      # ... and the table fit grow
    w[5, 0] = 12.0
    clean = pattern(256, 256, seed=8)
    comp = jpeg.compress(clean, 50)
    assert lattice_unseen(Detector(cnn, "fixed"), comp)["verdict"] == "uncompressed"
    calibrated = Detector(cnn, "fixed", calibration=w)
    assert calibrated.detect(comp)["verdict"] == "single"
    assert calibrated.detect(clean)["verdict"] == "uncompressed"
    ev = calibrated.blocks_and_evidence(comp)
    assert ev.quality == 50 and ev.table_fit > 0.3
    assert abs(calibrated.blocks_and_evidence(clean).table_fit) < 0.1


def test_a_first_compression_found_makes_the_verdict_double():
    from dejpeg.detector import double_compression_found
    p = np.array([0.1, 0.7, 0.2])
    np.testing.assert_array_equal(double_compression_found(p, False), p)
    np.testing.assert_allclose(double_compression_found(p, True), [0.1, 0, 0.9])
    clean = np.array([0.6, 0.3, 0.1])                  # called uncompressed: the tests do not speak
    np.testing.assert_array_equal(double_compression_found(clean, True), clean)


def test_at_the_camera_end_a_double_needs_a_test():
    """The CNN trained on QF 10-95: at an estimated last quality of 96 or more its single /
    double ratio is no evidence, so a picture called compressed is single unless a test for
    a first compression is decisive.  Below 96, and on a verdict of uncompressed, nothing
    changes."""
    from dejpeg.detector import camera_end
    p = np.array([0.1, 0.4, 0.5])
    np.testing.assert_allclose(camera_end(p, 96), [0.1, 0.9, 0.0])
    np.testing.assert_array_equal(camera_end(p, 95), p)
    np.testing.assert_array_equal(camera_end(p, None), p)
    clean = np.array([0.5, 0.2, 0.3])
    np.testing.assert_array_equal(camera_end(clean, 99), clean)


def test_a_camera_end_jpeg_leaning_double_is_single():
    """Through `detect`, with a network that leans double: a QF 98 picture (its quality read
    from the pixels) is single, and so is such a picture uploaded as a JPEG file while its
    pixels look uncompressed (their lattice unseen); the same network on a QF 90 picture still says double, and so
    does a file whose table says 98 but whose pixels read QF 60 (a heavier pass before)."""
    img = pattern(256, 256, seed=5)
    leaning = Detector(Fixed([0.05, 0.4, 0.55]), "fixed")
    light = jpeg.compress(img, 98)
    assert leaning.blocks_and_evidence(light).quality >= quality.CAMERA_END
    r = leaning.detect(light)
    assert r["verdict"] == "single" and r["probabilities"]["double"] == 0.0
    assert leaning.detect(jpeg.compress(img, 90))["verdict"] == "double"
    as_file = lattice_unseen(Detector(Fixed([0.8, 0.05, 0.15]), "fixed"), light, jpeg_quality=98)
    assert as_file["verdict"] == "single"
    assert as_file["pixel_probabilities"]["double"] > as_file["pixel_probabilities"]["single"]
    heavier = jpeg.compress(img, 60)                   # a file whose pixels read QF 60
    assert Detector(Fixed([0.8, 0.05, 0.15]), "fixed").detect(heavier, jpeg_quality=98)["verdict"] == "double"


def test_the_camera_end_needs_a_quality_read_from_enough_coefficients():
    """A quality read at the camera end from too few clearly non-zero coefficients (a nearly
    flat picture) leaves the network's single / double ratio as it is; read from
    CAMERA_MIN_READ or more, the picture is single.  A real QF 98 picture reads thousands."""
    from dataclasses import replace
    from dejpeg.detector import CAMERA_MIN_READ
    leaning = Detector(Fixed([0.05, 0.4, 0.55]), "fixed")
    light = jpeg.compress(pattern(256, 256, seed=5), 98)
    ev = leaning.blocks_and_evidence(light)
    assert ev.quality >= quality.CAMERA_END and ev.read >= CAMERA_MIN_READ
    assert ev.read == int((np.abs(quality.grid_coefficients(light, ev.offset)) > 1.5).sum())  # |c| > 1.5
    thin = replace(ev, read=CAMERA_MIN_READ - 1, lattice=0.0)
    assert thin.light_end_quality is None
    assert leaning.detect(light, evidence=thin)["verdict"] == "double"
    assert leaning.detect(light, evidence=thin, jpeg_quality=98)["verdict"] == "double"    # a file too
    assert leaning.detect(light, evidence=replace(thin, read=CAMERA_MIN_READ))["verdict"] == "single"


def test_a_lattice_found_makes_an_uncompressed_verdict_compressed():
    """From LATTICE_DECISIVE, a picture called uncompressed is compressed, single and double
    keeping their ratio (as for a JPEG file); below it, or on a compressed verdict, nothing
    changes."""
    from dejpeg.detector import lattice_found
    clean = np.array([0.8, 0.15, 0.05])
    np.testing.assert_allclose(lattice_found(clean, LATTICE_DECISIVE), [0.0, 0.75, 0.25])
    np.testing.assert_array_equal(lattice_found(clean, LATTICE_DECISIVE - 0.1), clean)
    np.testing.assert_allclose(lattice_found(np.array([1.0, 0.0, 0.0]), 30.0), [0.0, 1.0, 0.0])
    compressed = np.array([0.2, 0.3, 0.5])
    np.testing.assert_array_equal(lattice_found(compressed, 30.0), compressed)


def test_after_calibration_is_the_lattice_the_camera_end_then_the_tests():
    """The chain `detect` serves after the calibration (and calibrate_detector scores): a
    clean-looking picture with a decisive lattice at QF 99 is single, double when a test
    found a first compression; without the lattice it stays uncompressed whatever the tests;
    at QF 80 a picture leaning double stays double."""
    from dejpeg.detector import after_calibration
    clean = np.array([0.8, 0.05, 0.15])
    np.testing.assert_allclose(after_calibration(clean, LATTICE_DECISIVE, 99, False), [0, 1, 0])
    np.testing.assert_allclose(after_calibration(clean, LATTICE_DECISIVE, 99, True), [0, 0, 1])
    np.testing.assert_array_equal(after_calibration(clean, 1.0, 99, True), clean)
    leaning = np.array([0.1, 0.3, 0.6])
    np.testing.assert_array_equal(after_calibration(leaning, 0.0, 80, False), leaning)
    np.testing.assert_allclose(after_calibration(leaning, 0.0, 97, False), [0.1, 0.9, 0])


def test_detect_calls_a_qf100_jpeg_compressed_on_its_lattices_grid():
    """A network that says uncompressed, a QF 100 JPEG cropped (no zeros, no grid of zeros):
    the lattice gives the grid (5, 3), the blocks sit on it, and the verdict is single (QF 100
    is at the camera end: no double without a test).  The never-compressed picture stays
    uncompressed, its lattice far from decisive."""
    rng = np.random.default_rng(4)
    base = np.cumsum(rng.normal(0, 4, (320, 320, 3)), axis=0)
    img = np.clip(base - base.min() + 20, 0, 235).astype(np.uint8)
    clean_net = Detector(Fixed([0.9, 0.04, 0.06]), "fixed")
    r = clean_net.detect(np.ascontiguousarray(jpeg.compress(img, 100)[5:, 3:]))
    check_result(r, 315, 317)
    assert (r["grid"]["dx"], r["grid"]["dy"]) == (5, 3) and r["lattice"]["decisive"]
    assert r["verdict"] == "single" and r["quality"]["source"] == "pixels"
    assert r["quality"]["estimate"] >= quality.CAMERA_END
    never = clean_net.detect(img)
    check_result(never, 320, 320)
    assert never["verdict"] == "uncompressed"
    assert never["lattice"]["evidence"] < 5


def test_a_file_with_a_cameras_light_table_needs_a_test_to_be_double():
    """A camera's own table (no IJG one matches) at the light end the camera's "fine" saves
    use: the CNN never saw such tables, so a file saved with one is at the camera end from
    `CAMERA_TABLE_FROM`: single unless a test finds a first compression.  An IJG table at the
    same quality, a camera's table at an ordinary quality, and a file whose pixels read a
    heavier pass before keep the network's word."""
    from dejpeg.detector import CAMERA_TABLE_FROM, camera_table
    from images import camera_jpeg, camera_picture
    from images import camera_table as cameras_table
    assert camera_table(cameras_table(92)) and camera_table(cameras_table(CAMERA_TABLE_FROM, seed=1))
    assert not camera_table(quality.ijg_table(92)) and not camera_table(quality.ijg_table(99))
    assert not camera_table(cameras_table(80, seed=1))
    leaning = Detector(Fixed([0.05, 0.4, 0.55]), "fixed")
    pic = camera_picture()[:384, :384]
    pixels, table = camera_jpeg(pic, cameras_table(92))
    r = leaning.detect(pixels, jpeg_quality=quality.quality_from_table(table)[0], jpeg_table=table)
    assert r["verdict"] == "single" and r["probabilities"]["double"] == 0.0
    assert r["pixel_probabilities"]["double"] > r["pixel_probabilities"]["single"]
    pixels, table = camera_jpeg(pic, quality.ijg_table(92))
    assert leaning.detect(pixels, jpeg_quality=92, jpeg_table=table)["verdict"] == "double"
    pixels, table = camera_jpeg(pic, cameras_table(75, seed=2))
    assert leaning.detect(pixels, jpeg_quality=75, jpeg_table=table)["verdict"] == "double"
    pixels, table = camera_jpeg(jpeg.compress(pic, 50), cameras_table(92))   # pixels read QF 50's steps
    r = leaning.detect(pixels, jpeg_quality=92, jpeg_table=table)
    assert r["verdict"] == "double"


def test_a_jpeg_file_coarser_than_its_own_table_is_double():
    """QF 97 after QF 50, uploaded as the file: its table says 97, its coefficients sit on
    QF 50's steps; a CNN sure of "single" is overruled and the first quality given.  The
    same pixels without the table (a PNG) keep the CNN's word; a single QF 97 file stays
    single."""
    import io as _io
    from PIL import Image
    from skimage.data import astronaut
    import images
    det = Detector(Fixed([0.05, 0.9, 0.05]), "fixed")

    def upload(data):
        im = Image.open(_io.BytesIO(data))
        return np.asarray(im.convert("RGB")), np.array(im.quantization[0])

    pixels, table = upload(images.jpeg(jpeg.compress(astronaut(), 50), 97))
    r = det.detect(pixels, jpeg_quality=97, jpeg_table=table)
    assert r["verdict"] == "double" and r["file_table"]["decisive"]
    assert r["file_table"]["coarser_steps"] >= 3 and abs(r["file_table"]["first_quality"] - 50) <= 1
    assert r["quality"]["estimate"] == 97 and abs(r["quality"]["first_estimate"] - 50) <= 1
    png = det.detect(pixels)
    assert png["verdict"] == "single" and png["file_table"] is None
    pixels, table = upload(images.jpeg(astronaut(), 97))
    r = det.detect(pixels, jpeg_quality=97, jpeg_table=table)
    assert r["verdict"] == "single"
    assert r["file_table"] == {"coarser_steps": 0, "decisive": False, "first_quality": None}
    assert "first_estimate" not in r["quality"]


def test_last_table_from_pixels_shows_a_heavier_first_pass():
    """The pixels' own version of the file table check: QF 30 then QF 60, as a PNG.  The
    histogram test is silent on this picture, the steps read sit on QF 30's lattice, and the
    table that gives the blocks back to the pixel is QF 60's (`quality.exact_last_table`):
    double, the first quality named, over a CNN sure of "single".  Singles at either quality
    are given back by their own table and read nothing coarser; a JPEG file's own table is
    the one checked, so `last_table` is null for it."""
    import io as _io
    from PIL import Image
    from skimage.data import chelsea
    import images
    det = Detector(Fixed([0.05, 0.9, 0.05]), "fixed")
    r = det.detect(jpeg.compress(jpeg.compress(chelsea(), 30), 60))
    assert not r["double_quantization"]["decisive"] and r["file_table"] is None
    assert r["verdict"] == "double" and r["last_table"]["decisive"]
    assert r["last_table"]["quality"] == r["quality"]["estimate"] == 60
    assert r["last_table"]["coarser_steps"] >= 3 and abs(r["last_table"]["first_quality"] - 30) <= 2
    assert abs(r["quality"]["first_estimate"] - 30) <= 2
    for q in (30, 60):
        r = det.detect(jpeg.compress(chelsea(), q))
        assert r["verdict"] == "single" and "first_estimate" not in r["quality"]
        assert r["last_table"] == {"quality": q, "coarser_steps": 0, "decisive": False,
                                   "first_quality": None}
    im = Image.open(_io.BytesIO(images.jpeg(chelsea(), 60)))
    r = det.detect(np.asarray(im.convert("RGB")), jpeg_quality=60,
                   jpeg_table=np.array(im.quantization[0]))
    assert r["last_table"] is None and r["file_table"] is not None
    # turned a quarter since (a portrait shown upright): read the way it was compressed, its
    # blocks are the decoder's again, and the same table gives them back
    r = det.detect(np.ascontiguousarray(np.rot90(jpeg.compress(jpeg.compress(chelsea(), 30), 60))))
    assert r["grid"]["transposed"] and r["verdict"] == "double" and r["last_table"]["decisive"]
    assert r["last_table"]["quality"] == 60 and abs(r["last_table"]["first_quality"] - 30) <= 2


def test_last_table_is_null_for_a_picture_called_uncompressed():
    """A table that gives the blocks back says nothing of a picture the verdict calls never
    compressed (a flat one fits any table): `last_table` is null there, as `quality` is.
    The lattice, which would call this QF 60 picture compressed, is set aside."""
    from dataclasses import replace
    from skimage.data import chelsea
    det = Detector(Fixed([0.98, 0.01, 0.01]), "fixed")
    ev = det.blocks_and_evidence(jpeg.compress(chelsea(), 60))
    assert ev.exact_table and ev.quality == 60
    r = det.detect(None, evidence=replace(ev, lattice=0.0))
    assert r["verdict"] == "uncompressed" and r["quality"] is None and r["last_table"] is None


def test_a_jpeg_cropped_and_resaved_at_qf_70_is_double_from_its_first_grids_block_means():
    """QF 50, cropped 3 px left and 5 top, saved at 70: too heavy a last pass for the AC
    periodicity alone (`second_grid_decisive` wants QF 85), but the first grid's block means
    still sit on QF 50's DC step where the periodicity points too (`quality.other_grid_dc`):
    double, the grid reported.  The picture saved once at 70 stays single."""
    from skimage.data import coffee
    det = Detector(Fixed([0.05, 0.9, 0.05]), "fixed")
    r = det.detect(jpeg.compress_double(coffee(), 50, 70, (3, 5)))
    second = r["second_grid"]
    assert (second["dx"], second["dy"]) == (5, 3) and second["evidence"] < 0.06
    assert second["block_means"] >= quality.GRID_DC_DECISIVE and second["decisive"]
    assert r["verdict"] == "double"
    # the first grid's DC step, 16, is QF 49-51's: the first quality named
    assert second["first_quality"] == 50 == r["quality"]["first_estimate"]
    r = det.detect(jpeg.compress(coffee(), 70))
    assert r["verdict"] == "single" and not r["second_grid"]["decisive"]
    assert r["second_grid"]["block_means"] < quality.GRID_DC_DECISIVE
    assert r["second_grid"]["first_quality"] is None and "first_estimate" not in r["quality"]


def test_second_grid_is_decisive_only_after_a_light_last_pass():
    from dejpeg.detector import SECOND_GRID_DECISIVE, second_grid_decisive
    assert second_grid_decisive(SECOND_GRID_DECISIVE, 90, 3)
    assert not second_grid_decisive(SECOND_GRID_DECISIVE / 2, 90, 3)
    assert not second_grid_decisive(0.4, 80, 4)     # a heavier last pass: its own grid explains it
    assert not second_grid_decisive(0.4, None, 3)
    assert not second_grid_decisive(0.4, 94, 20)    # steps of 20 read: no QF 94, whatever estimated
    assert not second_grid_decisive(0.4, 94, 0)     # nothing read


def test_detect_finds_a_crop_between_two_compressions():
    """Cropped by (4, 2) between QF 60 and QF 92: the CNN (here sure of "single") cannot
    see it, the first grid's periodicity can, and is reported at its offset; a QF 92 single
    cropped the same way has no second grid."""
    from skimage.data import astronaut
    det = Detector(Fixed([0.05, 0.9, 0.05]), "fixed")
    r = det.detect(jpeg.compress_double(astronaut(), 60, 92, (4, 2)))
    assert r["verdict"] == "double" and r["second_grid"]["decisive"]
    # the first grid: the old origin is 4 px left of the new one, 2 px above
    assert (r["second_grid"]["dx"], r["second_grid"]["dy"]) == (4, 6)
    r = det.detect(jpeg.compress(astronaut(), 92)[2:, 4:])
    assert r["verdict"] == "single" and not r["second_grid"]["decisive"]
    assert r["second_grid"]["evidence"] < 0.03


def test_detect_reports_a_first_compression_the_cnn_missed():
    """A CNN sure of "single" is overruled by the histograms of a 30-then-70 double, and the
    first quality is reported; a single 70 keeps the CNN's word and reports no first pass."""
    from skimage.data import astronaut
    det = Detector(Fixed([0.05, 0.9, 0.05]), "fixed")
    r = det.detect(jpeg.compress_double(astronaut(), 30, 70, (0, 0)))
    assert r["verdict"] == "double" and r["probabilities"]["double"] == pytest.approx(0.95)
    assert r["quality"]["estimate"] == 70 and abs(r["quality"]["first_estimate"] - 30) <= 1
    assert r["double_quantization"]["decisive"] and r["double_quantization"]["evidence"] > 0.3
    r = det.detect(jpeg.compress(astronaut(), 70))
    assert r["verdict"] == "single" and "first_estimate" not in r["quality"]
    assert r["double_quantization"] == {"evidence": r["double_quantization"]["evidence"],
                                        "decisive": False, "first_quality": None}
    # the file's own tables: still the first quality from the pixels
    r = det.detect(jpeg.compress_double(astronaut(), 30, 70, (0, 0)), jpeg_quality=70)
    assert r["quality"]["source"] == "quantization-table" and abs(r["quality"]["first_estimate"] - 30) <= 1


def test_a_lighter_first_pass_makes_a_compressed_verdict_double():
    """A camera's JPEG resaved at QF 75: a CNN sure of "single" is overruled by the
    lighter-first-pass test (`quality.light_first_pass`), which `detect` reports; the same
    picture saved once keeps the CNN's word; an "uncompressed" verdict is never moved by it
    (that picture's whole-number lattice taken as unseen, which would move it)."""
    from images import camera_jpeg as saved_with, camera_picture, camera_table
    cam = camera_picture()
    camera_jpeg = saved_with(cam, camera_table())[0]
    det = Detector(Fixed([0.05, 0.9, 0.05]), "fixed")
    r = det.detect(jpeg.compress(camera_jpeg, 75))
    assert r["light_first_pass"]["decisive"] and not r["double_quantization"]["decisive"]
    assert r["light_first_pass"]["evidence"] >= quality.LIGHT_DECISIVE
    assert r["verdict"] == "double" and r["probabilities"]["double"] == pytest.approx(0.95)
    # the camera's table is IJG's at 92 with every step one coarser: a quality in the 80s
    first = r["light_first_pass"]["first_quality"]
    assert 80 <= first <= 92 and r["quality"]["first_estimate"] == first
    r = det.detect(jpeg.compress(cam, 75))
    assert r["verdict"] == "single" and not r["light_first_pass"]["decisive"]
    assert r["light_first_pass"]["first_quality"] is None and "first_estimate" not in r["quality"]
    r = lattice_unseen(Detector(Fixed([0.9, 0.05, 0.05]), "fixed"), jpeg.compress(camera_jpeg, 75))
    assert r["light_first_pass"]["decisive"] and r["verdict"] == "uncompressed"


def test_the_lighter_first_pass_test_reads_beyond_the_central_area():
    """A photograph's middle can be smooth (sky, an out-of-focus background) and its texture
    at the edges: the lighter-first-pass test reads up to quality.LIGHT_SIDE px a side, not
    the quality.READ_SIDE of the other statistics.  A camera's JPEG of a 1600 px picture whose
    central 800 px are a smooth ramp, resaved at QF 75: nothing to read in the middle, the
    test decisive on the whole; the same picture saved once is not."""
    from images import camera_jpeg as saved_with, camera_picture, camera_table
    big = np.tile(camera_picture(), (4, 3, 1))[:1600, :1600].copy()
    yy, xx = np.mgrid[0:800, 0:800]
    big[400:1200, 400:1200] = (60 + 100 * (xx + yy) / 1600)[..., None].astype(np.uint8)
    resaved = jpeg.compress(saved_with(big, camera_table())[0], 75)
    middle = quality.light_first_pass(quality.grid_coefficients(resaved))[0]
    assert middle < quality.LIGHT_DECISIVE / 2
    det = Detector(Fixed([0.05, 0.9, 0.05]), "fixed")
    r = det.detect(resaved)
    assert r["light_first_pass"]["decisive"] and r["verdict"] == "double"
    assert r["light_first_pass"]["evidence"] >= quality.LIGHT_DECISIVE > middle
    r = det.detect(jpeg.compress(big, 75))
    assert r["verdict"] == "single" and r["light_first_pass"]["evidence"] < quality.LIGHT_DECISIVE / 2
    # a picture within READ_SIDE is read once, for every statistic; a larger one also on
    # the central LIGHT_SIDE px, for this test
    small = jpeg.compress(camera_picture(), 75)
    read, light = Detector._readings(small, (0, 0))
    assert light is None and max(small.shape[:2]) <= quality.READ_SIDE
    np.testing.assert_array_equal(read.ac, quality.grid_coefficients(small))
    read, light = Detector._readings(resaved, (0, 0))
    assert len(light.ac) > len(read.ac) == len(quality.grid_coefficients(resaved))


def test_a_pooled_detector_reads_the_mean_histogram_of_the_images_blocks(detector):
    """A pooled model (train_detector.py --pooled) answers for the image from the mean of the
    blocks' features, one histogram with every block's coefficients; a block model from the
    mean of its block probabilities.  The blocks' own probabilities (the heat map) are the
    same either way."""
    class ZeroBin:
        """A stand-in network, non-linear in its input: P(single) = (share of frequency
        (0, 1)'s coefficients in the bins around 0) ** 4."""

        def __call__(self, feats, training=False):
            s = np.asarray(feats)[:, features.BIN_OFFSET - 1:features.BIN_OFFSET + 1, 1, 0].sum(1) ** 4
            return np.stack([(1 - s) / 2, s, (1 - s) / 2], axis=1)

    img = np.concatenate([jpeg.compress(pattern(300, 600, seed=3), 40),
                          jpeg.compress(pattern(300, 600, seed=4) // 8 + 100, 40)])
    plain, pooled = Detector(ZeroBin(), "stub"), Detector(ZeroBin(), "stub", pooled=True)
    ev, evp = plain.blocks_and_evidence(img), pooled.blocks_and_evidence(img)
    assert len(ev.block_probs) >= 4
    np.testing.assert_allclose(evp.block_probs, ev.block_probs)
    np.testing.assert_allclose(ev.image_probs, ev.block_probs.mean(axis=0))
    feats, _, _ = features.image_features(img, evp.offset)
    mean = feats.mean(axis=0, keepdims=True)
    np.testing.assert_allclose(evp.image_probs, ZeroBin()(mean)[0], atol=1e-6)
    assert abs(evp.image_probs[1] - ev.image_probs[1]) > 0.01
    r = pooled.detect(img)            # uncalibrated: the pixels' verdict is the image probs
    assert not any(first_compression_tests(evp)), "a single compression: no test moves them"
    assert r["pixel_probabilities"] == {c: round(float(v), 4) for c, v in
                                        zip(CLASSES, evp.image_probs)}


def test_single_vs_double_says_when_the_pixels_cannot_tell_once_from_twice():
    """A compressed verdict whose single and double probabilities are close is undecided; a
    clear one, or one a test settled (the other at 0), is decided; an uncompressed verdict
    has nothing to decide."""
    assert single_vs_double([0.02, 0.47, 0.51]) == {"confidence": pytest.approx(0.5204, abs=1e-4),
                                                   "decided": False}
    assert single_vs_double([0.0, 0.2, 0.8])["decided"]
    assert single_vs_double([0.0, 0.0, 1.0]) == {"confidence": 1.0, "decided": True}
    assert single_vs_double([0.1, 0.9 * 0.31, 0.9 * 0.69])["decided"] is False     # 0.69 < 0.7
    assert single_vs_double([0.1, 0.9 * 0.29, 0.9 * 0.71])["decided"] is True
    assert single_vs_double([0.6, 0.2, 0.2]) is None


def test_a_decisive_test_decides_single_vs_double():
    """A network torn between single and double is undecided; the same picture with a test
    for a first compression decisive is double, and decided."""
    from dataclasses import replace
    from skimage.data import astronaut
    det = Detector(Fixed([0.0, 0.5, 0.5]), "fixed")
    img = jpeg.compress(astronaut(), 60)
    ev = det.blocks_and_evidence(img)
    assert det.detect(img, evidence=replace(ev, double_quantisation=0.0, second_grid=0.0,
                                            light_first=0.0))["single_vs_double"]["decided"] is False
    found = det.detect(img, evidence=replace(ev, double_quantisation=quality.DQ_DECISIVE))
    assert found["verdict"] == "double" and found["single_vs_double"] == {"confidence": 1.0, "decided": True}


def test_a_picture_turned_a_quarter_is_measured_as_it_was_compressed(detector):
    # rows and columns swapped after the compression: the detector turns it back, so its
    # blocks read what they read on the picture as compressed (the grid search, which runs
    # before the turn is known, looks at the turned picture's own windows), and it gives the
    # blocks and grids in the turned picture's own frame
    img = jpeg.compress(np.ascontiguousarray(pattern(600, 520, seed=2)[3:, 5:]), 40)[1:, 6:]
    turned = np.ascontiguousarray(np.swapaxes(img, 0, 1))
    as_compressed, r = detector.detect(img), detector.detect(turned)
    check_result(r, *turned.shape[:2])
    assert as_compressed["grid"]["transposed"] is False and r["grid"]["transposed"] is True
    for c in CLASSES:
        assert r["probabilities"][c] == pytest.approx(as_compressed["probabilities"][c], abs=0.02)
    assert r["quality"] == as_compressed["quality"]
    g, g0 = r["grid"], as_compressed["grid"]
    assert (g["dx"], g["dy"]) == (g0["dy"], g0["dx"])
    assert [(b["x"], b["y"], b["width"], b["height"], b["probabilities"]) for b in r["blocks"]] == \
        [(b["y"], b["x"], b["height"], b["width"], b["probabilities"]) for b in as_compressed["blocks"]]


def test_a_never_compressed_picture_is_not_turned(detector):
    img = pattern(520, 600, seed=2)
    for picture in (img, np.ascontiguousarray(np.swapaxes(img, 0, 1))):
        assert detector.detect(picture)["grid"]["transposed"] is False
