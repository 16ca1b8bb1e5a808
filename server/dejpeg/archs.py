"""Every network of deJPEG, defined once, with Keras 3 built-in layers only.

Built-in layers only means a saved `.keras` file loads with `keras.saving.load_model` on any
backend, with no custom objects, and the same code trains on TensorFlow, JAX or PyTorch.

- `c_tiny`: the detector CNN on DCT histograms (Park et al. 2018; DESIGN.md).
- `unet`: the restorer generators. `g_small()` is G_small, `g_small(resize=True)` the
  Small-Resize variant (upsample + conv), `g_zhao()` G_Zhao (one level deeper).
- `critic`: the PatchGAN-style critic used in the GAN phases of NoGAN training.
"""
from __future__ import annotations

import keras
from keras import layers

from .features import BINS

CLASSES = ("uncompressed", "single", "double")


def c_tiny(width: int = 64, l2: float = 1e-5, name: str = "c_tiny") -> keras.Model:
    """C_Tiny: conv 64-64 / pool / 128 / pool / 256 / pool, flatten, BN, dense softmax.

    5x5 convolutions, BN, ReLU, L2 1e-5 as in DESIGN.md.  `width` scales every conv (64 is
    the published size; tests use a tiny width).
    """
    reg = keras.regularizers.L2(l2)

    def conv(x, filters):
        x = layers.Conv2D(filters, 5, padding="same", use_bias=False, kernel_regularizer=reg)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU()(x)

    inp = keras.Input((BINS, 64, 1), name="dct_histograms")
    x = conv(inp, width)
    x = conv(x, width)
    x = layers.MaxPooling2D(2)(x)
    x = conv(x, 2 * width)
    x = layers.MaxPooling2D(2)(x)
    x = conv(x, 4 * width)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.BatchNormalization()(x)
    out = layers.Dense(len(CLASSES), activation="softmax", kernel_regularizer=reg,
                       name="probabilities")(x)
    return keras.Model(inp, out, name=name)


def unet(filters: tuple[int, ...] = (64, 128, 256), resize: bool = False, residual: bool = True,
         dropout: float = 0.5, noise: float | None = None, name: str = "g_small") -> keras.Model:
    """pix2pix-style U-Net restorer, RGB in [-1, 1] to RGB in [-1, 1]; sides multiple of 2**depth.

    Encoder: conv 3x3 s2 (first) then 4x4 s2 convs with BN, LeakyReLU(0.3).  Decoder: 4x4
    transposed convs s2 (or, with `resize`, 2x nearest upsampling + 3x3 conv) with BN, ReLU,
    dropout on the deepest decoder level, concatenating the encoder features of the same
    scale; the last layer maps to 3 channels with tanh.

    `residual=True` (our choice, not the seed's) adds the input to the tanh output and clips
    to [-1, 1]: the network predicts the correction, so it starts as the identity.

    `noise` (a number) adds a second input, a map of unit Gaussian noise (N, H, W, 1), which
    every decoder level and the output receive through a learned projection (a convolution
    with the level's stride, so each position sees its own patch of the map), added before
    the activation, as StyleGAN injects noise (Karras et al. 2019): a GAN phase can then
    draw fine texture from the noise instead of from the JPEG's own block pattern, its only
    other source of variation.  The decoder's projections start with weights of spread
    `noise` (0: off, so that with a trained network's other weights, `copy_weights`, it
    computes what that network did); the output's starts at zero.
    """
    inp = keras.Input((None, None, 3), name="jpeg")
    grain = keras.Input((None, None, 1), name="noise") if noise is not None else None

    def add_noise(x, scale, f):
        if grain is None:
            return x
        init = (keras.initializers.RandomNormal(stddev=noise) if noise and scale > 1
                else "zeros")
        n = layers.Conv2D(f, scale, strides=scale, use_bias=False, kernel_initializer=init,
                          name=f"noise_{scale}")(grain)
        return layers.Add()([x, n])

    def up(x, f, k=4):
        if resize:
            x = layers.UpSampling2D(2, interpolation="nearest")(x)
            return layers.Conv2D(f, 3, padding="same", use_bias=False)(x)
        return layers.Conv2DTranspose(f, k, strides=2, padding="same", use_bias=False)(x)

    skips = []
    x = inp
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, 3 if i == 0 else 4, strides=2, padding="same", use_bias=i == 0)(x)
        if i > 0:
            x = layers.BatchNormalization()(x)
        x = layers.LeakyReLU(negative_slope=0.3)(x)
        skips.append(x)
    for i, f in enumerate(reversed(filters[:-1])):
        x = up(x, f)
        x = layers.BatchNormalization()(x)
        x = add_noise(x, 2 ** (len(filters) - 1 - i), f)
        if i == 0 and dropout:
            x = layers.Dropout(dropout)(x)
        x = layers.ReLU()(x)
        x = layers.Concatenate()([x, skips[-2 - i]])
    # with a residual the last layer starts at zero, so the untrained network is the identity
    init = "zeros" if residual else "glorot_uniform"
    last = "tanh" if grain is None else None
    if resize:
        x = layers.UpSampling2D(2, interpolation="nearest")(x)
        x = layers.Conv2D(3, 3, padding="same", activation=last, kernel_initializer=init)(x)
    else:
        x = layers.Conv2DTranspose(3, 4, strides=2, padding="same", activation=last,
                                   kernel_initializer=init)(x)
    if grain is not None:
        x = layers.Activation("tanh")(add_noise(x, 1, 3))
    if residual:
        x = layers.Add()([inp, x])
        x = layers.Rescaling(1.0, offset=1.0)(x)      # clip to [-1, 1] with built-ins:
        x = layers.ReLU(max_value=2.0)(x)             # (x + 1) in [0, 2], then - 1
        x = layers.Rescaling(1.0, offset=-1.0, name="restored")(x)
    return keras.Model(inp if grain is None else [inp, grain], x, name=name)


def copy_weights(src: keras.Model, dst: keras.Model) -> None:
    """Copy a restorer's weights into the same architecture built with `noise` (or the
    other way round): layer by layer in order, the noise projections left as they are."""
    def own(model):
        return [l for l in model.layers if l.weights and not l.name.startswith("noise_")]
    a, b = own(src), own(dst)
    if len(a) != len(b):
        raise ValueError(f"{src.name} and {dst.name} are not the same network")
    for la, lb in zip(a, b):
        lb.set_weights(la.get_weights())


def g_small(resize: bool = False, **kw) -> keras.Model:
    """G_small (DESIGN.md); `resize=True` gives Small-Resize."""
    kw.setdefault("name", "g_small_resize" if resize else "g_small")
    return unet((64, 128, 256), resize=resize, **kw)


def g_zhao(**kw) -> keras.Model:
    """G_Zhao: encoder 64 (3x3), 128, 256, 512; decoder 256, 128, 64, 3 with skips."""
    kw.setdefault("name", "g_zhao")
    return unet((64, 128, 256, 512), **kw)


def critic(filters: tuple[int, ...] = (64, 128, 256), residual_scale: float | None = 10.0,
           highpass: bool = False, name: str = "critic") -> keras.Model:
    """Conditional PatchGAN critic: (JPEG input, candidate) -> a map of real/fake logits.

    It sees the JPEG and the candidate's correction of it, (candidate - JPEG) x
    `residual_scale`: what tells a photo from a restoration is a few grey levels of detail
    (~0.02 in [-1, 1]).  Fed the candidate itself (`residual_scale=None`, how the critics of
    the first four `small-postgan` versions were built) it stayed near chance (loss 0.69);
    this one reached 95 % of the patches of new crops right after 300 steps
    (ai-research/notes/g-small-log.md).  With `highpass`
    it sees the candidate's fine detail instead, (candidate - its 3x3 mean) x
    `residual_scale`: its judgement, and so the adversarial term, then bears on texture
    only, colour and shading being left to the content loss (a GAN on the high frequencies
    alone, as in Fritsche et al., "Frequency Separation for Real-World Super-Resolution",
    2019).
    """
    jpeg = keras.Input((None, None, 3), name="jpeg")
    cand = keras.Input((None, None, 3), name="candidate")
    seen = cand
    if highpass:        # the candidate less its 3x3 mean: no weights to train or freeze
        blur = layers.AveragePooling2D(3, strides=1, padding="same")(cand)
        seen = layers.Rescaling(residual_scale or 1.0)(layers.Subtract()([cand, blur]))
    elif residual_scale:
        seen = layers.Rescaling(residual_scale)(layers.Subtract()([cand, jpeg]))
    x = layers.Concatenate()([jpeg, seen])
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, 4, strides=2, padding="same", use_bias=i == 0)(x)
        if i > 0:
            x = layers.BatchNormalization()(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
    x = layers.Conv2D(1, 4, padding="same", name="logits")(x)
    return keras.Model([jpeg, cand], x, name=name)


def multiple(model: keras.Model) -> int:
    """The side multiple a restorer needs (2 ** number of stride-2 levels)."""
    levels = sum(1 for l in model.layers if isinstance(l, layers.Conv2D)
                 and not isinstance(l, layers.Conv2DTranspose) and l.strides == (2, 2)
                 and not l.name.startswith("noise_"))
    return 2 ** levels
