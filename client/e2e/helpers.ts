import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';

export const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
mkdirSync(ARTIFACTS, { recursive: true });

export function artifact(name: string): string {
  return `${ARTIFACTS}${name}`;
}

export interface Picture {
  name: string;
  mimeType: string;
  buffer: Buffer;
}

/**
 * Paints a deterministic, photo-like test picture (gradients, soft shapes, fine texture and a
 * little noise) on a canvas in the page and encodes it there: `image/jpeg` at the given quality
 * (0.1 is libjpeg quality 10) or lossless `image/png`. Nothing comes from outside the test.
 */
export async function makePicture(
  page: Page,
  options: { name: string; type: 'image/jpeg' | 'image/png'; quality?: number; width?: number; height?: number },
): Promise<Picture> {
  const { type, quality = 0.92, width = 512, height = 384 } = options;
  const base64 = await page.evaluate(
    async ({ type, quality, width, height }) => {
      const canvas = document.createElement('canvas');
      canvas.width = width;
      canvas.height = height;
      const ctx = canvas.getContext('2d');
      if (!ctx) throw new Error('no 2d context');

      const sky = ctx.createLinearGradient(0, 0, 0, height);
      sky.addColorStop(0, '#3d6fb6');
      sky.addColorStop(0.55, '#f2c58a');
      sky.addColorStop(1, '#5b3a29');
      ctx.fillStyle = sky;
      ctx.fillRect(0, 0, width, height);

      let seed = 12345;
      const rand = () => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed / 2147483648;
      };
      for (let i = 0; i < 40; i += 1) {
        const x = rand() * width;
        const y = rand() * height;
        const r = 8 + rand() * 60;
        const g = ctx.createRadialGradient(x, y, 1, x, y, r);
        g.addColorStop(0, `hsla(${Math.floor(rand() * 360)}, 70%, ${30 + rand() * 40}%, 0.9)`);
        g.addColorStop(1, 'hsla(0, 0%, 50%, 0)');
        ctx.fillStyle = g;
        ctx.beginPath();
        ctx.arc(x, y, r, 0, Math.PI * 2);
        ctx.fill();
      }
      ctx.strokeStyle = 'rgba(20, 20, 30, 0.85)';
      ctx.lineWidth = 2;
      for (let i = 0; i < 12; i += 1) {
        ctx.beginPath();
        ctx.moveTo(rand() * width, rand() * height);
        ctx.bezierCurveTo(rand() * width, rand() * height, rand() * width, rand() * height, rand() * width, rand() * height);
        ctx.stroke();
      }
      ctx.fillStyle = '#fff';
      ctx.font = 'bold 42px sans-serif';
      ctx.fillText('deJPEG e2e', 24, height - 32);

      // Fine texture and sensor-like noise, so the picture is not unnaturally flat.
      const img = ctx.getImageData(0, 0, width, height);
      const d = img.data;
      for (let y = 0; y < height; y += 1) {
        for (let x = 0; x < width; x += 1) {
          const i = (y * width + x) * 4;
          const texture = 6 * Math.sin(x * 0.7) * Math.cos(y * 0.45);
          for (let c = 0; c < 3; c += 1) {
            const noise = (rand() - 0.5) * 10;
            d[i + c] = Math.max(0, Math.min(255, d[i + c] + texture + noise));
          }
        }
      }
      ctx.putImageData(img, 0, 0);

      const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, type, quality));
      if (!blob) throw new Error('canvas.toBlob failed');
      const bytes = new Uint8Array(await blob.arrayBuffer());
      let binary = '';
      for (let i = 0; i < bytes.length; i += 1) binary += String.fromCharCode(bytes[i]);
      return btoa(binary);
    },
    { type, quality, width, height },
  );
  return { name: options.name, mimeType: type, buffer: Buffer.from(base64, 'base64') };
}

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(bytes: Buffer): { width: number; height: number } {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (!signature.every((b, i) => bytes[i] === b)) throw new Error('not a PNG file');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}
