"""Detector service: an image's JPEG history (never / once / twice) from its pixels."""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import features, quality
from .archs import CLASSES
from .errors import UnusableImage


def aggregate(block_probs: np.ndarray) -> np.ndarray:
    """Image probabilities from block probabilities (N, 3).

    The mean of the block probabilities, so confident blocks (textured areas, which carry
    the quantisation evidence) and unsure ones (flat sky) each count for what they say; the
    seed's mode of block argmaxes throws that away.  `ai-research/eval_detector.py` compares
    the two on validation images.
    """
    return block_probs.mean(axis=0)


EVIDENCE_FLOOR = 1e-3
PROB_FLOOR = 1e-6
CALIBRATION_FEATURES = ("log mean block P(uncompressed)", "log mean block P(single)",
                        "log mean block P(double)", "log(grid evidence + 0.001)",
                        "quantiser-table fit", "1")


def calibration_features(image_p: np.ndarray, evidence: float, fit: float) -> np.ndarray:
    """What the image-level calibration looks at (CALIBRATION_FEATURES): the log of the CNN's
    mean block probabilities, the log of the grid evidence (`features.grid_search`), the
    quantiser-table fit (`quality.table_fit`) and 1 (the bias)."""
    p = np.log(np.clip(np.asarray(image_p, np.float64), PROB_FLOOR, 1.0))
    return np.concatenate([p, [np.log(evidence + EVIDENCE_FLOOR), fit, 1.0]])


CALIBRATION_OUTPUTS = ("compressed vs not", "double vs single")


def calibrate(image_p: np.ndarray, evidence: float, fit: float, weights) -> np.ndarray:
    """Image probabilities from two logistic regressions on `calibration_features` (weights
    (6, 2), one column each, CALIBRATION_OUTPUTS), fitted on training pictures by
    ai-research/calibrate_detector.py: the first column's logit says compressed (rather than
    never), the second double (rather than single, given compressed); the probabilities are
    (1 - c, c (1 - d), c d).  The CNN alone knows single from double only so well; the two
    pixel statistics tell compressed from not where it hesitates (light JPEGs, flat renders).

    Two questions rather than one three-class regression: the compressed-vs-not one is also
    fitted on the light end where cameras save (`data.camera_case`, QF 96-99), which the CNN
    never trained on and calls uncompressed, while the single-vs-double one keeps to the
    CNN's training cases and to the CNN's ratio of double to single
    (`calibrate_detector.fit_calibration` says why).  One three-class fit on both bent its
    single-vs-double weights to the camera cases (ad hoc, on validation: singles at QF 10-70
    lost 20-60 points)."""
    return calibrated(calibration_features(image_p, evidence, fit), weights)


def calibrated(features: np.ndarray, weights) -> np.ndarray:
    """`calibrate` from the features themselves."""
    c, d = 1.0 / (1.0 + np.exp(-np.clip(features @ np.asarray(weights, np.float64), -50, 50)))
    return np.array([1.0 - c, c * (1.0 - d), c * d])


SECOND_GRID_DECISIVE = 0.06     # `features.second_grid` evidence from which a picture is double
SECOND_GRID_MIN_QUALITY = 85    # ... when its last compression was this light or lighter
SECOND_GRID_MAX_STEP = 4        # ... and its low-frequency steps, as read, this fine


LATTICE_DECISIVE = 6.0   # lattice evidence (`features.LatticeScan.at`) from which it is compressed


def lattice_found(image_p: np.ndarray, evidence: float) -> np.ndarray:
    """Image probabilities once the grid's whole-number lattice has spoken (`evidence` on the
    grid used: `features.LatticeScan.at`): a picture called uncompressed whose coefficients
    sit on a JPEG decoder's lattice (from LATTICE_DECISIVE) was compressed, as a JPEG file is
    (`file_evidence`).  This is what tells the lightest JPEGs (QF 98-100, whose steps of 1-2
    zero next to nothing) from never-compressed pictures: the calibration's grid evidence and
    table fit read quantiser multiples that steps of 1 do not show.  It never makes a
    compressed verdict uncompressed.  `make lattice-thresholds` measures the threshold
    (results/lattice_thresholds.md): on 614 never-compressed training crops and graphics
    (photographs, varied, a camera pipeline's, noisy, upscaled, pixel art) the evidence was at
    most 2.2; it was decisive on 97-100 % of QF 100 JPEG crops, 87-97 % of QF 97-99 ones, and
    77-83 % of QF 90-95 ones, where the zeros speak too."""
    p = np.asarray(image_p, np.float64)
    if evidence < LATTICE_DECISIVE or int(np.argmax(p)) != CLASSES.index("uncompressed"):
        return p.copy()
    return file_evidence(p)


def second_grid_decisive(evidence: float, last_quality: int | None, low_step: float) -> bool:
    """Whether a first compression on another grid (`features.second_grid`) is certain.  Only
    a light last pass leaves the first grid's multiples standing; after a heavier one, singles'
    own partly aligned grids reach the same scores.  So the last pass must be light twice
    over: its estimated IJG quality at least SECOND_GRID_MIN_QUALITY, and the median step of
    the first five AC frequencies read from its coefficients (`quality.last_steps`; `low_step`)
    at most SECOND_GRID_MAX_STEP (a flat picture can fool the quality estimate, not both).  On
    30 training crops each (ad hoc runs, not a committed output; see
    ai-research/notes/c-tiny-log.md), singles at QF 85-95 scored at most 0.033, doubles
    recropped between QF 60-85 and QF 90-95 0.04-0.46 (median 0.08-0.40)."""
    return (last_quality is not None and last_quality >= SECOND_GRID_MIN_QUALITY
            and 0 < low_step <= SECOND_GRID_MAX_STEP and evidence >= SECOND_GRID_DECISIVE)


def first_compression_tests(ev: Evidence) -> tuple[bool, bool, bool]:
    """Whether each test for a first compression is decisive on a picture's evidence: (the
    same grid's histograms, a heavier first pass, `quality.double_quantisation`; another
    grid, `second_grid_decisive`, or its block means' lattice on the grid `second_grid` names
    (`quality.other_grid_dc`); the same grid's histograms, a lighter first pass such as a
    camera's, `quality.light_first_pass`)."""
    return (ev.double_quantisation >= quality.DQ_DECISIVE,
            second_grid_decisive(ev.second_grid, ev.quality, ev.low_step)
            or ev.second_grid_dc >= quality.GRID_DC_DECISIVE,
            ev.light_first >= quality.LIGHT_DECISIVE)


def coarser_table_check(steps: np.ndarray, table) -> dict:
    """The coefficients' steps read (`quality.last_steps`) against the last compression's own
    luma table (64 steps, natural order): how many frequencies sit on a coarser lattice
    (`quality.coarser_than_table`), whether that many make the picture double
    (COARSER_DECISIVE: a heavier first pass on the same grid left them there) and the first
    quality those steps name.  The table is a JPEG file's own (`file_table` in /detect) or,
    for pixels, the IJG table that gives the picture's blocks back (`last_table`)."""
    count, first = quality.coarser_than_table(steps, table)
    decisive = count >= quality.COARSER_DECISIVE
    return {"coarser_steps": count, "decisive": decisive, "first_quality": first if decisive else None}


def double_compression_found(image_p: np.ndarray, found: bool) -> np.ndarray:
    """Image probabilities once the tests for a first compression (`first_compression_tests`)
    have spoken.  They tell single from double, not compressed from not: on a picture called
    compressed, a decisive test moves the "single" mass to "double"; a picture called
    uncompressed stays so (a never-compressed render can have periodic texture: 1.2 % of
    uncompressed training cases looked like a second grid), and without a decisive test
    (most doubles leave neither trace) nothing changes."""
    p = np.asarray(image_p, np.float64).copy()
    single, double = CLASSES.index("single"), CLASSES.index("double")
    if found and int(np.argmax(p)) != CLASSES.index("uncompressed"):
        p[double] += p[single]
        p[single] = 0.0
    return p


def camera_end(image_p: np.ndarray, last_quality: int | None,
               from_quality: int = quality.CAMERA_END) -> np.ndarray:
    """Image probabilities once the last quality is known to be at the light end where
    cameras save (estimated from the pixels at `quality.CAMERA_END` or more, as
    `data.CAMERA_QUALITIES`).  The CNN trained on QF 10-95 only: there it calls most pictures
    uncompressed, and its single / double ratio, which the calibration's second question reads
    and which was fitted on QF <= 95, says nothing (an ad hoc look at the validation split's
    QF 97-99 singles: the 4 views of 78 called double had a calibrated P(double | compressed)
    of 0.50-0.51, coin flips).  A first compression that does leave a trace under so light a
    last pass (a heavier one: its coarse steps are what the pixels read, so the estimate is
    not at this end) is the tests' to find (`first_compression_tests`).  So on a picture
    called compressed the "double" mass moves to "single"; a picture called uncompressed
    stays so (compressed-vs-not is the calibration's).  `from_quality`: where that end starts,
    lower for a JPEG file saved with a camera's own table (`camera_table`).  `Detector` passes
    the quality only when it rests on CAMERA_MIN_READ clearly non-zero coefficients or more
    (`Evidence.light_end_quality`): a nearly flat picture's few hundred read any quality (a
    flat blue sky of demo/DQF5070, QF 50 then 70, read 98 from 142 and became a sure single;
    on the validation views of QF 97-99 singles the fewest read were 3,879, while (50, 97) and
    (50, 70) doubles read 95 from 331 and 43 from 288)."""
    p = np.asarray(image_p, np.float64).copy()
    single, double = CLASSES.index("single"), CLASSES.index("double")
    if (last_quality is not None and last_quality >= from_quality
            and int(np.argmax(p)) != CLASSES.index("uncompressed")):
        p[single] += p[double]
        p[double] = 0.0
    return p


CAMERA_TABLE_FROM = 90     # a file's own non-IJG table this light: the camera's end starts here
CAMERA_MIN_READ = 1000     # clearly non-zero coefficients a last quality must rest on for `camera_end`


def camera_table(table) -> bool:
    """Whether a JPEG file's luma table (64 steps, natural order) is a camera's kind: no IJG
    table matches it exactly and the closest is CAMERA_TABLE_FROM or lighter.  The CNN trained
    on IJG tables only, and a light table's small steps moved by one (2 -> 3) are far from
    any it saw: on camera-like files of a camera pipeline's pictures (steps of IJG's at QF 92
    or 90 moved by -1..+1) the pixels' single / double ratio called 4-6 and 2-12 of 26 single
    views double (`make eval-detector`'s JPEG-file table, two runs with other draws).  Such a
    file is treated as at the camera end from CAMERA_TABLE_FROM (`camera_end`, keyed on the
    quality its pixels read): single unless a test finds a first compression."""
    q, exact = quality.quality_from_table(table)
    return not exact and q >= CAMERA_TABLE_FROM


def after_calibration(image_p: np.ndarray, lattice: float, last_quality: int | None,
                      found: bool) -> np.ndarray:
    """The pixels' verdict as `Detector.detect` serves it, from the calibrated probabilities:
    the decoder's lattice (`lattice_found`), then no double without a test at the camera end
    (`camera_end`), then the tests for a first compression (`double_compression_found`,
    `found`: any of `first_compression_tests`).  ai-research/calibrate_detector.py scores its
    fit through the same chain."""
    return double_compression_found(camera_end(lattice_found(image_p, lattice), last_quality), found)


DECIDED_CONFIDENCE = 0.7   # single vs double is decided when one holds this share of "compressed"


def single_vs_double(image_p: np.ndarray) -> dict | None:
    """How far the image probabilities tell a single compression from a double one, for a
    picture called compressed (None otherwise): `confidence`, the larger of P(single) and
    P(double) over their sum, and `decided`, whether it reaches DECIDED_CONFIDENCE.  A test
    that found a first compression, or the camera's end, leaves one of the two at 0, so
    decided.  Where the last pass erased what a first one left (a first pass lighter than the
    last, its steps dividing the last's; QF 50 then 50), no detector can tell, and the
    calibrated CNN says about as much: on the calibration's 2000 training cases (ad hoc run on
    cached evidence, 2026-11-28) its decided single / double calls were right 85.1 % of the
    time and the others 55.7 %, a coin flip; on the validation cases of `make eval-detector`
    see its "decided" columns.  The verdict stays the argmax; this says how much to make of
    its single or double."""
    p = np.asarray(image_p, np.float64)
    if int(np.argmax(p)) == CLASSES.index("uncompressed"):
        return None
    single, double = p[CLASSES.index("single")], p[CLASSES.index("double")]
    confidence = float(max(single, double) / max(single + double, 1e-12))
    return {"confidence": round(confidence, 4), "decided": confidence >= DECIDED_CONFIDENCE}


def file_evidence(image_p: np.ndarray) -> np.ndarray:
    """Image probabilities given that the upload is a JPEG file (so compressed at least
    once): P(uncompressed) is 0, single and double keep their ratio.  When the pixels are
    certain of neither (both under 1e-9), single: one compression is what the file shows."""
    p = np.asarray(image_p, np.float64).copy()
    p[CLASSES.index("uncompressed")] = 0.0
    if p.sum() < 1e-9:
        p[:] = 0.0
        p[CLASSES.index("single")] = 1.0
    return p / p.sum()


@dataclass
class Evidence:
    """What `Detector.blocks_and_evidence` measures of an image."""
    image_probs: np.ndarray          # (3,) the CNN's for the image (`Detector.image_probs`)
    block_probs: np.ndarray          # (N, 3) CNN probabilities of the blocks
    blocks: list                     # their `features.Block`s
    offset: tuple[int, int]          # the 8x8 grid used (dx, dy)
    grid_evidence: float             # `features.grid_search`
    quality: int | None              # last JPEG quality estimated from the pixels on the grid
    table_fit: float                 # `quality.table_fit` at that quality
    double_quantisation: float = 0.0     # `quality.double_quantisation` evidence
    first_quality: int | None = None     # and the first compression's quality it points to
    second_grid: float = 0.0             # `features.second_grid` evidence
    second_offset: tuple[int, int] = (0, 0)   # and that grid
    second_grid_dc: float = 0.0          # `quality.other_grid_dc`'s z-score where its grid is that one, else 0
    second_grid_quality: int | None = None   # and the IJG quality of the DC step it found there
    steps: np.ndarray | None = None      # the steps read at the first AC frequencies (`last_steps`)
    light_first: float = 0.0             # `quality.light_first_pass` evidence
    light_first_quality: int | None = None   # and the first compression's quality it points to
    lattice: float = 0.0                 # `features.LatticeScan.at` the grid used
    read: int = 0                        # clearly non-zero AC coefficients the quality was read from
    transposed: bool = False             # turned a quarter since its last compression (`quality.transposed`)
    exact_table: bool = False            # the IJG table of `quality` gives the blocks back (`quality.exact_last_table`)

    @property
    def light_end_quality(self) -> int | None:
        """The last quality, where `camera_end` may act on it: None when it was read from
        fewer than CAMERA_MIN_READ clearly non-zero coefficients."""
        return self.quality if self.read >= CAMERA_MIN_READ else None

    def turned_back(self) -> "Evidence":
        """The evidence measured on a picture's transpose, with its blocks and grids given in
        the picture's own frame (x for y, width for height).  The steps and qualities read stay
        those of the picture as it was compressed, the frame of a JPEG file's own table."""
        return replace(self, blocks=[features.Block(b.y, b.x, b.height, b.width) for b in self.blocks],
                       offset=self.offset[::-1], second_offset=self.second_offset[::-1],
                       transposed=True)

    @property
    def low_step(self) -> float:
        """The median step read at the first five AC frequencies (0 when none was read)."""
        low = np.zeros(0) if self.steps is None else self.steps[:5]
        return float(np.median(low[low > 0])) if (low > 0).any() else 0.0


def _probs(p) -> dict[str, float]:
    return {c: round(float(v), 4) for c, v in zip(CLASSES, p)}


class Detector:
    """C_Tiny on DCT histograms of up to 21 grid-aligned 256x256 luma blocks."""

    def __init__(self, model, name: str = "c-tiny", calibration=None, pooled: bool = False):
        self.model = model
        self.name = name
        # True: the model was trained on image-level histograms (`image_probs`)
        self.pooled = pooled
        # weights of `calibrate` (6 x 2), or None: the CNN's mean probabilities as they are
        self.calibration = None if calibration is None else np.asarray(calibration, np.float64)
        shape = (len(CALIBRATION_FEATURES), len(CALIBRATION_OUTPUTS))
        if self.calibration is not None and self.calibration.shape != shape:
            raise ValueError(f"calibration weights must be {shape[0]} x {shape[1]} numbers, "
                             f"got shape {self.calibration.shape}")
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | Path, name: str = "c-tiny", calibration=None,
             pooled: bool = False) -> "Detector":
        import keras
        return cls(keras.saving.load_model(path, compile=False), name, calibration, pooled)

    def predict_blocks(self, feats: np.ndarray) -> np.ndarray:
        with self._lock:
            if hasattr(self.model, "predict_on_batch"):   # Keras: its compiled predict
                return np.asarray(self.model.predict_on_batch(feats), dtype=np.float64)
            return np.asarray(self.model(feats, training=False), dtype=np.float64)

    def image_probs(self, feats: np.ndarray, block_probs: np.ndarray) -> np.ndarray:
        """The CNN's probabilities for the whole image.  A block model's are the mean of its
        block probabilities (`aggregate`).  A pooled model (`train_detector.py --pooled`) was
        trained on the histogram of all of an image's blocks together, the mean of their
        features: it reads that, where every frequency holds up to 21 x 1024 coefficients
        rather than 1024, so a first compression's periodic traces stand out of the noise."""
        if not self.pooled:
            return aggregate(block_probs)
        return self.predict_blocks(feats.mean(axis=0, keepdims=True))[0]

    def blocks_and_evidence(self, rgb: np.ndarray, upright: bool = False) -> Evidence:
        """The uncalibrated part of `detect`: block probabilities and the pixel statistics
        the calibration weighs.  ai-research/calibrate_detector.py fits the calibration on it.
        The grid is the one whose AC coefficients hold the most zeros (`features.grid_scan`);
        when none stands out, the one whose coefficients sit most on whole numbers, if they
        clearly do (`features.lattice_scan`, from LATTICE_DECISIVE: a JPEG at QF 98-100 zeroes
        next to nothing).  The lattice's evidence on the grid used is kept: that grid's z-score
        minus the best other grid's.

        A picture turned a quarter since its last compression (`quality.transposed`: a
        portrait photograph shown upright from its EXIF orientation) is measured transposed,
        as it was compressed: the CNN and the tests know the blocks only that way round.  Its
        blocks and grids are then given in the frame of `rgb` and `transposed` is set.
        `upright`: measure `rgb` as it is, without that check (what the evaluation compares
        with)."""
        h, w = rgb.shape[:2]
        if h < 8 or w < 8:
            raise UnusableImage(f"image is {w}x{h}; the detector needs at least 8x8 pixels")
        scan = features.grid_scan(rgb)
        offset, evidence = features.locate_grid(scan)
        if evidence < features.GRID_MIN_EVIDENCE:       # no grid of zeros: a lattice's grid?
            lattice_offset, best = scan.lattice.best()
            if best >= LATTICE_DECISIVE:
                offset = lattice_offset
        lattice = scan.lattice.at(offset)
        second, second_offset = features.second_grid(scan, offset)
        reading, light_reading = self._readings(rgb, offset)
        ac, dc, steps, qf, scores = self._last_quality(reading)
        turned = not upright and quality.transposed(ac, scores)
        if turned:
            # the picture as it was compressed (a view: no copy); the grid search's figures
            # hold for it too, its offsets swapped (they count all frequencies alike, and the
            # second grid's periodicity reads (u, v) and (v, u) both)
            rgb = np.swapaxes(rgb, 0, 1)
            offset, second_offset = offset[::-1], second_offset[::-1]
            reading, light_reading = (None if r is None else quality.transposed_reading(r)
                                      for r in (reading, light_reading))
            ac, dc, steps, qf, _ = self._last_quality(reading)
        exact = False
        if qf is not None:
            # the table that gives the blocks back, as the decoder made them (`quality.
            # exact_last_table`; a turned picture read the way it was compressed, whose blocks
            # are then the decoder's again, mirrored at most, which its inverse DCT keeps)
            index, exact = quality.exact_last_table(qf - 1, ac, dc)
            qf = index + 1
        feats, blocks, offset = features.image_features(rgb, offset)
        read = 0 if ac is None else int(np.count_nonzero(np.abs(ac) > quality.CLEARLY_NON_ZERO))
        dq, first = quality.double_quantisation(ac, qf, steps)
        # the lighter-first test reads up to quality.LIGHT_SIDE px a side
        light_ac, light_dc, light_steps = ((ac, dc, steps) if light_reading is None
                                           else (light_reading.ac, light_reading.dc, None))
        light, light_q = quality.light_first_pass(light_ac, light_steps, dc=light_dc)
        # a first grid's lattice in the block means counts where the AC coefficients' periodicity
        # points to the same grid (both are in the frame of `rgb` as read)
        other_dc, other_grid, other_step = quality.other_grid_dc(rgb, offset, quality.last_dc_step(light_dc))
        agree = other_grid == tuple(second_offset)
        second_dc = other_dc if agree else 0.0
        second_q = quality.quality_of_dc_step(other_step) if agree else None
        block_probs = self.predict_blocks(feats)
        ev = Evidence(self.image_probs(feats, block_probs), block_probs, blocks, offset,
                      evidence, qf, quality.table_fit(ac, qf), dq, first, second,
                      second_offset, second_dc, second_q, steps, light, light_q, lattice, read,
                      exact_table=exact)
        return ev.turned_back() if turned else ev

    @staticmethod
    def _readings(rgb: np.ndarray, offset) -> tuple:
        """The `quality.Reading` of the central quality.READ_SIDE px on the grid at `offset`
        (`quality.grid_coefficients`), which the statistics read, and, when the grid holds
        more, that of the central quality.LIGHT_SIDE px, which the lighter-first test reads
        (else None), both at once (`quality.nested_readings`).  (None, None) for too small a
        grid.  A picture turned since (`quality.transposed`) is read again from them
        (`quality.transposed_reading`)."""
        h, w = rgb.shape[0] - offset[1], rgb.shape[1] - offset[0]
        if max(h, w) // 8 * 8 > quality.READ_SIDE:
            return quality.nested_readings(rgb, offset, quality.READ_SIDE, quality.LIGHT_SIDE)
        return quality.grid_reading(rgb, offset), None

    @staticmethod
    def _last_quality(reading):
        """The AC and DC coefficients of a `quality.Reading`, the steps read from the AC ones,
        the last quality they fit and the tables' scores that read weighs
        (`quality.table_scores`; all None for no reading)."""
        if reading is None:
            return None, None, None, None, None
        ac, dc = reading.ac, reading.dc
        steps, scores = quality.last_steps(ac), quality.table_scores(ac)
        return ac, dc, steps, quality.quality_from_coefficients(ac, steps, scores), scores

    def detect(self, rgb: np.ndarray, jpeg_quality: int | None = None,
               jpeg_table=None, evidence: Evidence | None = None) -> dict:
        """Verdict, probabilities, per-block results, grid offset and quality estimate.

        Image probabilities: the CNN's for the image (`image_probs`), then, when
        the detector has a calibration, two logistic regressions on them, the grid evidence and
        the quantiser-table fit together (`calibrate`); a picture called uncompressed whose
        coefficients sit on a decoder's whole-number lattice is compressed (`lattice_found`,
        `lattice` in the answer: its evidence and whether decisive); at the light end where
        cameras save, no double without a test (`camera_end`); then the three tests for a first
        compression (`first_compression_tests`, `double_compression_found`); then, unless the
        upload is a JPEG file whose own table is checked below, the same check against the IJG
        table that gives the picture's blocks back to the pixel, when one does
        (`quality.exact_last_table`, `coarser_table_check`; `last_table` in the answer, null
        otherwise and for a picture called uncompressed: a single compression's steps read
        nothing coarser than its own table, so coarser steps under the table the pixels prove
        show a heavier first pass).  These are the pixels' own verdict, returned as
        `pixel_probabilities`.  `double_quantization`,
        `second_grid` (the AC periodicity's `evidence` and the first grid's `block_means`)
        and `light_first_pass` report the three tests; when the first is
        decisive `quality.first_estimate` is the first quality it names (else the file table's,
        below, or the last table's, else the IJG quality of the DC step in another grid's block
        means, else the third test's).  `single_vs_double` says how far the final
        probabilities tell one compression from two (`single_vs_double`; null when the verdict
        is uncompressed).

        `jpeg_quality` is the quality read from the file's own quantisation tables, when the
        upload was a JPEG; otherwise it is estimated from the pixels (when compression is
        detected).  A JPEG file has been compressed at least once, whatever its pixels look
        like (a camera's QF 97 leaves little trace): then `probabilities` are the pixels'
        single and double ones renormalised (`file_evidence`) and the verdict is one of the two;
        when the pixels' last quality is at the light end where cameras save, single unless a
        test found a first compression (`camera_end`, which the pixels' own verdict of
        uncompressed held off: such a file's pixels often look uncompressed, and their single /
        double ratio says nothing; a file whose pixels read a heavier first pass's steps, QF 97
        after QF 50, keeps the pixels' ratio); a file saved with a camera's own table
        (`camera_table`) is at that end from a last quality of CAMERA_TABLE_FROM, as its pixels
        read it.
        `jpeg_table` is then the file's luma table (64 steps, natural order): when the
        coefficients sit on a coarser lattice than it (`quality.coarser_than_table`), a heavier
        compression came first and the verdict is double (`file_table`; null without a table).
        `evidence`: `blocks_and_evidence(rgb)` when the caller has it already.
        """
        ev = self.blocks_and_evidence(rgb) if evidence is None else evidence
        pixel_p = ev.image_probs
        if self.calibration is not None:
            pixel_p = calibrate(pixel_p, ev.grid_evidence, ev.table_fit, self.calibration)
        decisive, shifted, lighter = first_compression_tests(ev)
        block_means = ev.second_grid_dc >= quality.GRID_DC_DECISIVE   # part of `shifted`
        pixel_p = after_calibration(pixel_p, ev.lattice, ev.light_end_quality,
                                    decisive or shifted or lighter)
        last_table = None
        if jpeg_table is None and ev.exact_table and ev.steps is not None:
            last_table = {"quality": ev.quality,
                          **coarser_table_check(ev.steps, quality.ijg_table(ev.quality))}
            pixel_p = double_compression_found(pixel_p, last_table["decisive"])
        image_p = pixel_p
        if jpeg_quality is not None:
            image_p = file_evidence(pixel_p)
            if not (decisive or shifted or lighter):
                light_end = (CAMERA_TABLE_FROM if jpeg_table is not None and camera_table(jpeg_table)
                             else quality.CAMERA_END)
                image_p = camera_end(image_p, ev.light_end_quality, light_end)
        table = None
        if jpeg_table is not None and ev.steps is not None:
            table = coarser_table_check(ev.steps, jpeg_table)
            image_p = double_compression_found(image_p, table["decisive"])
        verdict = CLASSES[int(np.argmax(image_p))]
        if verdict == "uncompressed":
            last_table = None       # no last compression to speak of (a flat picture fits any table)
        if jpeg_quality is not None:
            q = {"estimate": int(jpeg_quality), "source": "quantization-table"}
        elif verdict != "uncompressed" and ev.quality is not None:
            q = {"estimate": ev.quality, "source": "pixels"}
        else:
            q = None
        checked = table or last_table        # a file's own table, or the one the pixels prove
        if q is not None and decisive and ev.first_quality is not None:
            q["first_estimate"] = ev.first_quality
        elif q is not None and checked is not None and checked["first_quality"] is not None:
            q["first_estimate"] = checked["first_quality"]
        elif q is not None and block_means and ev.second_grid_quality is not None:
            q["first_estimate"] = ev.second_grid_quality
        elif q is not None and lighter and ev.light_first_quality is not None:
            q["first_estimate"] = ev.light_first_quality
        blocks, offset = ev.blocks, ev.offset
        return {
            "verdict": verdict,
            "probabilities": _probs(image_p),
            "pixel_probabilities": _probs(pixel_p),
            "blocks": [{"x": b.x, "y": b.y, "size": features.BLOCK, "width": b.width,
                        "height": b.height, "tiled": b.tiled,
                        "verdict": CLASSES[int(np.argmax(p))], "probabilities": _probs(p)}
                       for b, p in zip(blocks, ev.block_probs)],
            "grid": {"dx": offset[0], "dy": offset[1], "evidence": round(ev.grid_evidence, 4),
                     "transposed": ev.transposed},
            "quality": q,
            "double_quantization": {"evidence": round(ev.double_quantisation, 4),
                                    "decisive": bool(decisive),
                                    "first_quality": ev.first_quality if decisive else None},
            "second_grid": {"dx": ev.second_offset[0], "dy": ev.second_offset[1],
                            "evidence": round(ev.second_grid, 4),
                            "block_means": round(ev.second_grid_dc, 2), "decisive": bool(shifted),
                            "first_quality": ev.second_grid_quality if block_means else None},
            "light_first_pass": {"evidence": round(ev.light_first, 4), "decisive": bool(lighter),
                                 "first_quality": ev.light_first_quality if lighter else None},
            "lattice": {"evidence": round(ev.lattice, 2), "decisive": ev.lattice >= LATTICE_DECISIVE},
            "single_vs_double": single_vs_double(image_p),
            "file_table": table,
            "last_table": last_table,
            "model": self.name,
        }

