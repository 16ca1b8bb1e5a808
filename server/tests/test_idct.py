"""The decoder's inverse DCT (`dejpeg.idct`) against Pillow's own decoding."""
import io

import numpy as np
import pytest
from PIL import Image

from dejpeg import features, idct, quality


def _ramps(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.cumsum(np.cumsum(rng.normal(0, 2, (256, 256, 3)), axis=0), axis=1) / 30
    noise = rng.normal(0, 6, (256, 256, 3))
    return np.clip(base - base.min(axis=(0, 1)) + 40 + noise, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("qf", [20, 50, 75])
def test_islow_gives_back_pillows_decoded_y_plane_exactly(qf):
    """Encode with Pillow, take the decoder's Y plane (`draft("YCbCr")`: no colour
    conversion), recover each block's quantised coefficients by rounding its DCT over the
    table's steps (exact where every step is 3 or more), and decode them with `islow`: every
    pixel comes back.  At QF 75 a floating-point inverse DCT, rounded, misses some."""
    buf = io.BytesIO()
    Image.fromarray(_ramps(qf)).save(buf, "JPEG", quality=qf)
    im = Image.open(io.BytesIO(buf.getvalue()))
    im.draft("YCbCr", im.size)
    y = np.asarray(im)[..., 0].astype(np.float64)
    blocks = y.reshape(32, 8, 32, 8).transpose(0, 2, 1, 3).reshape(-1, 8, 8)
    d = features.dct_matrix(8)
    table = quality.ijg_table(qf).reshape(8, 8).astype(np.float64)
    assert table.min() >= 3
    dequantised = np.round(np.einsum("ui,nij,vj->nuv", d, blocks - 128, d) / table) * table
    assert np.array_equal(idct.islow(dequantised), blocks.astype(np.uint8))
    floating = np.clip(np.round(np.einsum("ui,nuv,vj->nij", d, dequantised, d) + 128), 0, 255)
    assert qf != 75 or (floating != blocks).any()


def test_islow_of_a_dc_alone_is_a_flat_block():
    """The DC alone: every pixel DC / 8 + 128, rounded half up, clipped to 0..255."""
    coef = np.zeros((4, 8, 8))
    coef[:, 0, 0] = [0, 100, -1030, 2000]
    out = idct.islow(coef)
    assert [int(b[0, 0]) for b in out] == [128, 141, 0, 255]     # 100 / 8 = 12.5 -> 13
    assert all((b == b[0, 0]).all() for b in out)
