// Client for the deJPEG HTTP API (see shared/API.md). Same origin, so every URL is relative.

export type Verdict = 'uncompressed' | 'single' | 'double';
export type Probabilities = Record<string, number>;

export interface Block {
  x: number;
  y: number;
  size: number;
  verdict: string;
  probabilities?: Probabilities;
  [extra: string]: unknown;
}

export interface Quality {
  estimate: number | null;
  source: string | null;
  /** IJG quality of the first of two compressions, when the double-quantization test found it. */
  first_estimate?: number;
}

/** The histogram test for a first compression on the same 8×8 grid (decisive from 0.2). */
export interface DoubleQuantization {
  evidence: number;
  decisive: boolean;
  first_quality: number | null;
}

export interface ImageInfo {
  width: number;
  height: number;
  format?: string | null;
}

/** Body of POST /restore with `Accept: application/json` (detection fields absent when forced). */
export interface RestoreResult {
  verdict?: string;
  probabilities?: Probabilities;
  /** What the pixels alone say; differs from `probabilities` only for a JPEG file, which was
   * compressed at least once whatever its pixels show. */
  pixel_probabilities?: Probabilities;
  blocks?: Block[];
  quality?: Quality | null;
  image?: ImageInfo;
  /** Offset of the 8×8 JPEG grid the detector found (a crop moves it), and how strongly
   * that grid stands out (about 0.005 for a never-compressed picture, 0.1–0.4 for a JPEG);
   * `transposed` when the picture was turned a quarter since its last compression. */
  grid?: { dx: number; dy: number; evidence?: number; transposed?: boolean };
  double_quantization?: DoubleQuantization;
  /** The strongest other 8×8 grid: a first compression before a crop, when decisive. */
  second_grid?: {
    dx: number; dy: number; evidence: number; block_means?: number; decisive: boolean;
    first_quality?: number | null;
  };
  /** The same grid's histograms alternating as a lighter first compression (a camera's JPEG
   * resaved) leaves them: decisive from a deviance of 40; then the IJG quality whose steps fit. */
  light_first_pass?: { evidence: number; decisive: boolean; first_quality?: number | null };
  /** How far the grid's coefficients sit on whole numbers, as a JPEG decoder leaves them at
   * any quality (a z-score's margin over the other grids'): decisive
   * from 6, a picture called uncompressed is compressed (the lightest JPEGs, QF 97–100). */
  lattice?: { evidence: number; decisive: boolean };
  /** For a picture called compressed (null otherwise): the larger of the single and double
   * probabilities over their sum, and whether it reaches 0.7.  Undecided, the pixels do not
   * tell once from twice: a first compression lighter than the last can leave no trace. */
  single_vs_double?: { confidence: number; decided: boolean } | null;
  /** A JPEG file only: how many frequencies sit on coarser steps than the file's own table
   * (an earlier, heavier compression), and that compression's quality when decisive. */
  file_table?: { coarser_steps: number; decisive: boolean; first_quality: number | null } | null;
  last_table?: {
    quality: number;
    coarser_steps: number;
    decisive: boolean;
    first_quality: number | null;
  } | null;
  restored: boolean;
  model?: string;
  /** Share of the network's output used (0 to 1); null when not restored. */
  strength?: number | null;
  timings?: Record<string, number>;
  image_png?: string;
}

export type ApiErrorKind = 'http' | 'network' | 'abort' | 'invalid';

export class ApiError extends Error {
  readonly kind: ApiErrorKind;
  readonly status?: number;
  readonly title?: string;

  constructor(message: string, kind: ApiErrorKind, status?: number, title?: string) {
    super(message);
    this.name = 'ApiError';
    this.kind = kind;
    this.status = status;
    this.title = title;
  }
}

export const NETWORK_MESSAGE =
  'Cannot reach the server. Check that the deJPEG server is running, then try again.';

const STATUS_FALLBACK: Record<number, string> = {
  400: 'The server could not understand the request.',
  404: 'The server does not offer this endpoint.',
  413: 'The image is too large for the server.',
  415: 'The server could not read this file as an image.',
  422: 'The models cannot process this image.',
  429: 'The server is busy. Try again in a moment.',
  500: 'The server failed while processing the image.',
  502: 'Cannot reach the server (bad gateway).',
  503: 'The server is busy or still loading its models. Try again in a moment.',
  504: 'The server took too long to answer.',
};

function isAbort(error: unknown): boolean {
  return (
    (error instanceof DOMException && error.name === 'AbortError') ||
    (error instanceof Error && error.name === 'AbortError')
  );
}

function asText(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

/** Turns a failed response (problem details JSON, other JSON or plain text) into an ApiError. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  const status = response.status;
  let detail: string | undefined;
  let title: string | undefined;
  let body = '';
  try {
    body = await response.text();
  } catch {
    body = '';
  }
  if (body) {
    try {
      const parsed: unknown = JSON.parse(body);
      if (parsed && typeof parsed === 'object') {
        const p = parsed as Record<string, unknown>;
        title = asText(p.title);
        detail = asText(p.detail) ?? asText(p.message) ?? asText(p.error) ?? asText(p.description);
      }
    } catch {
      // Not JSON: a proxy's HTML page or plain text. Use short plain text only.
      const type = response.headers.get('content-type') ?? '';
      if (!type.includes('html') && body.length < 300) detail = asText(body);
    }
  }
  const message =
    detail ?? title ?? STATUS_FALLBACK[status] ?? `The server answered with an error (HTTP ${status}).`;
  return new ApiError(message, 'http', status, title);
}

async function request(url: string, init: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (isAbort(error)) throw new ApiError('Cancelled.', 'abort');
    throw new ApiError(NETWORK_MESSAGE, 'network');
  }
  if (!response.ok) throw await errorFromResponse(response);
  return response;
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch (error) {
    if (isAbort(error)) throw new ApiError('Cancelled.', 'abort');
    throw new ApiError('The server sent an answer the page cannot read.', 'invalid', response.status);
  }
}

export interface RestoreOptions {
  model?: string;
  force?: boolean;
  /** 0 to 1; left out (or 'auto') lets the server pick it from the image's JPEG quality. */
  strength?: number | 'auto';
  signal?: AbortSignal;
}

/** POST /restore asking for JSON: detection (unless forced) and restoration in one round trip. */
export async function restoreImage(file: Blob, options: RestoreOptions = {}): Promise<RestoreResult> {
  const form = new FormData();
  const name = file instanceof File && file.name ? file.name : 'image';
  form.append('image', file, name);
  if (options.model) form.append('model', options.model);
  form.append('force', options.force ? 'true' : 'false');
  if (typeof options.strength === 'number') form.append('strength', String(options.strength));
  const response = await request('restore', {
    method: 'POST',
    body: form,
    headers: { Accept: 'application/json' },
    signal: options.signal,
  });
  const data = await readJson(response);
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new ApiError('The server sent an answer the page cannot read.', 'invalid', response.status);
  }
  const result = data as RestoreResult;
  return { ...result, restored: Boolean(result.restored) };
}

// ---------------------------------------------------------------------------------------------
// GET /models. The contract only promises "the detector and every restorer that is loaded, with a
// short description, the data it was trained for, and which one is default", so the shape is
// read leniently: a list, {models: [...]}, or {detector: {...}, restorers: [...] | {name: {...}}}.

export type ModelKind = 'detector' | 'restorer' | 'other';

export interface ModelInfo {
  name: string;
  label: string;
  kind: ModelKind;
  isDefault: boolean;
  available: boolean;
  description?: string;
  /** Everything else the server sent about the model (trained_for, metrics, params, …). */
  fields: Record<string, unknown>;
}

export interface ModelCatalog {
  detectors: ModelInfo[];
  restorers: ModelInfo[];
  others: ModelInfo[];
  defaultRestorer?: string;
}

const RESERVED = new Set([
  'name', 'id', 'key', 'label', 'display_name', 'title', 'kind', 'type', 'role', 'task',
  'default', 'is_default', 'recommended', 'description', 'loaded', 'available',
]);

function kindOf(value: unknown): ModelKind | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.toLowerCase();
  if (v.includes('detect') || v.includes('classif')) return 'detector';
  if (v.includes('restor') || v.includes('generat') || v.includes('artifact')) return 'restorer';
  return undefined;
}

function toEntries(value: unknown, hint?: ModelKind): Array<[Record<string, unknown>, string | undefined, ModelKind | undefined]> {
  if (Array.isArray(value)) {
    return value.flatMap((item) =>
      typeof item === 'string'
        ? [[{ name: item }, undefined, hint] as [Record<string, unknown>, undefined, ModelKind | undefined]]
        : item && typeof item === 'object'
          ? [[item as Record<string, unknown>, undefined, hint] as [Record<string, unknown>, undefined, ModelKind | undefined]]
          : [],
    );
  }
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    // A single model description (has a name or description) or a map name -> description.
    if (typeof obj.name === 'string' || typeof obj.description === 'string') return [[obj, undefined, hint]];
    return Object.entries(obj).flatMap(([key, item]) =>
      item && typeof item === 'object' && !Array.isArray(item)
        ? [[item as Record<string, unknown>, key, hint] as [Record<string, unknown>, string, ModelKind | undefined]]
        : [],
    );
  }
  return [];
}

function defaultNameFrom(raw: Record<string, unknown>): string | undefined {
  const defaults = raw.defaults && typeof raw.defaults === 'object' ? (raw.defaults as Record<string, unknown>) : {};
  for (const candidate of [raw.default_restorer, defaults.restorer, raw.default_model, raw.default, raw.recommended]) {
    if (typeof candidate === 'string' && candidate) return candidate;
  }
  return undefined;
}

export function normalizeModels(raw: unknown): ModelCatalog {
  const entries: Array<[Record<string, unknown>, string | undefined, ModelKind | undefined]> = [];
  let topDefault: string | undefined;
  if (Array.isArray(raw)) {
    entries.push(...toEntries(raw));
  } else if (raw && typeof raw === 'object') {
    const obj = raw as Record<string, unknown>;
    topDefault = defaultNameFrom(obj);
    if (obj.models !== undefined) entries.push(...toEntries(obj.models));
    for (const key of ['detector', 'detectors']) if (obj[key] !== undefined) entries.push(...toEntries(obj[key], 'detector'));
    for (const key of ['restorer', 'restorers']) if (obj[key] !== undefined) entries.push(...toEntries(obj[key], 'restorer'));
  }

  const seen = new Set<string>();
  const models: ModelInfo[] = [];
  for (const [entry, key, hint] of entries) {
    const name = asText(entry.name) ?? asText(entry.id) ?? asText(entry.key) ?? key;
    if (!name) continue;
    const kind = hint ?? kindOf(entry.kind) ?? kindOf(entry.type) ?? kindOf(entry.role) ?? kindOf(entry.task) ?? 'other';
    const id = `${kind}:${name}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(entry)) if (!RESERVED.has(k)) fields[k] = v;
    models.push({
      name,
      label: asText(entry.label) ?? asText(entry.display_name) ?? asText(entry.title) ?? name,
      kind,
      isDefault: entry.default === true || entry.is_default === true || entry.recommended === true,
      available: entry.loaded !== false && entry.available !== false,
      description: asText(entry.description),
      fields,
    });
  }

  const detectors = models.filter((m) => m.kind === 'detector');
  let restorers = models.filter((m) => m.kind === 'restorer');
  let others = models.filter((m) => m.kind === 'other');
  if (restorers.length === 0 && others.length > 0) {
    // No kinds given at all: everything that is not the detector is offered as a restorer.
    restorers = others.map((m) => ({ ...m, kind: 'restorer' as const }));
    others = [];
  }

  let defaultRestorer =
    restorers.find((m) => m.isDefault)?.name ??
    (topDefault && restorers.some((m) => m.name === topDefault) ? topDefault : undefined) ??
    restorers.find((m) => m.name === 'small-postgan')?.name ??
    restorers.find((m) => m.available)?.name;
  restorers = restorers.map((m) => ({ ...m, isDefault: m.name === defaultRestorer }));
  if (!restorers.length) defaultRestorer = undefined;
  return { detectors, restorers, others, defaultRestorer };
}

export async function fetchModels(signal?: AbortSignal): Promise<ModelCatalog> {
  const response = await request('models', { headers: { Accept: 'application/json' }, signal });
  return normalizeModels(await readJson(response));
}

// ---------------------------------------------------------------------------------------------
// Small helpers shared by the components.

/** `holiday.photo.jpg` -> `holiday.photo-dejpeg.png`. */
export function downloadName(originalName: string | undefined): string {
  const base = (originalName ?? '').split(/[\\/]/).pop() ?? '';
  const stem = base.replace(/\.[^.]*$/, '').trim() || 'image';
  return `${stem}-dejpeg.png`;
}

export const VERDICT_TEXT: Record<Verdict, string> = {
  uncompressed: 'No compression detected',
  single: 'Single compression detected',
  double: 'Double compression detected',
};

export function verdictText(verdict: string | undefined): string {
  if (!verdict) return 'Detection skipped (forced restore)';
  if (verdict in VERDICT_TEXT) return VERDICT_TEXT[verdict as Verdict];
  return `${verdict.charAt(0).toUpperCase()}${verdict.slice(1)} compression detected`;
}

/** True when the picture was called compressed but the detector could not tell once from twice. */
export function onceOrTwiceUndecided(data: Pick<RestoreResult, 'verdict' | 'single_vs_double'>): boolean {
  return !!data.verdict && data.verdict !== 'uncompressed' && data.single_vs_double?.decided === false;
}

/** The verdict's heading: single or double only when the detector could tell which. */
export function verdictHeading(data: Pick<RestoreResult, 'verdict' | 'single_vs_double'>): string {
  return onceOrTwiceUndecided(data) ? 'JPEG compression detected (once or twice)' : verdictText(data.verdict);
}

export const CLASS_LABELS: Record<string, string> = {
  uncompressed: 'Uncompressed',
  single: 'Single',
  double: 'Double',
};

export function classLabel(name: string): string {
  return CLASS_LABELS[name] ?? name.charAt(0).toUpperCase() + name.slice(1);
}

/** Class names in display order: the known three first, then anything else the server adds. */
export function classOrder(probabilities: Probabilities | undefined): string[] {
  const known = ['uncompressed', 'single', 'double'];
  const keys = Object.keys(probabilities ?? {});
  return [...known.filter((k) => keys.includes(k)), ...keys.filter((k) => !known.includes(k))];
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function formatPercent(p: number): string {
  const v = p * 100;
  if (v > 0 && v < 0.1) return '<0.1 %';
  return `${v.toFixed(v >= 99.95 || v === 0 ? 0 : 1)} %`;
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '—';
  if (s < 1) return `${(s * 1000).toFixed(0)} ms`;
  return `${s.toFixed(s < 10 ? 2 : 1)} s`;
}

const IMAGE_EXTENSIONS = /\.(jpe?g|jfif|pjpeg|png|apng|webp|bmp|dib|tiff?|gif|ppm|pgm|pbm|pnm|tga|ico|jp2|j2k)$/i;

/** A first, local check; the server has the last word (415) on what it can decode. */
export function looksLikeImage(file: File): boolean {
  if (file.type) return file.type.startsWith('image/');
  return IMAGE_EXTENSIONS.test(file.name);
}

/** Data URL -> object URL (cheaper to hold and to download); falls back to the data URL. */
export function dataUrlToObjectUrl(dataUrl: string): string {
  if (typeof URL.createObjectURL !== 'function') return dataUrl;
  const match = /^data:([^;,]*)(;base64)?,(.*)$/s.exec(dataUrl);
  if (!match) return dataUrl;
  try {
    const [, type, base64, payload] = match;
    let bytes: Uint8Array;
    if (base64) {
      const binary = atob(payload);
      bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
    } else {
      bytes = new TextEncoder().encode(decodeURIComponent(payload));
    }
    return URL.createObjectURL(new Blob([bytes as BlobPart], { type: type || 'image/png' }));
  } catch {
    return dataUrl;
  }
}
