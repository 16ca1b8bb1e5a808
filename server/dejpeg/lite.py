"""Serve the U-Net restorers with LiteRT (TensorFlow Lite's runtime and its XNNPACK kernels).

At load, the trained Keras model (`archs.unet`) is rewritten into an equivalent inference
graph and converted to a TensorFlow Lite flatbuffer:

- batch normalisation is folded into the convolution before it (its moving statistics),
  dropout is left out (inference);
- each 4x4 stride-2 transposed convolution becomes a 2x2 convolution to four times the
  channels followed by depth-to-space, the "sub-pixel" form of Shi et al. (CVPR 2016): the
  same multiply-adds, in a kernel the runtime runs well;
- Small-Resize's nearest 2x upsampling + 3x3 convolution becomes the same form (each output
  phase sees a 2x2 window of the low-resolution input), 2.25x fewer multiply-adds;
- a noise input (`archs.unet(noise=...)`) stays a second input: each projection of it (a
  convolution with its level's stride) is added where Keras adds it, after the batch norm and
  before the activation.

The conversion runs in a child process (`python -m dejpeg.lite DIR`): TensorFlow's converter
leaves several hundred MB behind in the process that runs it, and every server worker would
carry them.  `compile_restorers` checks each result against its Keras model on a random input
before it is used; the Restorer falls back to the Keras model when anything here fails.
Speed-up and equality are measured by `ai-research/bench.py` and `tests/test_lite.py`.

This is serving code for the TensorFlow backend (it uses `tf` to convert); the networks
themselves are defined once, in `archs`, with Keras layers only.
"""
from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

KEEP = 2      # interpreters kept alive in a process (each holds ~360 MB for a 1024 px tile)

# A 4x4 stride-2 'same' transposed convolution, along one axis: output 2m is
# x[m-1] * k[3] + x[m] * k[1] and output 2m+1 is x[m] * k[2] + x[m+1] * k[0].
# TAPS[phase] are the kernel taps applied to the window (x[t], x[t+1]) of the input padded
# by one: phase 0 at m = t, phase 1 at m = t - 1.  Storing phase 1 - q in depth-to-space
# slot q makes the interleaved result the wanted output shifted by one: crop 1 on each side.
TAPS = {0: (3, 1), 1: (2, 0)}

# nearest 2x upsampling + 3x3 'same' conv (taps w0 w1 w2) along one axis equals the 4x4
# transposed convolution with taps (w2, w1 + w2, w0 + w1, w0)
RESIZE_AS_TRANSPOSED = np.array([[0, 0, 1], [0, 1, 1], [1, 1, 0], [1, 0, 0]], np.float32)


class NotFoldable(ValueError):
    """The model is not a U-Net restorer this module knows how to rewrite."""


@dataclass
class Stage:
    """One convolution of the folded network, in TensorFlow's HWIO kernel layout."""
    kind: str                    # "down" (3x3 / 4x4 stride 2) or "up" (2x2 sub-pixel)
    kernel: np.ndarray
    bias: np.ndarray
    act: str = "linear"          # linear, relu, leaky, tanh
    slope: float = 0.0           # of the leaky ReLU
    concat: bool = False         # concatenate the encoder output of the same scale after it
    noise: np.ndarray | None = None   # projection of the noise input added before act (HWIO)
    noise_stride: int = 1


def transposed_as_subpixel(kernel: np.ndarray) -> np.ndarray:
    """Keras Conv2DTranspose kernel (4, 4, out, in) -> 2x2 conv kernel (2, 2, in, 4 * out)
    whose output, depth-to-space'd and cropped by 1, is the transposed convolution's."""
    k = np.asarray(kernel, np.float32)
    if k.shape[:2] != (4, 4):
        raise NotFoldable(f"transposed convolution kernel {k.shape[:2]}, not 4x4")
    out, cin = k.shape[2], k.shape[3]
    w = np.zeros((2, 2, cin, 2, 2, out), np.float32)
    for qy in (0, 1):
        for qx in (0, 1):
            for a in (0, 1):
                for b in (0, 1):
                    w[a, b, :, qy, qx, :] = k[TAPS[1 - qy][a], TAPS[1 - qx][b]].T
    return w.reshape(2, 2, cin, 4 * out)


def resize_as_transposed(kernel: np.ndarray) -> np.ndarray:
    """3x3 conv kernel (3, 3, in, out) after nearest 2x upsampling -> the equal 4x4 stride-2
    transposed convolution kernel (4, 4, out, in)."""
    k = np.asarray(kernel, np.float32)
    if k.shape[:2] != (3, 3):
        raise NotFoldable(f"convolution after upsampling is {k.shape[:2]}, not 3x3")
    m = RESIZE_AS_TRANSPOSED
    return np.einsum("ap,bq,pqio->aboi", m, m, k)


def fold(model) -> tuple[list[Stage], bool]:
    """The stages of a U-Net restorer built by `archs.unet`, and whether it is residual."""
    from keras import layers

    stages: list[Stage] = []
    upsampled = residual = False
    projections = {}            # the noise projections' outputs, waiting for their Add
    for layer in model.layers:
        if isinstance(layer, (layers.InputLayer, layers.Dropout)):
            continue
        if isinstance(layer, layers.Conv2D) and layer.name.startswith("noise_"):
            if layer.use_bias or layer.kernel_size != layer.strides:
                raise NotFoldable(f"{layer.name}: not a noise projection")
            projections[id(layer.output)] = (np.asarray(layer.kernel, np.float32), layer.strides[0])
            continue
        if isinstance(layer, layers.Conv2DTranspose):
            if layer.strides != (2, 2) or layer.padding != "same":
                raise NotFoldable(f"{layer.name}: stride {layer.strides}, padding {layer.padding}")
            stages.append(_stage("up", layer, transposed_as_subpixel(layer.kernel)))
        elif isinstance(layer, layers.UpSampling2D):
            if tuple(layer.size) != (2, 2) or layer.interpolation != "nearest":
                raise NotFoldable(f"{layer.name}: only nearest 2x upsampling folds")
            upsampled = True
        elif isinstance(layer, layers.Conv2D):
            if layer.padding != "same" or layer.dilation_rate != (1, 1):
                raise NotFoldable(f"{layer.name}: padding {layer.padding}")
            if upsampled and layer.strides == (1, 1):
                kernel = transposed_as_subpixel(resize_as_transposed(layer.kernel))
                stages.append(_stage("up", layer, kernel))
                upsampled = False
            elif not upsampled and layer.strides == (2, 2):
                stages.append(_stage("down", layer, np.asarray(layer.kernel, np.float32)))
            else:
                raise NotFoldable(f"{layer.name}: unexpected convolution")
        elif isinstance(layer, layers.BatchNormalization):
            _fold_batch_norm(_last(stages, layer), layer)
        elif isinstance(layer, layers.LeakyReLU):
            _set_act(_last(stages, layer), "leaky", float(layer.negative_slope))
        elif isinstance(layer, layers.ReLU) and not residual:
            if layer.max_value is not None or layer.negative_slope or layer.threshold:
                raise NotFoldable(f"{layer.name}: only a plain ReLU folds")
            _set_act(_last(stages, layer), "relu")
        elif isinstance(layer, layers.Concatenate):
            _last(stages, layer).concat = True
        elif isinstance(layer, layers.Add) and any(id(t) in projections for t in layer.input):
            stage = _last(stages, layer)
            if stage.act != "linear" or stage.concat or stage.noise is not None:
                raise NotFoldable(f"{layer.name}: noise added after an activation")
            stage.noise, stage.noise_stride = next(projections.pop(id(t)) for t in layer.input
                                                   if id(t) in projections)
        elif isinstance(layer, layers.Add):
            residual = True     # input + correction, clipped to [-1, 1] by what follows
        elif isinstance(layer, layers.Activation) and layer.activation.__name__ == "tanh":
            _set_act(_last(stages, layer), "tanh")
        elif residual and isinstance(layer, (layers.Rescaling, layers.ReLU)):
            continue
        else:
            raise NotFoldable(f"{layer.name}: {type(layer).__name__} does not fold")
    if not stages or stages[-1].kind != "up" or stages[-1].act != "tanh":
        raise NotFoldable("the model does not end in a tanh upsampling layer")
    if projections:
        raise NotFoldable("a noise projection is added nowhere")
    return stages, residual


def _stage(kind: str, layer, kernel: np.ndarray) -> Stage:
    repeat = 4 if kind == "up" else 1         # sub-pixel: 4 phases of each output channel
    out = kernel.shape[-1] // repeat
    bias = np.asarray(layer.bias, np.float32) if layer.use_bias else np.zeros(out, np.float32)
    stage = Stage(kind, kernel, np.tile(bias, repeat))
    act = layer.activation.__name__
    if act not in ("linear", "tanh"):
        raise NotFoldable(f"{layer.name}: activation {act}")
    stage.act = act
    return stage


def _last(stages: list[Stage], layer) -> Stage:
    if not stages:
        raise NotFoldable(f"{layer.name} before any convolution")
    return stages[-1]


def _set_act(stage: Stage, act: str, slope: float = 0.0) -> None:
    if stage.act != "linear" or stage.concat:
        raise NotFoldable("two activations on one convolution")
    stage.act, stage.slope = act, slope


def _fold_batch_norm(stage: Stage, bn) -> None:
    """BN(conv(x) + b) = conv(x) * s + (b - mean) * s + beta, s = gamma / sqrt(var + eps)."""
    if stage.act != "linear" or stage.concat:
        raise NotFoldable(f"{bn.name}: batch normalisation after an activation")
    var = np.asarray(bn.moving_variance, np.float32)
    gamma = np.asarray(bn.gamma, np.float32) if bn.scale else np.ones_like(var)
    beta = np.asarray(bn.beta, np.float32) if bn.center else np.zeros_like(var)
    s = gamma / np.sqrt(var + bn.epsilon)
    shift = beta - np.asarray(bn.moving_mean, np.float32) * s
    repeat = stage.kernel.shape[-1] // s.size
    stage.kernel = stage.kernel * np.tile(s, repeat)
    stage.bias = stage.bias * np.tile(s, repeat) + np.tile(shift, repeat)


def flatbuffer(stages: list[Stage], residual: bool) -> bytes:
    """The folded network as a TensorFlow Lite model with a (batch, H, W, 3) float input (and a
    (batch, H, W, 1) noise input when a stage takes noise)."""
    import tensorflow as tf

    def act(h, s: Stage):
        if s.act == "relu":
            return tf.nn.relu(h)
        if s.act == "leaky":
            return tf.nn.leaky_relu(h, s.slope)
        return tf.tanh(h) if s.act == "tanh" else h

    def network(x, noise=None):
        skips, h, ups = [], x, 0
        for s in stages:
            if s.kind == "down":
                h = act(tf.nn.conv2d(h, s.kernel, 2, "SAME") + s.bias, s)
                skips.append(h)
            else:
                h = tf.pad(h, [[0, 0], [1, 1], [1, 1], [0, 0]])
                h = tf.nn.depth_to_space(tf.nn.conv2d(h, s.kernel, 1, "VALID") + s.bias, 2)
                h = h[:, 1:-1, 1:-1, :]
                if s.noise is not None:
                    h = h + tf.nn.conv2d(noise, s.noise, s.noise_stride, "VALID")
                h = act(h, s)
                ups += 1
            if s.concat:
                h = tf.concat([h, skips[-1 - ups]], -1)
        return tf.clip_by_value(x + h, -1.0, 1.0) if residual else h

    specs = [tf.TensorSpec([None, None, None, 3], tf.float32)]
    if any(s.noise is not None for s in stages):
        specs.append(tf.TensorSpec([None, None, None, 1], tf.float32))
    fn = tf.function(network).get_concrete_function(*specs)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn], tf.Module())
    return converter.convert()


class LiteRunner:
    """Runs a flatbuffer on float32 batches (N, H, W, 3) of any size, or [batch, noise maps
    (N, H, W, 1)] for a network with a noise input.  One call at a time per runner (an
    interpreter is not thread-safe): the Restorer's lock sees to it."""

    def __init__(self, model: bytes, threads: int | None = None):
        self.model = model
        self.threads = threads or os.cpu_count() or 1

    def interpreter(self):
        from ai_edge_litert.interpreter import Interpreter
        return Interpreter(model_content=self.model, num_threads=self.threads)

    def __call__(self, batch) -> np.ndarray:
        slot = _interpreters.get(self)
        it = slot.interpreter
        arrays = [np.ascontiguousarray(a, np.float32)
                  for a in (batch if isinstance(batch, (list, tuple)) else [batch])]
        if len(arrays) != len(slot.inputs):
            raise ValueError(f"the network takes {len(slot.inputs)} inputs, got {len(arrays)}")
        shapes = tuple(a.shape for a in arrays)
        if slot.shape != shapes:            # plan the tensors for these shapes (ms)
            slot.shape = None
            for index, a in zip(slot.inputs, arrays):
                it.resize_tensor_input(index, a.shape)
            it.allocate_tensors()
            slot.shape = shapes
        for index, a in zip(slot.inputs, arrays):
            it.set_tensor(index, a)
        it.invoke()
        return it.get_tensor(it.get_output_details()[0]["index"])


@dataclass
class _Slot:
    interpreter: object
    inputs: tuple                    # tensor indices: the image, then any noise map
    shape: tuple | None = None       # the input shapes its tensors are allocated for


class _Interpreters:
    """The KEEP most recently used interpreters (their tensor arenas are the memory)."""

    def __init__(self, keep: int):
        self.keep = keep
        self._lock = threading.Lock()
        self._items: OrderedDict[LiteRunner, _Slot] = OrderedDict()

    def get(self, runner: LiteRunner) -> _Slot:
        with self._lock:
            slot = self._items.pop(runner, None)
            if slot is None:
                it = runner.interpreter()
                # the image has 3 channels, a noise map 1
                details = sorted(it.get_input_details(), key=lambda d: -d["shape_signature"][-1])
                slot = _Slot(it, tuple(d["index"] for d in details))
            self._items[runner] = slot
            while len(self._items) > self.keep:
                self._items.popitem(last=False)   # one still running keeps its own reference
            return slot

    def __len__(self) -> int:
        return len(self._items)


_interpreters = _Interpreters(KEEP)


def compile_restorers(models: dict, check_side: int = 64, tolerance: float = 1e-3) -> dict:
    """{name: LiteRunner} for the Keras restorers {name: model} that fold, convert and equal
    their Keras model on a random input (to an eighth of a grey level in [-1, 1] units);
    the others are left out, with a warning saying why."""
    plans, runners = {}, {}
    for name, model in models.items():
        try:
            plans[name] = fold(model)
        except NotFoldable as e:
            log.warning("restorer %s runs on Keras, not LiteRT: %s", name, e)
    if not plans:
        return runners
    try:
        converted = convert_in_child(list(plans.values()))
    except Exception as e:     # no TensorFlow converter or LiteRT here, or the child failed
        log.warning("restorers run on Keras, not LiteRT: %s", e)
        return runners
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (1, check_side, check_side, 3)).astype(np.float32)
    noise = rng.standard_normal((1, check_side, check_side, 1)).astype(np.float32)
    for name, flat in zip(plans, converted):
        try:
            runner = LiteRunner(flat)
            inputs = x if len(models[name].inputs) == 1 else [x, noise]
            err = float(np.abs(runner(inputs) - np.asarray(models[name](inputs, training=False))).max())
            if not err <= tolerance:
                raise NotFoldable(f"folded model differs from the Keras model by {err:.2g}")
            runners[name] = runner
        except Exception as e:
            log.warning("restorer %s runs on Keras, not LiteRT: %s", name, e)
    return runners


def convert_in_child(plans: list[tuple[list[Stage], bool]], timeout: float = 600) -> list[bytes]:
    """`flatbuffer` for each plan, computed by a child Python process."""
    with tempfile.TemporaryDirectory(prefix="dejpeg-lite-") as tmp:
        d = Path(tmp)
        (d / "plans.pkl").write_bytes(pickle.dumps(plans))
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        res = subprocess.run([sys.executable, "-m", "dejpeg.lite", tmp], env=env, timeout=timeout,
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"conversion failed: {res.stderr.strip()[-800:]}")
        return [(d / f"{i}.tflite").read_bytes() for i in range(len(plans))]


def _child(directory: str) -> None:
    d = Path(directory)
    for i, (stages, residual) in enumerate(pickle.loads((d / "plans.pkl").read_bytes())):
        (d / f"{i}.tflite").write_bytes(flatbuffer(stages, residual))


if __name__ == "__main__":
    _child(sys.argv[1])
