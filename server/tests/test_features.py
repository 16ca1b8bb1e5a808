"""DCT-histogram features, block selection and grid search against slow direct references."""
import numpy as np
import pytest
from scipy.fft import dctn

from dejpeg import features, jpeg


def reference_histograms(block: np.ndarray) -> np.ndarray:
    """Direct transcription of DESIGN.md: per 8x8 block DCT, then 120 bins per frequency."""
    hist = np.zeros((120, 64), np.float64)
    for by in range(0, 256, 8):
        for bx in range(0, 256, 8):
            coef = dctn(block[by:by + 8, bx:bx + 8].astype(np.float64), norm="ortho").reshape(64)
            coef = np.round(coef, 6)   # exact integers stay integers (see dct_histograms)
            for f, c in enumerate(coef):
                for k in range(120):
                    b = k - 60
                    if b < c <= b + 1:
                        hist[k, f] += 1
    return hist / 1024


def test_histograms_match_reference():
    rng = np.random.default_rng(0)
    smooth = np.cumsum(rng.normal(0, 3, (256, 256)), axis=1) % 256
    blocks = np.stack([rng.integers(0, 256, (256, 256)).astype(np.float32),
                       smooth.astype(np.float32)])
    got = features.dct_histograms(blocks)
    assert got.shape == (2, 120, 64, 1)
    for i in range(2):
        np.testing.assert_allclose(got[i, ..., 0], reference_histograms(blocks[i]), atol=1e-7)


def test_dct_matrix_is_orthonormal_dct_ii():
    x = np.random.default_rng(1).normal(size=(8, 8))
    d = features.dct_matrix()
    np.testing.assert_allclose(d @ x @ d.T, dctn(x, norm="ortho"), atol=1e-10)


def test_luma_is_bt601():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]], np.uint8)
    np.testing.assert_allclose(features.luma(rgb)[0], [76.245, 149.685, 29.07, 18.15], atol=1e-3)


def test_blocks_cover_large_images_and_stay_on_grid():
    blocks = features.select_blocks(4000, 3000, offset=(3, 5))
    assert 1 <= len(blocks) <= features.MAX_BLOCKS
    assert all((b.x - 3) % 8 == 0 and (b.y - 5) % 8 == 0 for b in blocks)
    assert all(b.x + 256 <= 4000 and b.y + 256 <= 3000 for b in blocks)
    assert min(b.x for b in blocks) < 400 and max(b.x for b in blocks) > 3300   # spread out
    assert len({(b.x, b.y) for b in blocks}) == len(blocks)


def test_all_blocks_when_they_fit():
    blocks = features.select_blocks(1024, 768)
    assert len(blocks) == 12
    assert not any(b.tiled for b in blocks)


def test_small_image_is_tiled_from_real_grid_blocks():
    rgb = np.random.default_rng(2).integers(0, 256, (100, 60, 3), dtype=np.uint8)
    feats, blocks, _ = features.image_features(rgb, offset=(0, 0))
    assert len(blocks) == 1 and blocks[0].tiled
    assert (blocks[0].width, blocks[0].height) == (56, 96)
    tiled = features.extract_blocks(rgb, blocks)[0]
    # every 8x8 block of the tiled block is an 8x8 block of the image on its grid
    y = features.luma(rgb)
    np.testing.assert_array_equal(tiled[96:104, 56:64], y[0:8, 0:8])
    assert feats.shape == (1, 120, 64, 1)


def test_too_small_image_is_refused():
    with pytest.raises(ValueError):
        features.select_blocks(7, 100)


@pytest.mark.parametrize("shift", [(0, 0), (3, 5), (7, 1)])
def test_grid_search_finds_the_jpeg_grid_after_a_crop(shift):
    rng = np.random.default_rng(3)
    base = np.cumsum(rng.normal(0, 4, (320, 320, 3)), axis=0)
    img = np.clip(base - base.min(), 0, 255).astype(np.uint8)
    comp = jpeg.compress(img, 50)
    dx, dy = shift
    cropped = np.ascontiguousarray(comp[dy:, dx:])
    assert features.grid_offset(cropped) == ((8 - dx) % 8, (8 - dy) % 8)


def test_grid_search_looks_where_the_picture_has_texture():
    """A picture flat in the middle (a rendered wallpaper, a sky) still shows its grid: the
    search takes the busiest window, not the central one."""
    from skimage.data import astronaut
    img = np.array(astronaut()[:, :, :])                # 512 x 512
    big = np.full((900, 900, 3), 128, np.uint8)         # flat but for one corner
    big[:512, :512] = img
    comp = jpeg.compress(big, 60)[5:, 3:]               # cropped: grid at (5, 3)
    score, (x0, y0) = features.grid_scores(comp)
    assert x0 < 512 - 256 + 64 and y0 < 512 - 256 + 64  # the window is on the photo
    offset, evidence = features.grid_search(comp)
    assert offset == (5, 3) and evidence > 0.1
    assert features.busiest_window(big, 256) != ((900 - 256) // 2,) * 2


@pytest.mark.parametrize("h, w", [(300, 280), (40, 300), (120, 64)])
def test_grid_scores_match_a_direct_dct_of_each_shifted_crop(h, w):
    """The separable computation in grid_scores against the plain one: the share of
    near-zero AC coefficients of the 2-D block DCT of each of the 64 shifted crops."""
    img = jpeg.compress(np.random.default_rng(h).integers(0, 256, (h, w, 3), dtype=np.uint8), 40)
    score, (x0, y0) = features.grid_scores(img)
    side_y, side_x = min(256, (h - 8) // 8 * 8), min(256, (w - 8) // 8 * 8)
    area = features.luma(img).astype(np.float64)
    for sy in range(8):
        for sx in range(8):
            crop = area[y0 + sy:y0 + sy + side_y, x0 + sx:x0 + sx + side_x]
            ac = features.block_dct(crop)[..., 1:]
            assert score[sy, sx] == pytest.approx((np.abs(ac) < 0.5).mean(), abs=1e-12)


def test_busiest_window_counts_textured_unclipped_blocks():
    """Texture in a corner wins over a flat middle; clipped texture (0 or 255 in a channel)
    counts for nothing."""
    rng = np.random.default_rng(5)
    img = np.full((512, 512, 3), 100, np.uint8)
    img[:256, 256:] = rng.integers(20, 230, (256, 256, 3))          # textured: top right
    assert features.busiest_window(img, 256) == (256, 0)
    clipped = img.copy()
    clipped[:256, 256:, 0] = np.where(rng.random((256, 256)) < 0.5, 0, 255)
    clipped[256:, :256] = rng.integers(20, 230, (256, 256, 3))      # textured: bottom left
    assert features.busiest_window(clipped, 256) == (0, 256)
    grey = img[..., 1].copy()                                         # one channel works too
    assert features.busiest_window(grey, 256) == (256, 0)


@pytest.mark.parametrize("shift", [(0, 0), (3, 5)])
def test_a_qf100_jpeg_shows_its_grid_by_the_whole_number_lattice(shift):
    """At QF 100 every step is 1: no coefficient is zeroed and the zeros show no grid, but
    on the encoder's grid the decoded coefficients sit near whole numbers; a never-compressed
    picture's do on no grid.  The z-scores are the mean of cos(2 pi c) over the AC
    coefficients with |c| >= 1, against the median of the 64 grids, in standard errors; the
    evidence is the best grid's margin over the next."""
    from dejpeg.detector import LATTICE_DECISIVE
    rng = np.random.default_rng(4)
    base = np.cumsum(rng.normal(0, 4, (320, 320, 3)), axis=0)
    img = np.clip(base - base.min() + 20, 0, 235).astype(np.uint8)
    dx, dy = shift
    comp = np.ascontiguousarray(jpeg.compress(img, 100)[dy:, dx:])
    assert features.grid_search(comp)[1] < features.GRID_MIN_EVIDENCE   # the zeros see nothing
    scan = features.lattice_scan(comp)
    offset, z = scan.best()
    assert offset == ((8 - dx) % 8, (8 - dy) % 8) and z >= LATTICE_DECISIVE
    assert scan.at(offset) == z
    off_grid = scan.z.copy()
    off_grid[np.unravel_index(np.argmax(off_grid), off_grid.shape)] = -np.inf
    assert off_grid.max() < 5                          # every other grid: no lattice
    clean = features.lattice_scan(np.ascontiguousarray(img[dy:, dx:]))
    assert clean.best()[1] < 5
    # the z-score of a grid is its mean cos against the others', read directly
    x0, y0 = scan.origin
    means = np.empty((8, 8))
    area = np.round(features.luma(comp)).astype(np.float64)     # the decoder's Y plane
    for sy in range(8):
        for sx in range(8):
            ac = features.block_dct(area[y0 + sy:y0 + sy + 256, x0 + sx:x0 + sx + 256])[..., 1:]
            ac = ac.astype(np.float32)                 # as the scan reads them: many sit at 1 exactly
            ac = ac[np.abs(ac) >= features.LATTICE_MIN]
            means[sy, sx] = np.cos(2 * np.pi * ac).mean()
    sy, sx = (offset[1] - y0) % 8, (offset[0] - x0) % 8
    n = (np.abs(features.block_dct(area[y0 + sy:y0 + sy + 256, x0 + sx:x0 + sx + 256])[..., 1:]
                .astype(np.float32)) >= features.LATTICE_MIN).sum()
    assert scan.z[sy, sx] == pytest.approx((means[sy, sx] - np.median(means)) / np.sqrt(0.5 / n), rel=5e-3)   # float32 cos
    assert z == pytest.approx(scan.z[sy, sx] - np.sort(scan.z.ravel())[-2])   # the margin over the next grid


def test_the_luma_rounded_is_the_decoders_y_plane_and_shows_its_lattice_twice_as_clearly():
    """A decoder turns whole-number Y, Cb, Cr into R, G, B by adding to Y what Cb and Cr give,
    each rounded; the luma weights undo those additions to within 0.5, so the luma of the
    decoded R, G, B rounded is the decoder's Y plane wherever nothing was clipped.  That plane
    holds only the decoder's rounding of Y (a spread of 0.29 in DCT units), not the further
    0.2 of rounding R, G and B: the lattice's mean cos, exp(-2 pi^2 sigma^2), about doubles,
    and so does its evidence (`WHOLE_LUMA_LATTICE`)."""
    import io
    from PIL import Image
    rng = np.random.default_rng(11)
    base = np.cumsum(np.cumsum(rng.normal(0, 3, (256, 256, 3)), axis=0), axis=1) / 40
    img = np.clip(base - base.min(axis=(0, 1)) + 30, 0, 225).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=99, subsampling=0)
    rgb = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    ycc = Image.open(io.BytesIO(buf.getvalue()))
    ycc.draft("YCbCr", ycc.size)                       # the decoder's planes, not converted
    assert ycc.mode == "YCbCr"
    y = np.asarray(ycc)[..., 0]
    unclipped = ((rgb > 0) & (rgb < 255)).all(axis=2)
    assert np.mean(np.round(features.luma(rgb))[unclipped] == y[unclipped]) > 0.99
    assert np.mean(features.luma(rgb)[unclipped] == y[unclipped]) < 0.5
    whole = features.lattice_scan(rgb).best()
    try:
        features.WHOLE_LUMA_LATTICE = False
        decoded = features.lattice_scan(rgb).best()
    finally:
        features.WHOLE_LUMA_LATTICE = True
    assert whole[0] == decoded[0] == (0, 0)
    assert whole[1] > 1.6 * decoded[1]


def test_the_lattice_scan_of_a_flat_or_tiny_picture_is_zero():
    flat = np.full((300, 300, 3), 90, np.uint8)        # no coefficient reaches 1
    assert not features.lattice_scan(flat).z.any()
    assert not features.lattice_scan(np.zeros((12, 12, 3), np.uint8)).z.any()


def test_pixel_art_puts_its_near_whole_coefficients_on_many_grids_not_one():
    """A smooth picture of few colours enlarged by repeating pixels (4 levels a channel, each
    pixel 4x4) has near-whole coefficients on every grid aligned with its cells: z-scores as
    high as a JPEG's on several grids, but none stands out from the rest, so its lattice
    evidence (the margin over the next grid) stays low, as a JPEG's does not."""
    from dejpeg.detector import LATTICE_DECISIVE
    from images import pattern
    small = np.clip(np.rint(np.rint(pattern(80, 80, seed=1) / 85.0) * 85.0), 0, 255).astype(np.uint8)
    art = np.repeat(np.repeat(small, 4, axis=0), 4, axis=1)
    scan = features.lattice_scan(np.ascontiguousarray(art[1:, 2:]))
    assert np.sort(scan.z.ravel())[-4] >= LATTICE_DECISIVE    # four grids look like a lattice
    assert scan.best()[1] < LATTICE_DECISIVE / 2
