import { useCallback, useEffect, useId, useRef, useState } from 'react';
import {
  ApiError,
  dataUrlToObjectUrl,
  looksLikeImage,
  restoreImage,
  type RestoreResult,
} from '../api';
import type { ModelsState } from '../App';
import { ImagePicker } from './ImagePicker';
import { Results, type ResultView } from './Results';
import { useFileDropAndPaste } from '../useFileDropAndPaste';

interface Props {
  models: ModelsState;
}

interface Busy {
  started: number;
  force: boolean;
}

/** Keeps the detection fields of a first pass when the user restores anyway. */
function mergeForced(detection: RestoreResult, forced: RestoreResult): RestoreResult {
  return {
    ...forced,
    verdict: forced.verdict ?? detection.verdict,
    probabilities: forced.probabilities ?? detection.probabilities,
    pixel_probabilities: forced.pixel_probabilities ?? detection.pixel_probabilities,
    single_vs_double: forced.single_vs_double !== undefined ? forced.single_vs_double : detection.single_vs_double,
    grid: forced.grid ?? detection.grid,
    blocks: forced.blocks ?? detection.blocks,
    quality: forced.quality !== undefined ? forced.quality : detection.quality,
    image: forced.image ?? detection.image,
    timings: { ...(detection.timings ?? {}), ...(forced.timings ?? {}) },
  };
}

export function HomePage({ models }: Props) {
  const [file, setFile] = useState<File | null>(null);
  const [previewUrl, setPreviewUrl] = useState<string | null>(null);
  const [model, setModel] = useState('');
  const [force, setForce] = useState(false);
  const [strength, setStrength] = useState('auto');
  const [busy, setBusy] = useState<Busy | null>(null);
  const [elapsed, setElapsed] = useState(0);
  const [view, setView] = useState<ResultView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const controllerRef = useRef<AbortController | null>(null);
  const forceHintId = useId();
  const modelHintId = useId();
  const strengthHintId = useId();

  const catalog = models.catalog;
  const restorers = catalog?.restorers ?? [];

  // Pick the server's default restorer once the catalogue arrives (and keep the user's choice).
  useEffect(() => {
    if (!catalog) return;
    setModel((current) =>
      current && catalog.restorers.some((m) => m.name === current) ? current : (catalog.defaultRestorer ?? ''),
    );
  }, [catalog]);

  // Object URL of the chosen file, for the preview and the "Original" side of the comparison.
  useEffect(() => {
    if (!file || typeof URL.createObjectURL !== 'function') {
      setPreviewUrl(null);
      return undefined;
    }
    const url = URL.createObjectURL(file);
    setPreviewUrl(url);
    return () => URL.revokeObjectURL?.(url);
  }, [file]);

  // Object URL of the restored PNG; revoked when the result goes away.
  const restoredUrl = view?.restoredUrl;
  useEffect(() => {
    return () => {
      if (restoredUrl?.startsWith('blob:')) URL.revokeObjectURL?.(restoredUrl);
    };
  }, [restoredUrl]);

  // Elapsed-time counter while a request runs.
  useEffect(() => {
    if (!busy) return undefined;
    setElapsed(0);
    const timer = window.setInterval(() => setElapsed((performance.now() - busy.started) / 1000), 100);
    return () => window.clearInterval(timer);
  }, [busy]);

  // Abort whatever runs when the page goes away.
  useEffect(() => () => controllerRef.current?.abort(), []);

  const chooseFile = useCallback((next: File) => {
    controllerRef.current?.abort();
    setView(null);
    setNotice(null);
    if (!looksLikeImage(next)) {
      setFile(null);
      const kind = next.type ? ` (${next.type})` : '';
      setError(
        `“${next.name}” is not an image${kind}. Choose a JPEG, PNG, WebP, BMP, TIFF or GIF picture.`,
      );
      return;
    }
    setError(null);
    setFile(next);
  }, []);

  const clearFile = useCallback(() => {
    controllerRef.current?.abort();
    setFile(null);
    setView(null);
    setError(null);
    setNotice(null);
  }, []);

  const dragging = useFileDropAndPaste(chooseFile);

  const run = useCallback(
    async (forceRun: boolean, detection?: RestoreResult) => {
      if (!file) {
        setError('Choose an image first.');
        return;
      }
      controllerRef.current?.abort();
      const controller = new AbortController();
      controllerRef.current = controller;
      const started = performance.now();
      setBusy({ started, force: forceRun });
      setError(null);
      setNotice(null);
      if (!detection) setView(null);
      try {
        const data = await restoreImage(file, {
          model: model || undefined,
          force: forceRun,
          strength: strength === 'auto' ? 'auto' : Number(strength),
          signal: controller.signal,
        });
        const merged = detection ? mergeForced(detection, data) : data;
        setView({
          data: merged,
          fileName: file.name,
          originalUrl: previewUrl,
          restoredUrl: merged.restored && merged.image_png ? dataUrlToObjectUrl(merged.image_png) : null,
          roundTrip: (performance.now() - started) / 1000,
          forced: forceRun && !detection,
          restoredAnyway: Boolean(detection),
        });
      } catch (err) {
        if (controller.signal.aborted || (err instanceof ApiError && err.kind === 'abort')) {
          if (controllerRef.current === controller) setNotice('Cancelled. Nothing was sent back.');
        } else {
          setError(err instanceof Error ? err.message : String(err));
        }
      } finally {
        if (controllerRef.current === controller) {
          controllerRef.current = null;
          setBusy(null);
        }
      }
    },
    [file, model, strength, previewUrl],
  );

  const cancel = () => {
    const controller = controllerRef.current;
    if (!controller) return;
    controller.abort();
    controllerRef.current = null;
    setBusy(null);
    setNotice('Cancelled. Nothing was sent back.');
  };

  const selectedModel = restorers.find((m) => m.name === model);

  return (
    <div className="home">
      <section className="hero">
        <h1>Undo JPEG damage</h1>
        <p>
          Find out whether a picture was JPEG-compressed <em>never</em>, <em>once</em> or <em>twice</em>,
          and remove the blocks, ringing and colour bleeding with a GAN-trained restorer.
        </p>
      </section>

      {models.error && (
        <div className="alert alert-warn" role="alert">
          <span>
            {models.error} The list of models could not be loaded
            {restorers.length === 0 ? '; the server’s default model will be used.' : '.'}
          </span>
          <button type="button" className="btn btn-small" onClick={models.reload}>
            Retry
          </button>
        </div>
      )}

      <section className="card upload-card" aria-label="Picture and options">
        <ImagePicker file={file} previewUrl={previewUrl} onFile={chooseFile} onClear={clearFile} />

        <form
          className="options"
          onSubmit={(event) => {
            event.preventDefault();
            if (!busy) void run(force);
          }}
        >
          <div className="field">
            <label htmlFor="model-select">Restoration model</label>
            <select
              id="model-select"
              value={model}
              onChange={(event) => setModel(event.target.value)}
              disabled={models.loading && !catalog}
              aria-describedby={modelHintId}
            >
              {restorers.length === 0 && (
                <option value="">{models.loading ? 'Loading models…' : 'Server default'}</option>
              )}
              {restorers.map((m) => (
                <option key={m.name} value={m.name} disabled={!m.available}>
                  {m.label}
                  {m.isDefault ? ' (default)' : ''}
                  {!m.available ? ' (not loaded)' : ''}
                </option>
              ))}
            </select>
            <p className="hint" id={modelHintId}>
              {selectedModel?.description ?? 'Restorers differ in architecture and training; see About.'}
            </p>
          </div>

          <div className="field">
            <label htmlFor="strength-select">Restoration strength</label>
            <select
              id="strength-select"
              value={strength}
              onChange={(event) => setStrength(event.target.value)}
              aria-describedby={strengthHintId}
            >
              <option value="auto">Auto (by JPEG quality)</option>
              <option value="1">Full</option>
              <option value="0.75">75 %</option>
              <option value="0.5">50 %</option>
              <option value="0.25">25 %</option>
            </select>
            <p className="hint" id={strengthHintId}>
              The models were trained on heavy compression; auto uses less of them on lightly compressed pictures.
            </p>
          </div>

          <div className="field field-check">
            <input
              id="force-restore"
              type="checkbox"
              checked={force}
              onChange={(event) => setForce(event.target.checked)}
              aria-describedby={forceHintId}
            />
            <div>
              <label htmlFor="force-restore">Force restore</label>
              <p className="hint" id={forceHintId}>
                Skip detection and always run the restorer.
              </p>
            </div>
          </div>

          <div className="actions">
            <button type="submit" className="btn btn-primary btn-large" disabled={!file || busy !== null}>
              {busy ? <span className="spinner" aria-hidden="true" /> : null}
              Detect and restore
            </button>
            {busy && (
              <button type="button" className="btn" onClick={cancel}>
                Cancel
              </button>
            )}
          </div>
          <div className="status-line">
            <span role="status">
              {busy
                ? busy.force
                  ? 'Restoring…'
                  : 'Detecting and restoring…'
                : (notice ?? (file ? (view ? '' : 'Ready.') : 'Choose a picture to start.'))}
            </span>
            {busy && (
              <span className="elapsed" aria-label="Elapsed time">
                {elapsed.toFixed(1)} s elapsed
              </span>
            )}
          </div>
        </form>
      </section>

      {error && (
        <div className="alert alert-error" role="alert">
          <span>{error}</span>
        </div>
      )}

      {view && (
        <Results
          view={view}
          busy={busy !== null}
          onRestoreAnyway={() => void run(true, view.data)}
          onStartOver={clearFile}
        />
      )}

      {dragging && (
        <div className="drop-overlay" aria-hidden="true">
          <div className="drop-overlay-box">Drop the picture to load it</div>
        </div>
      )}
    </div>
  );
}
