import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ApiError,
  classOrder,
  dataUrlToObjectUrl,
  downloadName,
  errorFromResponse,
  fetchModels,
  formatPercent,
  looksLikeImage,
  normalizeModels,
  restoreImage,
  onceOrTwiceUndecided,
  verdictHeading,
  verdictText,
} from './api';
import { DOUBLE_RESULT, MODELS, imageFile, json, mockServer } from './test/fixtures';

afterEach(() => vi.unstubAllGlobals());

describe('restoreImage', () => {
  it('posts the image, model and force flag and asks for JSON', async () => {
    const calls = mockServer();
    const result = await restoreImage(imageFile(), { model: 'small-pregan', force: true });
    expect(result.verdict).toBe('double');
    expect(calls.restore).toHaveLength(1);
    const { form, headers } = calls.restore[0];
    expect((form.get('image') as File).name).toBe('holiday.photo.jpg');
    expect(form.get('model')).toBe('small-pregan');
    expect(form.get('force')).toBe('true');
    expect(headers.Accept).toBe('application/json');
  });

  it('leaves the model out when none is chosen, and sends force=false', async () => {
    const calls = mockServer();
    await restoreImage(imageFile());
    expect(calls.restore[0].form.has('model')).toBe(false);
    expect(calls.restore[0].form.get('force')).toBe('false');
    expect(calls.restore[0].form.has('strength')).toBe(false);
  });

  it('sends a chosen strength, and none for auto', async () => {
    const calls = mockServer();
    await restoreImage(imageFile(), { strength: 0.5 });
    await restoreImage(imageFile(), { strength: 0 });
    await restoreImage(imageFile(), { strength: 'auto' });
    expect(calls.restore[0].form.get('strength')).toBe('0.5');
    expect(calls.restore[1].form.get('strength')).toBe('0');
    expect(calls.restore[2].form.has('strength')).toBe(false);
  });

  it('reports the detail of a problem-details error', async () => {
    mockServer({
      restore: () =>
        json({ title: 'Unsupported Media Type', status: 415, detail: 'Not a decodable image.' }, 415, 'application/problem+json'),
    });
    await expect(restoreImage(imageFile())).rejects.toMatchObject({
      kind: 'http',
      status: 415,
      message: 'Not a decodable image.',
    });
  });

  it('falls back to the title, then to a message for the status', async () => {
    mockServer({ restore: () => json({ title: 'Payload Too Large', status: 413 }, 413) });
    await expect(restoreImage(imageFile())).rejects.toThrow('Payload Too Large');
    const bare = await errorFromResponse(new Response('<html>oops</html>', { status: 503, headers: { 'content-type': 'text/html' } }));
    expect(bare.message).toMatch(/busy/);
  });

  it('turns a network failure into "Cannot reach the server"', async () => {
    vi.stubGlobal('fetch', vi.fn(() => Promise.reject(new TypeError('Failed to fetch'))));
    await expect(restoreImage(imageFile())).rejects.toThrow(/Cannot reach the server/);
  });

  it('marks an aborted request as such', async () => {
    vi.stubGlobal('fetch', vi.fn(() => Promise.reject(new DOMException('aborted', 'AbortError'))));
    const error = await restoreImage(imageFile()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).kind).toBe('abort');
  });

  it('rejects an answer that is not JSON', async () => {
    mockServer({ restore: () => new Response('PNG', { status: 200, headers: { 'content-type': 'image/png' } }) });
    await expect(restoreImage(imageFile())).rejects.toMatchObject({ kind: 'invalid' });
  });
});

describe('normalizeModels', () => {
  it('reads {detector, restorers[]} and finds the default', () => {
    const catalog = normalizeModels(MODELS);
    expect(catalog.detectors.map((m) => m.name)).toEqual(['c-tiny']);
    expect(catalog.restorers.map((m) => m.name)).toEqual(['small-pregan', 'small-postgan']);
    expect(catalog.defaultRestorer).toBe('small-postgan');
    expect(catalog.restorers[1].isDefault).toBe(true);
    expect(catalog.restorers[1].fields.metrics).toBeDefined();
    expect(catalog.restorers[1].fields).not.toHaveProperty('description');
  });

  it('reads a flat list with kinds and a top-level default', () => {
    const catalog = normalizeModels({
      models: [
        { name: 'c-tiny', kind: 'detector' },
        { name: 'zhao-postgan', kind: 'restorer' },
        { name: 'small-postgan', type: 'restoration' },
      ],
      default_restorer: 'zhao-postgan',
    });
    expect(catalog.detectors).toHaveLength(1);
    expect(catalog.restorers.map((m) => m.name)).toEqual(['zhao-postgan', 'small-postgan']);
    expect(catalog.defaultRestorer).toBe('zhao-postgan');
  });

  it('reads {models: [{name, kind, file, default}], default_restorer, detector: "name"}', () => {
    const catalog = normalizeModels({
      models: [
        { name: 'c-tiny', kind: 'detector', file: 'c-tiny.keras', description: 'd', metrics: { acc: 0.9 } },
        { name: 'small-postgan', kind: 'restorer', file: 'small-postgan.keras', default: true },
        { name: 'small-pregan', kind: 'restorer', file: 'small-pregan.keras' },
      ],
      default_restorer: 'small-postgan',
      detector: 'c-tiny',
    });
    expect(catalog.detectors.map((m) => m.name)).toEqual(['c-tiny']);
    expect(catalog.detectors[0].fields).toEqual({ file: 'c-tiny.keras', metrics: { acc: 0.9 } });
    expect(catalog.restorers.map((m) => [m.name, m.isDefault])).toEqual([
      ['small-postgan', true],
      ['small-pregan', false],
    ]);
  });

  it('reads maps keyed by name and falls back to small-postgan', () => {
    const catalog = normalizeModels({
      detector: { 'c-tiny': { description: 'd' } },
      restorers: { 'small-resize': { description: 'r' }, 'small-postgan': { description: 'p' } },
    });
    expect(catalog.detectors[0].name).toBe('c-tiny');
    expect(catalog.defaultRestorer).toBe('small-postgan');
  });

  it('copes with nonsense', () => {
    expect(normalizeModels(null).restorers).toEqual([]);
    expect(normalizeModels('x').defaultRestorer).toBeUndefined();
    expect(normalizeModels([{ name: 'a' }, 'b']).restorers.map((m) => m.name)).toEqual(['a', 'b']);
  });

  it('is what fetchModels returns', async () => {
    mockServer();
    const catalog = await fetchModels();
    expect(catalog.defaultRestorer).toBe('small-postgan');
  });
});

describe('helpers', () => {
  it('names downloads after the original', () => {
    expect(downloadName('holiday.photo.jpg')).toBe('holiday.photo-dejpeg.png');
    expect(downloadName('C:\\fakepath\\scan.TIFF')).toBe('scan-dejpeg.png');
    expect(downloadName('noext')).toBe('noext-dejpeg.png');
    expect(downloadName('')).toBe('image-dejpeg.png');
    expect(downloadName(undefined)).toBe('image-dejpeg.png');
  });

  it('words the verdicts', () => {
    expect(verdictText('single')).toBe('Single compression detected');
    expect(verdictText('double')).toBe('Double compression detected');
    expect(verdictText('uncompressed')).toBe('No compression detected');
    expect(verdictText(undefined)).toBe('Detection skipped (forced restore)');
    expect(verdictText('triple')).toBe('Triple compression detected');
  });

  it('heads a compressed verdict single or double only when the detector could tell which', () => {
    const undecided = { confidence: 0.52, decided: false };
    expect(verdictHeading({ verdict: 'double', single_vs_double: undecided })).toBe(
      'JPEG compression detected (once or twice)',
    );
    expect(onceOrTwiceUndecided({ verdict: 'single', single_vs_double: undecided })).toBe(true);
    expect(verdictHeading({ verdict: 'double', single_vs_double: { confidence: 0.93, decided: true } })).toBe(
      'Double compression detected',
    );
    expect(verdictHeading({ verdict: 'single' })).toBe('Single compression detected'); // an older server
    expect(verdictHeading({ verdict: 'uncompressed', single_vs_double: null })).toBe('No compression detected');
    expect(onceOrTwiceUndecided({ verdict: 'uncompressed', single_vs_double: undecided })).toBe(false);
  });

  it('tells images from other files', () => {
    expect(looksLikeImage(new File(['x'], 'a.txt', { type: 'text/plain' }))).toBe(false);
    expect(looksLikeImage(new File(['x'], 'a.png', { type: 'image/png' }))).toBe(true);
    expect(looksLikeImage(new File(['x'], 'scan.tif'))).toBe(true);
    expect(looksLikeImage(new File(['x'], 'notes'))).toBe(false);
  });

  it('formats and orders', () => {
    expect(formatPercent(0.931)).toBe('93.1 %');
    expect(formatPercent(1)).toBe('100 %');
    expect(formatPercent(0.0001)).toBe('<0.1 %');
    expect(classOrder({ double: 0.5, extra: 0.1, uncompressed: 0.4 })).toEqual(['uncompressed', 'double', 'extra']);
  });

  it('turns data URLs into object URLs', () => {
    const url = dataUrlToObjectUrl(DOUBLE_RESULT.image_png!);
    expect(url.startsWith('blob:')).toBe(true);
    expect(dataUrlToObjectUrl('not a data url')).toBe('not a data url');
  });
});
