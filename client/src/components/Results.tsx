import { useEffect, useRef } from 'react';
import {
  classLabel,
  classOrder,
  downloadName,
  formatPercent,
  formatSeconds,
  onceOrTwiceUndecided,
  verdictHeading,
  type RestoreResult,
} from '../api';
import { CompareSlider } from './CompareSlider';
import { ProbabilityChart } from './ProbabilityChart';
import { BlockHeatmap } from './BlockHeatmap';

export interface ResultView {
  data: RestoreResult;
  fileName: string;
  originalUrl: string | null;
  restoredUrl: string | null;
  /** Seconds from sending the request to having the answer, measured in the browser. */
  roundTrip: number;
  /** Detection was skipped because "Force restore" was on. */
  forced: boolean;
  /** Detection said "uncompressed" and the user pressed "Restore anyway". */
  restoredAnyway: boolean;
}

interface Props {
  view: ResultView;
  busy: boolean;
  onRestoreAnyway: () => void;
  onStartOver: () => void;
}

const TIMING_LABELS: Record<string, string> = {
  detect_s: 'Detection',
  restore_s: 'Restoration',
  decode_s: 'Decoding',
  encode_s: 'PNG encoding',
  queue_s: 'Queue wait',
  total_s: 'Server total',
};
const TIMING_ORDER = Object.keys(TIMING_LABELS);

function timingRank(key: string): number {
  const i = TIMING_ORDER.indexOf(key);
  return i < 0 ? TIMING_ORDER.length - 1 : i;
}

function timingLabel(key: string): string {
  if (TIMING_LABELS[key]) return TIMING_LABELS[key];
  const words = key.replace(/_s$/, '').replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function qualityText(data: RestoreResult): { value: string; note: string } {
  const q = data.quality;
  if (!q || q.estimate === null || q.estimate === undefined) {
    return {
      value: 'Not estimated',
      note: data.verdict === 'uncompressed' ? 'No JPEG compression to estimate.' : 'The server made no estimate.',
    };
  }
  // from pixels, proven when that quality's table gives the blocks back to the pixel
  const proven = q.source === 'pixels' && data.last_table?.quality === q.estimate;
  const note =
    q.source === 'quantization-table'
      ? 'Read from the JPEG file’s quantization tables.'
      : proven
        ? 'Read from the pixels: this quality’s table decodes them exactly.'
        : q.source === 'pixels'
          ? 'Estimated from the pixels (approximate).'
          : q.source
            ? `Source: ${q.source}.`
            : '';
  const exact = q.source === 'quantization-table' || proven;
  return { value: `${exact ? '' : '≈ '}${q.estimate}`, note };
}

function verdictTone(data: RestoreResult): string {
  if (!data.verdict) return 'skipped';
  if (data.verdict === 'uncompressed') return 'clean';
  if (data.verdict === 'double' && !onceOrTwiceUndecided(data)) return 'double';
  return 'single'; // compressed; a double's warning colour only when the detector could tell
}

export function Results({ view, busy, onRestoreAnyway, onStartOver }: Props) {
  const { data } = view;
  const headingRef = useRef<HTMLHeadingElement>(null);
  const sectionRef = useRef<HTMLElement>(null);

  // Bring the answer into view and give it focus so screen readers read it.
  useEffect(() => {
    headingRef.current?.focus({ preventScroll: true });
    sectionRef.current?.scrollIntoView?.({ behavior: 'smooth', block: 'start' });
  }, [view]);

  const verdict = data.verdict;
  const confidence = verdict && data.probabilities ? data.probabilities[verdict] : undefined;
  const quality = qualityText(data);
  const timings = Object.entries(data.timings ?? {})
    .filter(([, v]) => typeof v === 'number')
    .sort(([a], [b]) => timingRank(a) - timingRank(b));
  const grid = data.grid;
  const dq = data.double_quantization;
  const fileTable = data.file_table;
  const lastTable = data.last_table;
  const light = data.light_first_pass;
  // a first compression: the same grid's histograms (a heavier or a lighter first pass),
  // else the file's own table, else the table that gives the pixels back
  const first = dq?.decisive
    ? {
        quality: dq.first_quality,
        why: (
          <>
            its quantizer steps still show in the DCT histograms (evidence{' '}
            <span className="mono">{dq.evidence.toFixed(2)}</span>)
          </>
        ),
      }
    : fileTable?.decisive
      ? {
          quality: fileTable.first_quality,
          why: `the file's coefficients sit on coarser steps than its own table (at ${fileTable.coarser_steps} frequencies): a heavier compression came first`,
        }
      : lastTable?.decisive
        ? {
            quality: lastTable.first_quality,
            why: `the pixels are exactly what the quality ${lastTable.quality} table decodes, yet their coefficients sit on coarser steps (at ${lastTable.coarser_steps} frequencies): a heavier compression came first`,
          }
        : light?.decisive
          ? {
              quality: light.first_quality ?? null,
              why: (
                <>
                  a lighter one, such as a camera&apos;s, left its finer steps in the DCT histograms
                  (evidence <span className="mono">{light.evidence.toFixed(1)}</span>)
                </>
              ),
            }
          : null;
  const pixels = pixelVerdict(data);
  const width = data.image?.width;
  const height = data.image?.height;
  const notRestored = !data.restored;
  const name = downloadName(view.fileName);

  let summary: string;
  if (view.forced) summary = 'Detection was skipped because “Force restore” was on; the restorer ran on the whole picture.';
  else if (view.restoredAnyway) summary = 'The detector found no JPEG compression; the picture was restored anyway, as you asked.';
  else if (notRestored)
    summary =
      'The detector found no sign of JPEG compression, so the picture was left as it is. Restoring a clean picture usually softens it, but you can still try.';
  else summary = 'JPEG compression was found, so the restorer removed its artifacts. Drag the slider to compare.';

  return (
    <section className="results" ref={sectionRef} aria-labelledby="verdict-heading">
      <div className={`card verdict verdict-${verdictTone(data)}`}>
        <div className="verdict-main">
          <span className="verdict-dot" aria-hidden="true" />
          <div>
            <h2 id="verdict-heading" ref={headingRef} tabIndex={-1} className="verdict-title">
              {verdictHeading(data)}
            </h2>
            <p className="verdict-summary">{summary}</p>
          </div>
        </div>
        <dl className="verdict-facts">
          {confidence !== undefined && (
            <div>
              <dt>Confidence</dt>
              <dd>{formatPercent(confidence)}</dd>
            </div>
          )}
          {verdict && verdict !== 'uncompressed' && (
            <div>
              <dt>Quality</dt>
              <dd>{quality.value}</dd>
            </div>
          )}
          {data.model && data.restored && (
            <div>
              <dt>Model</dt>
              <dd>{data.model}</dd>
            </div>
          )}
          {data.restored && typeof data.strength === 'number' && (
            <div>
              <dt>Strength</dt>
              <dd>{Math.round(data.strength * 100)} %</dd>
            </div>
          )}
          <div>
            <dt>Round trip</dt>
            <dd>{formatSeconds(view.roundTrip)}</dd>
          </div>
        </dl>
        <div className="verdict-actions">
          {notRestored && (
            <button type="button" className="btn btn-primary" onClick={onRestoreAnyway} disabled={busy}>
              Restore anyway
            </button>
          )}
          <button type="button" className="btn btn-ghost" onClick={onStartOver}>
            Start over
          </button>
        </div>
      </div>

      {data.restored && view.restoredUrl && (
        <CompareSlider
          originalUrl={view.originalUrl}
          restoredUrl={view.restoredUrl}
          width={width}
          height={height}
          downloadName={name}
        />
      )}
      {data.restored && !view.restoredUrl && (
        <div className="alert alert-warn" role="alert">
          The server says the picture was restored but sent no image back.
        </div>
      )}

      <div className="result-grid">
        {data.probabilities && Object.keys(data.probabilities).length > 0 && (
          <div className="card">
            <h3>Class probabilities</h3>
            <ProbabilityChart probabilities={data.probabilities} verdict={verdict} />
          </div>
        )}

        <div className="card">
          <h3>Details</h3>
          <dl className="details">
            {verdict && (
              <div>
                <dt>Verdict</dt>
                <dd>{classLabel(verdict)}</dd>
              </div>
            )}
            {onceOrTwiceUndecided(data) && data.probabilities && (
              <div>
                <dt>Once or twice</dt>
                <dd>
                  Cannot tell: single {formatPercent(data.probabilities.single)}, double{' '}
                  {formatPercent(data.probabilities.double)}
                  <span className="muted">
                    {' '}
                    · a first compression lighter than the last, or at the same quality, can leave no trace in the
                    pixels
                  </span>
                </dd>
              </div>
            )}
            {verdict && (
              <div>
                <dt>Quality estimate</dt>
                <dd>
                  {quality.value}
                  {quality.note && <span className="muted"> · {quality.note}</span>}
                </dd>
              </div>
            )}
            {pixels && (
              <div>
                <dt>Pixels alone</dt>
                <dd>
                  {classLabel(pixels.name)} {formatPercent(pixels.p)}
                  <span className="muted"> · the file is a JPEG, so it was compressed at least once</span>
                </dd>
              </div>
            )}
            {first && (
              <div>
                <dt>First compression</dt>
                <dd>
                  {first.quality ? `≈ ${first.quality}` : 'Found'}
                  <span className="muted"> · {first.why}</span>
                </dd>
              </div>
            )}
            {width !== undefined && height !== undefined && (
              <div>
                <dt>Picture</dt>
                <dd>
                  {width} × {height} px{data.image?.format ? ` · ${data.image.format}` : ''}
                </dd>
              </div>
            )}
            {data.second_grid?.decisive && (
              <div>
                <dt>Earlier grid</dt>
                <dd>
                  {data.second_grid.dx}, {data.second_grid.dy}
                  <span className="muted"> · a first compression on another 8×8 grid: cropped between the two</span>
                </dd>
              </div>
            )}
            {grid && typeof grid.dx === 'number' && typeof grid.dy === 'number' && (
              <div>
                <dt>8×8 grid offset</dt>
                <dd>
                  {grid.dx}, {grid.dy}
                  {(grid.dx !== 0 || grid.dy !== 0) && <span className="muted"> · the picture was probably cropped</span>}
                </dd>
              </div>
            )}
            {grid?.transposed && (
              <div>
                <dt>Turned</dt>
                <dd>
                  a quarter, since its last compression
                  <span className="muted">
                    {' '}
                    · rows and columns swapped, as when a portrait photo is shown upright from its EXIF orientation;
                    analysed the way it was compressed
                  </span>
                </dd>
              </div>
            )}
            {grid && typeof grid.evidence === 'number' && (
              <div>
                <dt>Grid evidence</dt>
                <dd>
                  <span className="mono">{grid.evidence.toFixed(3)}</span>
                  <span className="muted"> · {gridStrength(grid.evidence)}</span>
                </dd>
              </div>
            )}
            {data.lattice?.decisive && typeof data.lattice.evidence === 'number' && (
              <div>
                <dt>Decoder lattice</dt>
                <dd>
                  <span className="mono">{data.lattice.evidence.toFixed(1)}</span>
                  <span className="muted">
                    {' '}
                    · on this grid the DCT coefficients sit on whole numbers, as a JPEG decoder leaves them even at
                    quality 100
                  </span>
                </dd>
              </div>
            )}
            <div>
              <dt>Restored</dt>
              <dd>{data.restored ? `Yes${data.model ? `, with ${data.model}` : ''}` : 'No'}</dd>
            </div>
            {timings.map(([key, seconds]) => (
              <div key={key}>
                <dt>{timingLabel(key)}</dt>
                <dd className="mono">{formatSeconds(seconds)}</dd>
              </div>
            ))}
            <div>
              <dt>Round trip</dt>
              <dd className="mono">
                {formatSeconds(view.roundTrip)} <span className="muted">(upload, queue and download included)</span>
              </dd>
            </div>
          </dl>
        </div>
      </div>

      {data.blocks && data.blocks.length > 0 && view.originalUrl && (
        <div className="card">
          <h3>Per-block verdicts</h3>
          <p className="hint">
            The detector looks at the picture in {data.blocks[0].size}×{data.blocks[0].size} blocks. Each block is
            tinted by its own verdict, stronger where it is more certain. Hover a block for its numbers.
          </p>
          <BlockHeatmap
            imageUrl={view.originalUrl}
            blocks={data.blocks}
            width={width}
            height={height}
          />
        </div>
      )}
    </section>
  );
}

/** The pixels' own verdict when it differs from the served one (a JPEG file that looks
 * uncompressed), else null. */
export function pixelVerdict(data: RestoreResult): { name: string; p: number } | null {
  const px = data.pixel_probabilities;
  if (!px || !data.verdict) return null;
  const names = classOrder(px);
  if (names.length === 0) return null;
  const name = names.reduce((a, b) => ((px[b] ?? 0) > (px[a] ?? 0) ? b : a));
  return name === data.verdict ? null : { name, p: px[name] ?? 0 };
}

/** Words for the grid evidence (thresholds from ai-research/results/detector_calibration.md). */
export function gridStrength(evidence: number): string {
  if (evidence >= 0.05) return 'a JPEG grid stands out clearly';
  if (evidence >= 0.02) return 'a faint grid';
  return 'no grid of zeros stands out';
}
