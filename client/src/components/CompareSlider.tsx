import { useCallback, useEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';

interface Props {
  originalUrl: string | null;
  restoredUrl: string;
  width?: number;
  height?: number;
  downloadName: string;
}

/** Zoom and pan shared by both pictures: scale s, offset (x, y) in fractions of the viewport. */
interface View {
  s: number;
  x: number;
  y: number;
}

const MIN_ZOOM = 1;
const MAX_ZOOM = 16;
const IDENTITY: View = { s: 1, x: 0, y: 0 };

function clampView(v: View): View {
  const s = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, v.s));
  const clamp = (t: number) => Math.min(0, Math.max(1 - s, t));
  return { s, x: clamp(v.x), y: clamp(v.y) };
}

/** Zooms to scale `s` keeping the picture point under (cx, cy) (viewport fractions) in place. */
function zoomAt(v: View, s: number, cx: number, cy: number): View {
  const next = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, s));
  const px = (cx - v.x) / v.s;
  const py = (cy - v.y) / v.s;
  return clampView({ s: next, x: cx - next * px, y: cy - next * py });
}

type Drag =
  | { mode: 'divider' }
  | { mode: 'pan'; startX: number; startY: number; from: View }
  | { mode: 'pinch'; distance: number; from: View };

/**
 * Before/after comparison: the original on the left of a draggable divider, the restored picture
 * on the right, with one zoom and pan applied to both so the same pixels are always side by side.
 */
export function CompareSlider({ originalUrl, restoredUrl, width, height, downloadName }: Props) {
  const wrapperRef = useRef<HTMLDivElement>(null);
  const viewportRef = useRef<HTMLDivElement>(null);
  const [pos, setPos] = useState(50);
  const [view, setView] = useState<View>(IDENTITY);
  const [natural, setNatural] = useState<{ width: number; height: number } | null>(null);
  const [fullscreen, setFullscreen] = useState(false);
  const [originalFailed, setOriginalFailed] = useState(false);
  const drag = useRef<Drag | null>(null);
  const pointers = useRef(new Map<number, { x: number; y: number }>());

  const w = width ?? natural?.width ?? 4;
  const h = height ?? natural?.height ?? 3;

  useEffect(() => {
    setView(IDENTITY);
    setPos(50);
    setOriginalFailed(false);
  }, [restoredUrl]);

  const fraction = useCallback((clientX: number, clientY: number) => {
    const rect = viewportRef.current?.getBoundingClientRect();
    if (!rect || rect.width === 0 || rect.height === 0) return { fx: 0.5, fy: 0.5 };
    return { fx: (clientX - rect.left) / rect.width, fy: (clientY - rect.top) / rect.height };
  }, []);

  const setDividerFrom = useCallback(
    (clientX: number) => {
      const { fx } = fraction(clientX, 0);
      setPos(Math.min(100, Math.max(0, fx * 100)));
    },
    [fraction],
  );

  // Wheel zoom needs a non-passive listener to keep the page from scrolling.
  useEffect(() => {
    const el = viewportRef.current;
    if (!el) return undefined;
    const onWheel = (event: WheelEvent) => {
      const zoomed = view.s > 1 || fullscreen;
      if (!event.ctrlKey && !event.metaKey && !zoomed) return; // let the page scroll
      event.preventDefault();
      const { fx, fy } = fraction(event.clientX, event.clientY);
      const factor = Math.exp(-event.deltaY * (event.deltaMode === 1 ? 0.05 : 0.0025));
      setView((v) => zoomAt(v, v.s * factor, fx, fy));
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, [fraction, view.s, fullscreen]);

  const onPointerDown = (event: PointerEvent<HTMLDivElement>) => {
    if (event.button !== 0 && event.pointerType === 'mouse') return;
    pointers.current.set(event.pointerId, { x: event.clientX, y: event.clientY });
    event.currentTarget.setPointerCapture?.(event.pointerId);
    if (pointers.current.size === 2) {
      const [a, b] = [...pointers.current.values()];
      drag.current = { mode: 'pinch', distance: Math.hypot(a.x - b.x, a.y - b.y) || 1, from: view };
      return;
    }
    const onHandle = (event.target as HTMLElement).closest('.compare-handle') !== null;
    if (!onHandle && view.s > 1) {
      drag.current = { mode: 'pan', startX: event.clientX, startY: event.clientY, from: view };
    } else {
      drag.current = { mode: 'divider' };
      if (!onHandle) setDividerFrom(event.clientX);
    }
  };

  const onPointerMove = (event: PointerEvent<HTMLDivElement>) => {
    if (!pointers.current.has(event.pointerId)) return;
    pointers.current.set(event.pointerId, { x: event.clientX, y: event.clientY });
    const current = drag.current;
    if (!current) return;
    if (current.mode === 'divider') setDividerFrom(event.clientX);
    else if (current.mode === 'pan') {
      const rect = viewportRef.current?.getBoundingClientRect();
      if (!rect || !rect.width || !rect.height) return;
      setView(
        clampView({
          s: current.from.s,
          x: current.from.x + (event.clientX - current.startX) / rect.width,
          y: current.from.y + (event.clientY - current.startY) / rect.height,
        }),
      );
    } else if (current.mode === 'pinch' && pointers.current.size >= 2) {
      const [a, b] = [...pointers.current.values()];
      const distance = Math.hypot(a.x - b.x, a.y - b.y);
      const { fx, fy } = fraction((a.x + b.x) / 2, (a.y + b.y) / 2);
      setView(zoomAt(current.from, current.from.s * (distance / current.distance), fx, fy));
    }
  };

  const onPointerUp = (event: PointerEvent<HTMLDivElement>) => {
    pointers.current.delete(event.pointerId);
    if (pointers.current.size === 0) drag.current = null;
  };

  const onHandleKey = (event: KeyboardEvent<HTMLDivElement>) => {
    const step = event.shiftKey ? 10 : 2;
    const moves: Record<string, (p: number) => number> = {
      ArrowLeft: (p) => p - step,
      ArrowDown: (p) => p - step,
      ArrowRight: (p) => p + step,
      ArrowUp: (p) => p + step,
      PageDown: (p) => p - 10,
      PageUp: (p) => p + 10,
      Home: () => 0,
      End: () => 100,
    };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    setPos((p) => Math.min(100, Math.max(0, move(p))));
  };

  const zoomBy = (factor: number) => setView((v) => zoomAt(v, v.s * factor, 0.5, 0.5));

  // Fullscreen: the real Fullscreen API where it works, a fixed overlay otherwise.
  useEffect(() => {
    const onChange = () => {
      if (!document.fullscreenElement) setFullscreen(false);
    };
    document.addEventListener('fullscreenchange', onChange);
    return () => document.removeEventListener('fullscreenchange', onChange);
  }, []);

  useEffect(() => {
    if (!fullscreen) return undefined;
    const onKey = (event: globalThis.KeyboardEvent) => {
      if (event.key === 'Escape') setFullscreen(false);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [fullscreen]);

  const toggleFullscreen = () => {
    if (fullscreen) {
      setFullscreen(false);
      if (document.fullscreenElement) void document.exitFullscreen?.().catch(() => undefined);
      return;
    }
    setFullscreen(true);
    const el = wrapperRef.current;
    if (el?.requestFullscreen) void el.requestFullscreen().catch(() => undefined);
  };

  const transform = `translate(${view.x * 100}%, ${view.y * 100}%) scale(${view.s})`;
  const imgStyle = {
    transform,
    imageRendering: view.s >= 3 ? ('pixelated' as const) : undefined,
  };

  return (
    <div
      ref={wrapperRef}
      className={`card compare${fullscreen ? ' is-fullscreen' : ''}`}
      role="group"
      aria-label="Compare original and restored"
    >
      <div className="compare-toolbar">
        <div className="zoom-controls" role="group" aria-label="Zoom">
          <button type="button" className="btn btn-icon" onClick={() => zoomBy(1 / 1.5)} disabled={view.s <= MIN_ZOOM} aria-label="Zoom out">
            −
          </button>
          <button type="button" className="btn btn-small zoom-value" onClick={() => setView(IDENTITY)} aria-label="Reset zoom" title="Reset zoom">
            {Math.round(view.s * 100)} %
          </button>
          <button type="button" className="btn btn-icon" onClick={() => zoomBy(1.5)} disabled={view.s >= MAX_ZOOM} aria-label="Zoom in">
            +
          </button>
        </div>
        <span className="spacer" />
        <button type="button" className="btn btn-small" onClick={toggleFullscreen} aria-pressed={fullscreen}>
          <svg viewBox="0 0 24 24" className="icon" aria-hidden="true">
            {fullscreen ? (
              <path d="M9 4v5H4m11-5v5h5M9 20v-5H4m11 5v-5h5" />
            ) : (
              <path d="M4 9V4h5m6 0h5v5M4 15v5h5m6 0h5v-5" />
            )}
          </svg>
          {fullscreen ? 'Exit fullscreen' : 'Fullscreen'}
        </button>
        <a className="btn btn-small btn-primary" href={restoredUrl} download={downloadName} title={downloadName}>
          <svg viewBox="0 0 24 24" className="icon" aria-hidden="true">
            <path d="M12 4v11m0 0-4.5-4.5M12 15l4.5-4.5M4 17v1a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-1" />
          </svg>
          Download
        </a>
      </div>

      <div
        ref={viewportRef}
        className={`compare-viewport${view.s > 1 ? ' is-zoomed' : ''}`}
        style={{ ['--ratio' as string]: `${w / h}`, aspectRatio: `${w} / ${h}` }}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={onPointerUp}
        onDoubleClick={(event) => {
          const { fx, fy } = fraction(event.clientX, event.clientY);
          setView((v) => (v.s > 1 ? IDENTITY : zoomAt(v, 3, fx, fy)));
        }}
      >
        <div className="compare-layer">
          <img
            src={restoredUrl}
            alt="Restored"
            draggable={false}
            style={imgStyle}
            onLoad={(e) => setNatural({ width: e.currentTarget.naturalWidth, height: e.currentTarget.naturalHeight })}
          />
        </div>
        <div className="compare-layer compare-original" style={{ clipPath: `inset(0 ${100 - pos}% 0 0)` }}>
          {originalUrl && !originalFailed ? (
            <img src={originalUrl} alt="Original" draggable={false} style={imgStyle} onError={() => setOriginalFailed(true)} />
          ) : (
            <div className="compare-missing">This browser cannot display the original file.</div>
          )}
        </div>
        <span className="compare-tag tag-left" aria-hidden="true">
          Original
        </span>
        <span className="compare-tag tag-right" aria-hidden="true">
          Restored
        </span>
        <div className="compare-divider" style={{ left: `${pos}%` }}>
          <div
            className="compare-handle"
            role="slider"
            tabIndex={0}
            aria-label="Divider between original and restored"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={Math.round(pos)}
            aria-valuetext={`${Math.round(pos)} % original`}
            onKeyDown={onHandleKey}
          >
            <svg viewBox="0 0 24 24" aria-hidden="true">
              <path d="M9 7l-5 5 5 5M15 7l5 5-5 5" />
            </svg>
          </div>
        </div>
      </div>
      <p className="hint compare-hint">
        Drag the divider (or use the arrow keys on it). Ctrl + scroll, pinch or double-click to zoom; drag to pan when
        zoomed. Both sides zoom together.
      </p>
    </div>
  );
}
