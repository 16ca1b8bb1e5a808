"""Quality factors: IJG tables from Pillow's own encoder, and the pixel estimate."""
import io

import numpy as np
import pytest
from PIL import Image

from dejpeg import data, jpeg, quality
import images


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


def test_lattice_count_counts_blurred_multiples_below_x():
    step = np.array([10.0])
    assert quality._lattice_count(np.array([25.0]), step, 0.5)[0] == pytest.approx(3.0)   # 0, 10, 20
    assert quality._lattice_count(np.array([10.0]), step, 0.5)[0] == pytest.approx(1.5)   # 10 is half below
    assert quality._lattice_count(np.array([0.0]), step, 0.5)[0] == pytest.approx(0.5)


@pytest.mark.parametrize("first,last", [(30, 70), (50, 80), (60, 85)])
def test_double_quantisation_finds_a_heavier_first_pass(first, last):
    """The first compression's quantiser multiples survive a lighter second one on the same
    grid: the test is decisive and names the first quality."""
    from skimage.data import astronaut
    comp = jpeg.compress_double(astronaut(), first, last, (0, 0))
    ac = quality.grid_coefficients(comp)
    evidence, q1 = quality.double_quantisation(ac, quality.quality_from_coefficients(ac))
    assert evidence >= 3 * quality.DQ_DECISIVE
    assert abs(q1 - first) <= 1


@pytest.mark.parametrize("q", [40, 70, 80, 95])
def test_double_quantisation_is_silent_on_a_single_compression(q):
    from skimage.data import astronaut
    ac = quality.grid_coefficients(jpeg.compress(astronaut(), q))
    evidence, _ = quality.double_quantisation(ac, quality.quality_from_coefficients(ac))
    assert evidence < quality.DQ_DECISIVE / 10
    clean = quality.grid_coefficients(astronaut())
    assert quality.double_quantisation(clean, quality.quality_from_coefficients(clean))[0] < 0.01
    assert quality.double_quantisation(None, q) == (0.0, None)
    assert quality.double_quantisation(ac, None) == (0.0, None)


def camera_jpeg(image, like: int, seed: int) -> np.ndarray:
    """A JPEG with a table of its own (an IJG table with steps moved by -1..+2), as cameras
    write them, decoded."""
    table = images.camera_table(like, seed)
    pixels, held = images.camera_jpeg(image, table, quality.ijg_table(like))
    assert held.tolist() == table.tolist()       # natural order both ways
    return pixels, table


@pytest.mark.parametrize("like", [60, 75, 92])
def test_last_steps_and_double_quantisation_with_a_cameras_own_table(like):
    """The steps are read from the coefficients, whatever the table; where they are not the
    estimated IJG quality's, a frequency is left out instead of read as a modulated histogram
    (a single compression with a table off the IJG scale is no double).  Where the camera's
    step is a multiple of the estimated table's (4 where IJG 92 has 2) the histogram of c / 2
    has its odd bins empty as after a heavier first pass, so the statistic is not always 0:
    on this seed 0.126 on a fresh machine of 2026-11-28 (an earlier one had read it under
    DQ_DECISIVE / 10, which this test asked until then; `double_quantisation`'s docstring gives
    0.12 as the most such tables reached on training crops).  Not decisive is what counts."""
    from skimage.data import astronaut
    pixels, table = camera_jpeg(astronaut(), like, seed=like)
    ac = quality.grid_coefficients(pixels)
    steps = quality.last_steps(ac)
    truth = table[quality.ZIGZAG[1:1 + len(steps)]]
    read = (steps > 0) & (truth >= 2)
    assert read.sum() >= 8 and np.array_equal(steps[read], truth[read])
    assert quality.double_quantisation(ac, quality.quality_from_coefficients(ac))[0] < quality.DQ_DECISIVE


def file_table(data: bytes) -> np.ndarray:
    return np.array(Image.open(io.BytesIO(data)).quantization[0])


@pytest.mark.parametrize("first,last", [(50, 97), (70, 95), (50, 90)])
def test_coefficients_coarser_than_the_files_own_table_show_a_first_compression(first, last):
    """QF 97 after QF 50: the pixels read QF 50's steps (the histogram test sees nothing),
    the file says QF 97: a heavier compression came first, and its quality is named."""
    from skimage.data import astronaut
    import images
    once = jpeg.compress(astronaut(), first)
    data = images.jpeg(once, last)
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    ac = quality.grid_coefficients(pixels)
    count, q1 = quality.coarser_than_table(quality.last_steps(ac), file_table(data))
    assert count >= quality.COARSER_DECISIVE and abs(q1 - first) <= 2     # neighbours share steps


@pytest.mark.parametrize("q", [60, 90, 97, 99])
def test_a_single_jpeg_is_never_coarser_than_its_own_table(q):
    from skimage.data import astronaut
    import images
    data = images.jpeg(astronaut(), q)
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    steps = quality.last_steps(quality.grid_coefficients(pixels))
    assert quality.coarser_than_table(steps, file_table(data)) == (0, None)
    pixels, table = camera_jpeg(astronaut(), 92, seed=q)          # a camera's own table too
    steps = quality.last_steps(quality.grid_coefficients(pixels))
    assert quality.coarser_than_table(steps, table)[0] == 0


def test_quality_from_pixels_checks_the_steps_it_reads():
    """The middle of scikit-image's retina picture at QF 20: few busy blocks, and over all
    its coefficients a fine table (QF 69) scores best, while the low frequencies plainly read
    QF 20's steps; the estimate follows the steps read."""
    from skimage.data import retina
    comp = jpeg.compress(np.ascontiguousarray(retina()[577:833, 577:833, :3]), 20)
    ac = quality.grid_coefficients(comp)
    seen = quality.last_steps(ac)
    table = quality.ijg_table(20)[quality.ZIGZAG[1:1 + len(seen)]]
    read = seen >= 5                                            # what the check reads
    assert read.sum() >= 2 and np.all(np.abs(seen[read] - table[read]) <= 2)
    assert abs(quality.quality_from_coefficients(ac) - 20) <= 1
    # the steps read decide: told the steps read nothing, the estimate is the whole-table fit
    assert quality.quality_from_coefficients(ac, np.zeros_like(seen)) > 60


# --- a lighter first compression on the same grid (a camera's JPEG resaved) ------------------

def test_lattice_share_counts_the_first_steps_multiples_in_each_bin():
    """Bins of width 7 around 7 k catch 3, 2, 2, 3, 2, ... multiples of 3 (relative to 7 / 3),
    symmetric about 0; a multiple on a bin edge (12 between the bins around 8 and 16) is
    spread over both by the blur; every bin catches the same where the steps divide."""
    share = quality._lattice_share(3, 7, -4, 4, noise=0.01) * 7 / 3
    np.testing.assert_allclose(share, [2, 3, 2, 2, 3, 2, 2, 3, 2], atol=1e-6)
    edge = quality._lattice_share(3, 8, -2, 2, noise=0.01) * 8 / 3
    np.testing.assert_allclose(edge, [2.5, 2.5, 3, 2.5, 2.5], atol=1e-6)
    np.testing.assert_allclose(quality._lattice_share(2, 8, -3, 3), np.ones(7), atol=1e-6)
    # wide bins, far out: every multiple is counted (49 multiples of 3 in [-72.5, 72.5))
    np.testing.assert_allclose(quality._lattice_share(2, 28, -2, 2), np.ones(5), atol=1e-6)
    assert quality._lattice_share(3, 29, -2, 2, noise=0.01).sum() * 29 / 3 == pytest.approx(49, abs=1e-6)
    # several first steps at once: each row as that step alone gives it
    many = quality._lattice_share([2, 3, 5], 7, -4, 4)
    assert many.shape == (3, 9)
    for row, q1 in zip(many, (2, 3, 5)):
        np.testing.assert_array_equal(row, quality._lattice_share(q1, 7, -4, 4))


def test_poisson_fit_starts_near_its_answer():
    """A histogram whose zero bin holds a hundred times its neighbours, as the light-first test
    reads them: from the weighted least-squares start Newton is done in a few steps (from a
    flat start it took 11-22), and the answer is the same."""
    u = np.arange(-8, 9) / 8
    design = np.stack([np.ones_like(u), u, np.abs(u), u ** 2, np.abs(u) ** 3, (u == 0) * 1.0], axis=1)
    counts = np.round(3000 * np.exp(-6 * np.abs(u))) + 200000 * (u == 0)
    mu, beta = quality._poisson_fit(counts, design, 30, 1e-10)
    early, beta5 = quality._poisson_fit(counts, design, 5, 1e-10)
    np.testing.assert_allclose(beta5, beta, atol=1e-8)
    assert abs(mu.sum() - counts.sum()) < 1e-6 * counts.sum()


def test_the_quality_read_and_the_turns_check_share_their_table_scores():
    """`table_scores` scores the clearly non-zero coefficients once against the 100 tables;
    the quality read and the turn's check give the same with it as without it."""
    from skimage.data import astronaut
    for img in (jpeg.compress(astronaut(), 60), np.ascontiguousarray(np.rot90(jpeg.compress(astronaut(), 40)))):
        ac = quality.grid_coefficients(img)
        scores = quality.table_scores(ac)
        assert scores.score.shape == (100,) and len(scores.values) == len(scores.freq) >= 50
        assert quality.quality_from_coefficients(ac, None, scores) == quality.quality_from_coefficients(ac)
        assert quality.turn_gain(ac, scores) == quality.turn_gain(ac)
        assert quality.transposed(ac, scores) == quality.transposed(ac)
    assert quality.table_scores(None) is None
    assert quality.table_scores(np.zeros((100, 63), np.float32)) is None


def test_light_first_pass_finds_a_cameras_jpeg_resaved():
    """A camera's kind of table (IJG's at 92 with every step one coarser) on a camera
    pipeline's picture, resaved at QF 75: the last steps' histograms alternate as the first
    pass's finer multiples fall two or three to a bin, and the test is decisive.  The same
    picture saved once at QF 75, or at the camera's table alone, is not; nor is a first pass
    whose steps divide the last ones (2 then 8: every bin catches four), which leaves no trace
    at all; nor a heavier first pass (that is `double_quantisation`'s)."""
    from skimage.data import coffee
    cam = images.camera_picture()
    camera_made = images.camera_jpeg(cam, images.camera_table())[0]
    stat = lambda img: quality.light_first_pass(quality.grid_coefficients(img))[0]
    resaved = stat(jpeg.compress(camera_made, 75))
    assert resaved >= quality.LIGHT_DECISIVE
    for single in (jpeg.compress(cam, 75), camera_made, jpeg.compress(coffee(), 75),
                   jpeg.compress(coffee(), 50)):
        assert stat(single) < quality.LIGHT_DECISIVE / 2
    flat = lambda q: np.full(64, q)
    first = images.camera_jpeg(cam, flat(2))[0]
    assert stat(images.camera_jpeg(first, flat(8))[0]) < quality.LIGHT_DECISIVE / 2
    # a heavier first pass leaves empty bins, which a first step of 2/3 the last's can half
    # follow (27 here): below the threshold; double_quantisation is the test for those
    assert stat(jpeg.compress_double(coffee(), 50, 70)) < quality.LIGHT_DECISIVE
    assert quality.light_first_pass(None) == (0.0, None)
    assert stat(np.full((64, 64, 3), 128, np.uint8)) == 0.0      # nothing to read


def test_light_first_pass_survives_a_histogram_of_two_bins():
    """A histogram whose only filled bins are 0 and one far out (a training crop saved at QF 65
    then 97 read so: 13,621 zeros and 66 coefficients 11 steps of 56 out) made every first
    step's Poisson fit singular, and /detect would have failed on that picture.  The fit now
    answers, with nothing to show for a first pass."""
    ac = np.zeros((13687, quality.DQ_FREQUENCIES))
    ac[:66, 1] = -11 * 56
    seen = np.zeros(quality.DQ_FREQUENCIES)
    seen[1] = 56
    evidence, first = quality.light_first_pass(ac, seen)
    assert evidence < quality.LIGHT_DECISIVE and first is None
    # the fit itself, on the same two bins: finite means and coefficients
    counts = np.zeros(23)
    counts[0], counts[11] = 66, 13621
    u = np.arange(-11, 12) / 11
    design = np.stack([np.ones_like(u), u, np.abs(u), u ** 2, np.abs(u) ** 3, (u == 0) * 1.0], axis=1)
    mu, beta = quality._poisson_fit(counts, design, 30, 1e-8)
    assert np.isfinite(mu).all() and np.isfinite(beta).all()
    assert abs(mu.sum() - counts.sum()) < 1e-3 * counts.sum()


def test_light_first_pass_finds_a_jpeg_resaved_a_few_qualities_lower(monkeypatch):
    """QF 85 then 75 (most first steps over half the last: each bin of the last catches one or
    two of the first's multiples) and QF 70 then 50 are decisive; the same pictures saved
    once at 75 or 50 are not.  First steps are tried up to 2 q2 / 3 (LIGHT_MAX_RATIO): up to
    q2 / 2 alone, the pair 85/75 is not found."""
    from skimage.data import astronaut, coffee
    test = lambda img: quality.light_first_pass(quality.grid_coefficients(img))
    stat = lambda img: test(img)[0]
    for pic in (coffee(), astronaut()):
        evidence, first = test(jpeg.compress_double(pic, 85, 75))
        assert evidence >= 2 * quality.LIGHT_DECISIVE and first == 85     # and names the first
        assert stat(jpeg.compress(pic, 75)) < quality.LIGHT_DECISIVE / 4
        assert stat(jpeg.compress(pic, 50)) < quality.LIGHT_DECISIVE / 4
    evidence, first = test(jpeg.compress_double(astronaut(), 70, 50))
    assert evidence >= quality.LIGHT_DECISIVE and abs(first - 70) <= 1
    monkeypatch.setattr(quality, "LIGHT_MAX_RATIO", 0.5)
    for pic in (coffee(), astronaut()):
        assert stat(jpeg.compress_double(pic, 85, 75)) < quality.LIGHT_DECISIVE


# --- the DC coefficients: a lighter first pass's lattice in the block means ---------------------

def test_grid_coefficients_give_the_dc_as_jpeg_has_it():
    """A flat block of grey v has DC 8 (v - 128): JPEG's level shift, the orthonormal DCT's 8.
    The AC coefficients are those of the plain reading."""
    grey = np.zeros((32, 32, 3), np.uint8) + np.array([[[100]], [[140]], [[200]], [[30]]]).repeat(8, 0)
    ac, dc = quality.grid_coefficients(grey, with_dc=True)
    np.testing.assert_allclose(dc, np.repeat(8.0 * (np.array([100, 140, 200, 30]) - 128), 4), atol=1e-3)
    np.testing.assert_array_equal(ac, quality.grid_coefficients(grey))
    assert quality.grid_coefficients(grey[:8], with_dc=True) == (None, None)


def test_nested_readings_are_the_two_readings_made_apart():
    """The detector reads the central 768 px and, for the lighter-first test, the central
    2048 px of a large picture in one go (`nested_readings`): the same numbers in the same
    order as two readings made apart, on a shifted grid, with clipped blocks left out, and on
    a transposed view (a turned picture read the way it was compressed); and the picture
    transposed back reads what `transposed_reading` makes of them."""
    from skimage.data import astronaut
    big = np.tile(jpeg.compress(astronaut(), 60), (3, 2, 1))[:1400, :1000]      # 1400 x 1000
    big[:40, :40] = 255                                                           # clipped blocks
    for image, offset in ((big, (3, 5)), (np.swapaxes(big, 0, 1), (5, 3)), (big[:900, :900], (0, 0))):
        inner, outer = quality.nested_readings(image, offset, 768, 1200)
        for got, side in ((inner, 768), (outer, 1200)):
            ac, dc = quality.grid_coefficients(image, offset, side, with_dc=True)
            assert got.ac.shape == ac.shape and got.dc.shape == dc.shape
            np.testing.assert_array_equal(got.ac, ac)
            np.testing.assert_array_equal(got.dc, dc)
            # and what the picture transposed reads, from this reading alone
            turned = quality.grid_coefficients(np.swapaxes(image, 0, 1), offset[::-1], side, with_dc=True)
            np.testing.assert_array_equal(quality.transposed_reading(got).ac, turned[0])
            np.testing.assert_array_equal(quality.transposed_reading(got).dc, turned[1])
    assert len(inner.ac) < len(outer.ac)
    assert quality.nested_readings(big[:10], (0, 0), 768, 1200) == (None, None)


@pytest.mark.parametrize("q, step", [(10, 80), (30, 27), (50, 16)])
def test_last_dc_step_reads_the_last_passs_dc_step(q, step):
    """QF 10, 30 and 50 have DC steps of 80, 27 and 16 (IJG's); a never-compressed picture's
    block means sit on no step; after QF 50 then 30 the last step is read."""
    from skimage.data import astronaut, coffee
    for pic in (astronaut(), coffee()):
        _, dc = quality.grid_coefficients(jpeg.compress(pic, q), with_dc=True)
        assert quality.last_dc_step(dc) == step == quality.ijg_table(q)[0]
        assert quality.last_dc_step(quality.grid_coefficients(pic, with_dc=True)[1]) == 0
    _, dc = quality.grid_coefficients(jpeg.compress_double(astronaut(), 50, 30), with_dc=True)
    assert quality.last_dc_step(dc) == 27
    assert quality.last_dc_step(np.zeros(0)) == 0


def test_dc_first_gains_find_a_lighter_first_pass_and_its_step():
    """QF 50 then 30 on the same grid: every third bin of the DC histogram (step 27) holds one
    multiple of the first step 16, the others two; the gain names 16.  A single compression at
    30 shows no such lattice; nor does a first step dividing the last (QF 50 then 10: 16 and
    80), which leaves none; nor a heavier first pass (30 then 50: steps of 27 under 16)."""
    from skimage.data import astronaut, coffee
    gains = lambda img: quality.dc_first_gains(quality.grid_coefficients(img, with_dc=True)[1])
    for pic in (astronaut(), coffee()):
        double = gains(jpeg.compress_double(pic, 50, 30))
        assert max(double, key=double.get) == 16 and double[16] >= 30
        for single in (jpeg.compress(pic, 30), jpeg.compress_double(pic, 50, 10),
                       jpeg.compress_double(pic, 30, 50)):
            assert max(gains(single).values(), default=0.0) < 10
    assert quality.dc_first_gains(None) == {} == gains(np.full((64, 64, 3), 90, np.uint8))


def test_light_first_pass_reads_the_dc_too():
    """On astronaut saved at QF 50 then 30 the AC histograms alone leave the test short of
    decisive; with the DC's lattice it is, and names the first quality (50, whose DC step is
    16).  The same picture saved once at 30 stays far from it."""
    from skimage.data import astronaut
    ac, dc = quality.grid_coefficients(jpeg.compress_double(astronaut(), 50, 30), with_dc=True)
    assert quality.light_first_pass(ac)[0] < quality.LIGHT_DECISIVE
    evidence, first = quality.light_first_pass(ac, dc=dc)
    assert evidence >= quality.LIGHT_DECISIVE and first == 50
    ac, dc = quality.grid_coefficients(jpeg.compress(astronaut(), 30), with_dc=True)
    assert quality.light_first_pass(ac, dc=dc)[0] < quality.LIGHT_DECISIVE / 4


def test_other_grid_dc_finds_the_first_grid_of_a_jpeg_cropped_and_resaved():
    """QF 50 (DC step 16), cropped 3 px left and 5 top, saved at 70 or 80: the block means of
    the first grid, now at (5, 3), still sit on multiples of 16, and no other grid's do; the
    same pictures saved once at 60-75 show no grid apart; after a last pass as heavy as QF 30
    (DC step 27) nothing is read."""
    from skimage.data import astronaut, chelsea, coffee
    test = lambda img: quality.other_grid_dc(
        img, (0, 0), quality.last_dc_step(quality.grid_coefficients(img, with_dc=True)[1]))
    for pic in (astronaut(), coffee(), chelsea()):
        for last in (70, 80):
            z, grid, step = test(jpeg.compress_double(pic, 50, last, (3, 5)))
            assert grid == (5, 3) == data.grid_after_crop((3, 5)) and step == 16
            assert z >= quality.GRID_DC_DECISIVE
        for q in (60, 70, 75):
            assert test(jpeg.compress(pic, q))[0] < quality.GRID_DC_DECISIVE / 1.5
        assert test(jpeg.compress(pic, 30)) == (0.0, (0, 0), 0)
    assert quality.other_grid_dc(np.zeros((16, 16, 3), np.uint8), (0, 0), 10) == (0.0, (0, 0), 0)


def test_quality_of_dc_step_names_the_ijg_quality():
    """IJG's luma DC step is 16 at QF 49-51 (the middle: 50), 27 at QF 30 alone, 80 at QF 10;
    no IJG quality has a DC step of 0."""
    assert quality.quality_of_dc_step(16) == 50
    assert quality.quality_of_dc_step(27) == 30 and quality.quality_of_dc_step(80) == 10
    assert quality.quality_of_dc_step(0) is None
    for q in (20, 30, 50, 75, 90):
        assert quality.ijg_table(quality.quality_of_dc_step(int(quality.ijg_table(q)[0])))[0] == quality.ijg_table(q)[0]


def test_outline_basis_and_longest_run():
    """The outline's B-splines with the constant span a smooth curve's log and nothing as
    rough as a lattice's alternation; the longest run of full bins is found."""
    basis = quality._outline_basis(40, 4)
    x = np.arange(40)
    for target, close in ((np.log(1 + x) - 0.002 * x ** 2, True), ((x % 3 == 0) * 1.0, False)):
        fit = basis @ np.linalg.lstsq(basis, target, rcond=None)[0]
        assert (np.abs(fit - target).max() < 0.05) == close
    assert quality._longest_run(np.array([1, 1, 0, 1, 1, 1, 0, 1], bool)) == (3, 3)
    assert quality._longest_run(np.zeros(4, bool)) == (0, 0)


def test_transpose_order_is_the_dct_of_the_transposed_block():
    # ac[:, _TRANSPOSE] must be exactly what the transposed picture's blocks give
    from dejpeg import features
    block = np.random.default_rng(3).normal(size=(8, 8))
    d = features.dct_matrix(8)
    ac = (d @ block @ d.T).ravel()[features.ZIGZAG[1:]]
    ac_of_transpose = (d @ block.T @ d.T).ravel()[features.ZIGZAG[1:]]
    np.testing.assert_allclose(ac[quality._TRANSPOSE], ac_of_transpose, atol=1e-12)


@pytest.mark.parametrize("q", [30, 50, 75])
def test_a_picture_turned_a_quarter_after_compression_is_told_and_its_quality_kept(q):
    img = jpeg.compress(images.pattern(384, 512, seed=4), q)
    turned = np.ascontiguousarray(np.rot90(img))          # a portrait photo shown upright
    assert not quality.transposed(quality.grid_coefficients(img))
    assert quality.transposed(quality.grid_coefficients(turned))
    assert quality.quality_from_pixels(img) == q
    assert quality.quality_from_pixels(turned) == q


def test_a_never_compressed_picture_is_not_called_turned():
    img = images.pattern(384, 512, seed=4)
    assert not quality.transposed(quality.grid_coefficients(img))
    assert not quality.transposed(quality.grid_coefficients(np.ascontiguousarray(np.rot90(img))))


def sky_with_patches(seed: int, side: int = 384) -> np.ndarray:
    """A smooth gradient (a sky) with a few noisy round patches: after a heavy compression
    most of its blocks keep only the decoder's rounding staircase."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side].astype(float)
    base = 40 + rng.uniform(0.1, 0.4) * y + rng.uniform(-0.1, 0.1) * x
    img = np.stack([base, base * 0.9 + 10, base * 0.8 + 30], -1)
    for _ in range(int(rng.integers(1, 4))):
        cy, cx, r = rng.integers(0, side), rng.integers(0, side), rng.integers(20, 60)
        patch = (y - cy) ** 2 + (x - cx) ** 2 < r ** 2
        img[patch] += rng.normal(0, 25, (patch.sum(), 3))
    return np.clip(np.rint(img), 1, 254).astype(np.uint8)


@pytest.mark.parametrize("seed", [10, 13, 31])
def test_a_smooth_picture_reads_its_heavy_quality_not_the_decoders_rounding(seed):
    # the staircase leaves coefficients of about 2 that a QF 95 table fits (read so before
    # LIGHT_TABLE_MIN_FIT); that table fits the large coefficients no better than chance
    ac = quality.grid_coefficients(jpeg.compress(sky_with_patches(seed), 50))
    assert quality.quality_from_coefficients(ac) == 50


def test_the_turn_gain_is_each_way_rounds_best_fit_whatever_quality_is_read(monkeypatch):
    # symmetric, and no misread quality can make it: it reads none
    for img in (jpeg.compress(images.pattern(384, 512, seed=4), 50),
                jpeg.compress(sky_with_patches(10), 50)):
        ac = quality.grid_coefficients(img)
        gain = quality.turn_gain(ac)
        assert quality.turn_gain(ac[:, quality._TRANSPOSE]) == pytest.approx(-gain, abs=1e-9)
        monkeypatch.setattr(quality, "quality_from_coefficients", lambda *a, **k: 96)
        assert quality.turn_gain(ac) == gain
        monkeypatch.undo()
    assert quality.turn_gain(None) is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_lighter_last_pass_on_the_same_grid_reads_the_last_quality(seed):
    # QF 18's steps are about twice QF 36's: once requantised at 36 the coefficients fit
    # both tables, and the coarser was read (18) before `_lighter_last`; where 18's step
    # is no multiple of 36's they sit on 36's lattice, as a single QF 18 leaves them only
    # by chance
    img = images.pattern(384, 512, seed=seed)
    ac = quality.grid_coefficients(jpeg.compress_double(img, 18, 36))
    assert quality.quality_from_coefficients(ac) == 36
    assert quality.quality_from_coefficients(quality.grid_coefficients(jpeg.compress(img, 18))) == 18


@pytest.mark.parametrize("seed", [0, 2])
def test_a_lighter_last_table_that_fits_clearly_better_than_the_heavier_is_read(seed, monkeypatch):
    # (80, 95): where QF 80's step is no multiple of 95's, the coefficients sit on 95's
    # lattice (0.88 of them) far more than on 80's (0.57) -- under the 0.9 that the first
    # rule asks, so the comparison of the two tables is what reads 95; a single QF 80's own
    # table fits its coefficients there (0.99) far better than 95's (0.38) and stays 80
    img = images.pattern(384, 512, seed=seed)
    double = quality.grid_coefficients(jpeg.compress_double(img, 80, 95))
    single = quality.grid_coefficients(jpeg.compress(img, 80))
    assert quality.quality_from_coefficients(double) == 95
    assert quality.quality_from_coefficients(single) == 80
    monkeypatch.setattr(quality, "LIGHTER_LAST_MIN_FIT", 1.01)     # the first rule alone
    assert quality.quality_from_coefficients(double) == 80


def test_a_heavy_tables_staircase_is_not_read_as_a_lighter_last_table(monkeypatch):
    # a steep smooth ramp beside a textured area, at QF 20: the decoder's staircase moves the
    # ramp's first coefficients off QF 20's multiples and onto a lighter table's, which the
    # comparison of `_lighter_last` would take; it is not made under QF 25
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:512, 0:512].astype(float)
    ramp = 30 + (1.2 * x + rng.uniform(0.1, 0.5) * y) % 190
    img = np.stack([ramp, ramp * 0.9 + 10, ramp * 0.8 + 30], -1)
    img = np.where((x < 160)[..., None], images.pattern(512, 512, seed=1).astype(float), img)
    ac = quality.grid_coefficients(jpeg.compress(np.clip(np.rint(img), 1, 254).astype(np.uint8), 20))
    assert abs(quality.quality_from_coefficients(ac) - 20) <= 1
    monkeypatch.setattr(quality, "LIGHTER_LAST_COMPARED_FROM", 0)
    assert quality.quality_from_coefficients(ac) >= 30


@pytest.mark.parametrize("seed", [20, 33, 34])
def test_a_heavy_compressions_staircase_does_not_read_as_a_light_table(seed, monkeypatch):
    # a sky at QF 11: the decoder's staircase moves its few large coefficients 1.5-3 off
    # QF 11's multiples, so a QF 98-99 table fitted them better and was read; within the
    # staircase's spread they all sit on QF 11's
    ac = quality.grid_coefficients(jpeg.compress(sky_with_patches(seed), 11))
    assert quality.quality_from_coefficients(ac) == 11
    monkeypatch.setattr(quality, "STAIRCASE_FIT", 1.01)       # without the check
    assert quality.quality_from_coefficients(ac) >= 95


def test_the_staircase_check_keeps_a_lighter_table_over_a_heavier_first_pass(monkeypatch):
    # the same sky, as if the double-quantisation test found a first pass under the light
    # table: that table came last, and the heavy multiples are the first pass's
    ac = quality.grid_coefficients(jpeg.compress(sky_with_patches(20), 11))
    monkeypatch.setattr(quality, "double_quantisation", lambda *a: (1.0, 11))
    assert quality.quality_from_coefficients(ac) >= 95


def test_staircase_fits_allow_the_spread_off_zero_only():
    q = np.array([27.0, 27.0, 27.0, 27.0, 4.0, 4.0])
    values = np.array([28.5, 30.0, 31.0, 2.0, 4.5, 6.0])
    # 28.5 and 30 within 27/8 of 27; 31 is not; 2 is off 0 by more than 1; steps of 4 keep
    # the tolerance of 1
    assert list(quality._staircase_fits(values, q)) == [True, True, False, False, True, False]


def test_the_staircase_check_looks_at_heavy_tables_only(monkeypatch):
    # large coefficients on odd multiples of QF 83's steps of 3 and 5, which QF 92's steps
    # of 2 do not fit: a light sky's few large coefficients under the decoder's noise look so
    # to a light table; QF 83 is no heavy table whose staircase could explain them
    rng = np.random.default_rng(0)
    freq = rng.choice([2, 4, 5], 200)
    large = (rng.choice([-5, -3, 3, 5], 200) * quality._AC_STEPS[82][freq]).astype(np.float32)
    args = (np.zeros(100), large, freq, np.zeros((10, 63), np.float32), np.zeros(15))
    assert quality._heavier_under_staircase(91, *args) == 91
    monkeypatch.setattr(quality, "STAIRCASE_MAX_QUALITY", 100)
    assert quality._heavier_under_staircase(91, *args) == 82


@pytest.mark.parametrize("first, last", [(20, 57), (21, 46)])
def test_the_decoders_pixels_name_a_lighter_last_table_after_a_heavier_first(first, last):
    """A heavier first pass and a lighter last one on the same grid: the coefficients still
    fit the first table best within the tolerances, and the read without the blocks' pixels
    names (about) the first quality.  Only the last table gives every block back to the
    pixel through the decoder's inverse DCT (`quality.exact_last_table`), so with the DC
    coefficients the read is the last quality; a single's read stands, its own table giving
    its blocks back, a heavier table not."""
    from images import pattern
    img = pattern(384, 384, seed=0)
    ac, dc = quality.grid_coefficients(jpeg.compress(jpeg.compress(img, first), last), (0, 0),
                                       with_dc=True)
    assert abs(quality.quality_from_coefficients(ac) - first) <= 3
    assert quality.quality_from_coefficients(ac, dc=dc) == last
    ac, dc = quality.grid_coefficients(jpeg.compress(img, last), (0, 0), with_dc=True)
    assert quality.quality_from_coefficients(ac, dc=dc) == quality.quality_from_coefficients(ac) == last
    coefficients, pixels = quality.decoded_blocks(ac, dc, sample=len(ac))
    assert len(pixels) == len(ac)
    assert quality._gives_back(coefficients, pixels, last - 1) == 1.0
    assert quality._gives_back(coefficients, pixels, last - 11) < 0.9


def test_the_exact_check_takes_no_table_with_steps_of_1():
    """Fine steps can give back a heavier table's blocks, so the check looks no lighter than
    QF 92 (`EXACT_LIGHTEST`): a (50, 97) double stays read as its first pass."""
    from images import pattern
    img = pattern(384, 384, seed=0)
    ac, dc = quality.grid_coefficients(jpeg.compress(jpeg.compress(img, 50), 97), (0, 0),
                                       with_dc=True)
    assert quality.quality_from_coefficients(ac, dc=dc) == quality.quality_from_coefficients(ac) == 50
