"""NoGAN training of a restorer (after DeOldify's recipe), resumable, any Keras backend.

    python ai-research/train_restorer.py --phase pretrain --steps 4000   # -> small-pregan
    python ai-research/train_restorer.py --phase critic --steps 300
    python ai-research/train_restorer.py --phase gan --steps 600        # -> small-postgan
    ... --arch small --resize   (Small-Resize),  --arch zhao  (G_Zhao)
    ... --qualities 10,20,30,40,50,60,70,80,90 --init PREGAN.keras --work DIR   (fine-tune)

Phases: (1) the generator alone on the content loss (MS-SSIM + L1, + VGG-19 features when
the weights are on disk); (2) the critic alone on generated vs. clean crops; (3) a short
joint phase, content + a small adversarial term, checkpointed every --eval-every steps with
validation PSNR, lattice (a checkerboard's share of the fine detail, `metrics.lattice`) and
detail (`metrics.detail`, median) so the checkpoint before artifacts grow can be picked.

Options for a crisper joint phase (ai-research/notes/g-small-log.md): --lattice-weight,
--texture-weight, --texture-first-scale (content-loss terms), --critic-scale,
--critic-highpass (what a new critic sees), --noise (a noise input to the generator),
--feature-weight (critic feature matching, tried and not used); `make train-restorer-small`
has the shipped small-postgan's choice.

Pairs are drawn on the fly from the training images (`dejpeg.data.restorer_pair`): crops
compressed at --qualities (default QF 10), half of them double (50 -> QF), half of those
recropped between the passes, flipped/rotated (which keeps the 8x8 grid).  Validation: fixed
256x256 crops of the validation images, PSNR on RGB.  Pre-training keeps its best checkpoint
(by validation PSNR) as pregan.keras, which the later phases start from, and its latest as
pregan_last.keras.  Every phase saves its state in --work
and continues from it when rerun.
"""
from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import shutil
import time
from collections import deque
from pathlib import Path

import numpy as np

from dejpeg import archs, data, losses
from dejpeg.metrics import detail, lattice, psnr

HERE = Path(__file__).parent


def to_float(a):
    return a.astype(np.float32) / 127.5 - 1.0


def augment(x, y, rng):
    k = int(rng.integers(0, 4))
    x, y = np.rot90(x, k), np.rot90(y, k)
    if rng.random() < 0.5:
        x, y = x[:, ::-1], y[:, ::-1]
    return x, y


def central(img, max_pixels=None):
    """The central part of at most `max_pixels` pixels of a picture, its aspect kept."""
    h, w = img.shape[:2]
    if not max_pixels or h * w <= max_pixels:
        return img
    f = (max_pixels / (h * w)) ** 0.5
    ch, cw = int(h * f), int(w * f)
    y, x = (h - ch) // 2, (w - cw) // 2
    return img[y:y + ch, x:x + cw]


class Pairs:
    """Training batches.  Batch `step` depends on (seed, step) alone, so a resumed run draws
    what an uninterrupted one would, and worker processes can make batches in any order."""

    def __init__(self, folder, size, qualities, seed=1000, max_pixels=None):
        self.folder, self.size, self.qualities, self.seed = folder, size, qualities, seed
        self.max_pixels = max_pixels
        self.images = [central(im, max_pixels) for im in data.load_images(folder)]
        area = np.array([im.shape[0] * im.shape[1] for im in self.images], np.float64)
        self.p = area / area.sum()

    def batch(self, n, step):
        """(jpeg, clean) uint8 crops, shape (n, size, size, 3) each."""
        rng = np.random.default_rng([self.seed, step])
        xs, ys = [], []
        for _ in range(n):
            img = self.images[rng.choice(len(self.images), p=self.p)]
            x, y = data.restorer_pair(img, self.size, rng, self.qualities)
            x, y = augment(x, y, rng)
            xs.append(x)
            ys.append(y)
        return np.stack(xs), np.stack(ys)

    def batches(self, n, start, stop, workers=0):
        """The float batches of steps start .. stop-1, in order.  With workers > 1 they are
        made ahead by that many processes (spawned: the parent may hold a GPU runtime),
        at most 2 per worker waiting."""
        if workers <= 1:
            for step in range(start, stop):
                x, y = self.batch(n, step)
                yield to_float(x), to_float(y)
            return
        ctx = multiprocessing.get_context("spawn")
        args = (str(self.folder), self.size, self.qualities, self.seed, self.max_pixels)
        # the workers inherit the environment at spawn: keep them off the accelerator
        saved = {k: os.environ.get(k) for k in ("CUDA_VISIBLE_DEVICES", "JAX_PLATFORMS")}
        os.environ.update(CUDA_VISIBLE_DEVICES="", JAX_PLATFORMS="cpu")
        try:
            pool = ctx.Pool(workers, initializer=_worker_init, initargs=args)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        with pool:
            pending, step = deque(), start
            while step < stop or pending:
                while step < stop and len(pending) < 2 * workers:
                    pending.append(pool.apply_async(_worker_batch, (n, step)))
                    step += 1
                x, y = pending.popleft().get()
                yield to_float(x), to_float(y)


def _worker_init(folder, size, qualities, seed, max_pixels):
    _worker_batch.pairs = Pairs(Path(folder), size, qualities, seed, max_pixels)


def _worker_batch(n, step):
    return _worker_batch.pairs.batch(n, step)


def save_inference(model, path):
    """Save architecture and weights without optimiser state (what is shipped: a third of
    the size of a compiled model's file)."""
    copy = model.__class__.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    copy.save(path)


def val_set(folder, n, qualities):
    rng = np.random.default_rng(7)
    images = data.load_images(folder)
    pairs = [data.restorer_pair(images[i % len(images)], 256, rng, qualities) for i in range(n)]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def with_noise(model, x, rng):
    """A generator's inputs for the batch x: x alone, or x and a map of unit Gaussian noise
    when the generator takes one (`archs.unet(noise=...)`)."""
    if len(model.inputs) == 1:
        return x
    return [x, rng.standard_normal((*x.shape[:3], 1)).astype(np.float32)]


def evaluate(model, xv, yv):
    """Mean PSNR of the model's outputs and of the JPEGs, the outputs' mean lattice %
    (`metrics.lattice`: a checkerboard, which the GAN phase can grow; the originals ~0.04)
    and their median detail % (`metrics.detail`: fine detail as a % of the originals'; the
    median, because a flat crop with a little invented grain scores in the thousands)."""
    rng = np.random.default_rng(11)          # the same noise maps at every checkpoint
    out = np.concatenate([np.asarray(model(with_noise(model, to_float(xv[i:i + 8]), rng),
                                           training=False))
                          for i in range(0, len(xv), 8)])
    out = np.clip(np.rint((out + 1) * 127.5), 0, 255).astype(np.uint8)
    return (float(np.mean([psnr(o, y) for o, y in zip(out, yv)])),
            float(np.mean([psnr(x, y) for x, y in zip(xv, yv)])),
            float(np.mean([lattice(o) for o in out])),
            float(np.median([detail(y, o) for o, y in zip(out, yv)])))


def build(args, noise=None):
    if args.arch == "zhao":
        return archs.g_zhao(residual=not args.no_residual, noise=noise)
    return archs.g_small(resize=args.resize, residual=not args.no_residual, noise=noise)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--phase", choices=["pretrain", "critic", "gan"], required=True)
    ap.add_argument("--arch", choices=["small", "zhao"], default="small")
    ap.add_argument("--resize", action="store_true", help="resize-convolution decoder (Small-Resize)")
    ap.add_argument("--no-residual", action="store_true", help="plain tanh output, as the seed")
    ap.add_argument("--init", default=None,
                    help="pretrain: start from this generator's weights (.keras) instead of scratch")
    ap.add_argument("--corpus", default=str(HERE / "data/corpus"))
    ap.add_argument("--work", default=None, help="default ai-research/data/restorer/<arch>")
    ap.add_argument("--qualities", default="10", help="comma-separated final QFs")
    ap.add_argument("--steps", type=int, default=4000, help="total steps of this phase")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--crop", type=int, default=96)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--adv-weight", type=float, default=2e-3)
    ap.add_argument("--lattice-weight", type=float, default=0.0,
                    help="weight of losses.lattice (a 2/4-pixel pattern in the error) in the content loss")
    ap.add_argument("--texture-weight", type=float, default=0.0,
                    help="weight of losses.texture (local fine-detail strength vs. the target's)")
    ap.add_argument("--texture-first-scale", type=int, default=0,
                    help="losses.texture measures from this halving on (1: blind to 2-pixel patterns)")
    ap.add_argument("--critic-scale", type=float, default=10.0,
                    help="a new critic sees (candidate - JPEG) x this; 0: the candidate itself, "
                         "as the shipped small-postgan's critic (archs.critic)")
    ap.add_argument("--critic-highpass", action="store_true",
                    help="a new critic sees the candidate's fine detail (less its 3x3 mean) "
                         "x --critic-scale")
    ap.add_argument("--feature-weight", type=float, default=0.0,
                    help="gan: weight of critic feature matching, the L1 distance between the "
                         "critic's activations on the candidate and on the clean crop")
    ap.add_argument("--noise", type=float, default=None,
                    help="critic / gan: give the generator a noise input (archs.unet(noise=...)), "
                         "its decoder's projections starting with weights of this spread")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--val-crops", type=int, default=32)
    ap.add_argument("--max-pixels", type=int, default=None,
                    help="train on the central part of at most this many pixels of each picture")
    ap.add_argument("--workers", type=int, default=0,
                    help="processes making training batches ahead (0: in the training process)")
    args = ap.parse_args(argv)

    import keras
    name = "small" + ("-resize" if args.resize else "") if args.arch == "small" else "zhao"
    work = Path(args.work or HERE / "data/restorer" / name)
    work.mkdir(parents=True, exist_ok=True)
    qualities = tuple(int(q) for q in args.qualities.split(","))
    state_path = work / f"{args.phase}.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {"step": 0, "best": -1.0}
    pairs = Pairs(Path(args.corpus) / "train", args.crop, qualities, max_pixels=args.max_pixels)
    xv, yv = val_set(Path(args.corpus) / "val", args.val_crops, qualities)
    vgg_path = losses.vgg19_weights_path()
    vgg = losses.VGGFeatures(vgg_path) if vgg_path else None
    print(f"VGG-19 feature term: {'on, ' + str(vgg_path) if vgg else 'off (weights not on disk)'}",
          flush=True)
    content = losses.content_loss(vgg, lattice_weight=args.lattice_weight,
                                   texture_weight=args.texture_weight,
                                   texture_first=args.texture_first_scale)
    log = open(work / "log.csv", "a", newline="")
    writer = csv.writer(log)

    def checkpoint(model, step, extra):
        val, base, lat, fine = evaluate(model, xv, yv)
        extra = [*extra, f"lattice {lat:.2f} %", f"detail {fine:.1f} %"]
        writer.writerow([args.phase, step, f"{val:.3f}", f"{base:.3f}", *extra])
        log.flush()
        print(f"{args.phase} step {step}: val PSNR {val:.2f} dB (JPEG {base:.2f}, "
              f"{val - base:+.2f}) {extra}", flush=True)
        return val

    if args.phase == "pretrain":
        path = work / "pretrain_last.keras"
        if path.exists():
            g = keras.saving.load_model(path, custom_objects={"content": content})
        else:
            g = build(args)
            if args.init:
                g.set_weights(keras.saving.load_model(args.init, compile=False).get_weights())
            sched = keras.optimizers.schedules.CosineDecay(args.lr, args.steps, alpha=0.05)
            g.compile(optimizer=keras.optimizers.Adam(sched), loss=content)
        t, losses_seen = time.time(), []
        for x, y in pairs.batches(args.batch, state["step"], args.steps, args.workers):
            losses_seen.append(float(g.train_on_batch(x, y)))
            state["step"] += 1
            if state["step"] % args.eval_every == 0 or state["step"] == args.steps:
                val = checkpoint(g, state["step"], [f"loss {np.mean(losses_seen):.4f}",
                                                    f"{(time.time() - t) / len(losses_seen):.2f} s/step"])
                t, losses_seen = time.time(), []
                g.save(path)
                save_inference(g, work / "pregan_last.keras")     # the latest step, shipped form
                if val > state["best"]:
                    state["best"] = val
                    state["best_step"] = state["step"]
                    shutil.copyfile(work / "pregan_last.keras", work / "pregan.keras")
                state_path.write_text(json.dumps(state))
        return

    gen = keras.saving.load_model(work / "pregan.keras", compile=False)
    if args.noise is not None and len(gen.inputs) == 1:
        noisy = build(args, noise=args.noise)
        archs.copy_weights(gen, noisy)
        gen = noisy
    noise_rng = np.random.default_rng(state["step"] + 5)
    critic_path = work / "critic.keras"
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    if critic_path.exists():
        d = keras.saving.load_model(critic_path, compile=False)
    else:
        d = archs.critic(residual_scale=args.critic_scale or None, highpass=args.critic_highpass)
    d.compile(optimizer=keras.optimizers.Adam(args.lr, beta_1=0.5), loss=bce)

    def critic_step(x, y, g):
        """One critic update on clean (label 1) and generated (label 0) crops.  The critic is
        trainable only for this update: frozen, it is part of the combined model of the GAN
        phase.  (TensorFlow keeps the variable list a train function was traced with; JAX
        reads it at every call, so the flag must be right at each call.)"""
        fake = np.asarray(g(with_noise(g, x, noise_rng), training=False))
        patches = (len(x), x.shape[1] // 8, x.shape[2] // 8, 1)     # critic: three stride-2 convs
        labels = np.concatenate([np.ones(patches, np.float32), np.zeros(patches, np.float32)])
        d.trainable = True
        loss = d.train_on_batch([np.concatenate([x, x]), np.concatenate([y, fake])], labels)
        d.trainable = False
        return float(loss)

    if args.phase == "critic":
        for x, y in pairs.batches(args.batch, state["step"], args.steps, args.workers):
            loss = critic_step(x, y, gen)
            state["step"] += 1
            if state["step"] % 50 == 0:
                print(f"critic step {state['step']}: loss {loss:.4f}", flush=True)
                d.save(critic_path)
                state_path.write_text(json.dumps(state))
        d.save(critic_path)
        state_path.write_text(json.dumps(state))
        return

    # GAN phase: generator = the latest GAN checkpoint, or the pre-trained one
    last = work / "gan_last.keras"
    if last.exists():
        gen = keras.saving.load_model(last, compile=False)
        d = keras.saving.load_model(work / "gan_critic_last.keras", compile=False)
        d.compile(optimizer=keras.optimizers.Adam(args.lr, beta_1=0.5), loss=bce)
    # make the critic's own train function while it is trainable; it leaves the critic
    # frozen inside the combined model (the generator's step then updates only the generator)
    x, y = (to_float(a) for a in pairs.batch(args.batch, state["step"]))
    critic_step(x, y, gen)
    inp = keras.Input((None, None, 3))
    grain = keras.Input((None, None, 1)) if len(gen.inputs) == 2 else None
    restored = gen(inp if grain is None else [inp, grain])
    judged = d([inp, restored])
    inputs, outputs = [inp] if grain is None else [inp, grain], [restored, judged]
    loss, weights = [content, bce], [1.0, args.adv_weight]
    if args.feature_weight:
        # feature matching (pix2pixHD, Wang et al. 2018): the frozen critic's activations at
        # each level on the candidate against those on the clean crop, L1, levels weighted alike
        acts = keras.Model(d.inputs, [l.output for l in d.layers
                                      if isinstance(l, keras.layers.LeakyReLU)])
        clean = keras.Input((None, None, 3))
        inputs.append(clean)
        for a, b in zip(acts([inp, restored]), acts([inp, clean])):
            outputs.append(keras.layers.Subtract()([a, b]))
            loss.append("mae")
        weights += [args.feature_weight / (len(outputs) - 2)] * (len(outputs) - 2)
    combined = keras.Model(inputs, outputs)
    combined.compile(optimizer=keras.optimizers.Adam(args.lr / 2, beta_1=0.5),
                     loss=loss, loss_weights=weights)
    ones = np.ones((args.batch, args.crop // 8, args.crop // 8, 1), np.float32)
    zeros = [np.zeros((args.batch, args.crop // 2 ** (i + 1), args.crop // 2 ** (i + 1),
                       o.shape[-1]), np.float32) for i, o in enumerate(outputs[2:])]
    if state["step"] == 0:
        checkpoint(gen, 0, ["start"])
    hist = []
    for x, y in pairs.batches(args.batch, state["step"], args.steps, args.workers):
        dl = critic_step(x, y, gen)
        gx = with_noise(gen, x, noise_rng)
        gx = [gx] if not isinstance(gx, list) else gx
        gl = combined.train_on_batch(gx + ([y] if args.feature_weight else []), [y, ones, *zeros])
        hist.append((dl, *[float(v) for v in np.atleast_1d(gl)]))
        state["step"] += 1
        if state["step"] % args.eval_every == 0 or state["step"] == args.steps:
            m = np.mean(hist, axis=0)
            val = checkpoint(gen, state["step"], [f"critic {m[0]:.3f}", f"gen {m[1:]}"])
            hist = []
            gen.save(work / f"gan_{state['step']:05d}.keras")
            gen.save(last)
            d.save(work / "gan_critic_last.keras")
            state.setdefault("checkpoints", {})[str(state["step"])] = val
            state_path.write_text(json.dumps(state))


if __name__ == "__main__":
    main()
