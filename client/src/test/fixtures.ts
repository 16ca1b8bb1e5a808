import { vi } from 'vitest';
import type { RestoreResult } from '../api';

export const MODELS = {
  detector: {
    name: 'c-tiny',
    label: 'C-Tiny',
    description: 'CNN over per-frequency DCT histograms of 256×256 luma blocks.',
    trained_for: { single_qf: [10, 30, 50, 70, 90], double_qf: [[50, 10], [50, 90]] },
    metrics: { block_accuracy: { uncompressed: 0.985, single_qf10: 0.912 }, validation_accuracy: 0.93 },
  },
  restorers: [
    {
      name: 'small-pregan',
      label: 'Small-PreGAN',
      description: 'G_small after generator pre-training only.',
      trained_for: { qf: [10] },
      metrics: { live1: [{ qf: 10, psnr_db: 26.9, ssim: 0.78 }] },
    },
    {
      name: 'small-postgan',
      label: 'Small-PostGAN',
      default: true,
      description: 'G_small after the NoGAN GAN phase (recommended).',
      trained_for: { qf: [10], double: '50 then 10' },
      metrics: { live1: [{ qf: 10, psnr_db: 27.1, ssim: 0.79 }] },
    },
  ],
};

export const PNG_DATA_URL =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

export const DOUBLE_RESULT: RestoreResult = {
  verdict: 'double',
  probabilities: { uncompressed: 0.01, single: 0.06, double: 0.93 },
  blocks: [
    { x: 0, y: 0, size: 256, verdict: 'double', probabilities: { uncompressed: 0, single: 0.1, double: 0.9 } },
    { x: 256, y: 0, size: 256, verdict: 'single', probabilities: { uncompressed: 0.1, single: 0.8, double: 0.1 } },
  ],
  quality: { estimate: 30, source: 'quantization-table', first_estimate: 20 },
  grid: { dx: 3, dy: 5, evidence: 0.234 },
  double_quantization: { evidence: 0.612, decisive: true, first_quality: 20 },
  second_grid: { dx: 6, dy: 1, evidence: 0.15, decisive: true },
  light_first_pass: { evidence: 3.2, decisive: false },
  image: { width: 512, height: 256, format: 'JPEG' },
  restored: true,
  model: 'small-postgan',
  strength: 0.4,
  timings: { detect_s: 0.41, restore_s: 0.377 },
  image_png: PNG_DATA_URL,
};

export const CLEAN_RESULT: RestoreResult = {
  verdict: 'uncompressed',
  probabilities: { uncompressed: 0.97, single: 0.02, double: 0.01 },
  blocks: [{ x: 0, y: 0, size: 256, verdict: 'uncompressed', probabilities: { uncompressed: 0.97, single: 0.02, double: 0.01 } }],
  quality: null,
  image: { width: 256, height: 256, format: 'PNG' },
  restored: false,
  model: 'small-postgan',
  timings: { detect_s: 0.2 },
  image_png: PNG_DATA_URL,
};

export const FORCED_RESULT: RestoreResult = {
  image: { width: 256, height: 256, format: 'PNG' },
  restored: true,
  model: 'small-postgan',
  timings: { restore_s: 0.5 },
  image_png: PNG_DATA_URL,
};

export function json(body: unknown, status = 200, type = 'application/json'): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });
}

type Handler = (init: RequestInit, url: string) => Response | Promise<Response>;

export interface Calls {
  restore: Array<{ form: FormData; headers: Record<string, string> }>;
}

/** Replaces fetch with a tiny router; returns the recorded /restore calls. */
export function mockServer(handlers: { models?: Handler; restore?: Handler } = {}): Calls {
  const calls: Calls = { restore: [] };
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = String(input);
    if (url.endsWith('models')) return handlers.models ? handlers.models(init, url) : json(MODELS);
    if (url.endsWith('restore')) {
      calls.restore.push({ form: init.body as FormData, headers: (init.headers ?? {}) as Record<string, string> });
      return handlers.restore ? handlers.restore(init, url) : json(DOUBLE_RESULT);
    }
    return json({ title: 'Not Found', status: 404, detail: `No route for ${url}` }, 404);
  });
  vi.stubGlobal('fetch', fetchMock);
  return calls;
}

export function imageFile(name = 'holiday.photo.jpg', type = 'image/jpeg'): File {
  return new File([new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])], name, { type });
}
