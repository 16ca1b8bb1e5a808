import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test, type Page } from '@playwright/test';
import { artifact, makePicture, pngSize } from './helpers';

async function openHome(page: Page) {
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  // The model list comes from GET /models; the default restorer is preselected.
  const select = page.getByLabel('Restoration model', { exact: true });
  await expect(select).toBeEnabled();
  await expect(select.locator('option', { hasText: '(default)' })).toHaveCount(1);
  await expect(select).not.toHaveValue('');
  return select;
}

/** Open the home page, upload a file of demo/ and press "Detect and restore". */
async function detectDemo(page: Page, file: string) {
  await openHome(page);
  await page
    .getByLabel('Upload an image', { exact: true })
    .setInputFiles(fileURLToPath(new URL(`../../demo/${file}`, import.meta.url)));
  await page.getByRole('button', { name: 'Detect and restore' }).click();
}

async function waitForImage(page: Page, alt: string) {
  const img = page.getByAltText(alt, { exact: true });
  await expect(img).toBeVisible();
  await expect
    .poll(() => img.evaluate((el) => (el as HTMLImageElement).complete && (el as HTMLImageElement).naturalWidth))
    .toBeGreaterThan(0);
  return img;
}

test('upload a JPEG, read the verdict, compare and download the restored PNG', async ({ page }) => {
  await openHome(page);
  await expect(page.getByRole('button', { name: 'Detect and restore' })).toBeDisabled();
  const jpeg = await makePicture(page, { name: 'e2e-scene-q10.jpg', type: 'image/jpeg', quality: 0.1 });

  await page.getByLabel('Upload an image', { exact: true }).setInputFiles(jpeg);
  await expect(page.getByAltText('Preview of e2e-scene-q10.jpg')).toBeVisible();
  await expect(page.getByText('512 × 384')).toBeVisible();
  await page.screenshot({ path: artifact('01-picked.png'), fullPage: true });

  await page.getByRole('button', { name: 'Detect and restore' }).click();
  const verdict = page.getByRole('heading', { name: /compression detected/ });
  await expect(verdict).toBeVisible();
  // A quality-10 JPEG must be recognised as compressed (once or twice; at QF 10 a lighter
  // first compression leaves no trace, so the detector may say it cannot tell which).
  expect(await verdict.textContent()).toMatch(/^((Single|Double) compression detected|JPEG compression detected \(once or twice\))$/);

  // Numbers: probabilities chart, quality estimate from the JPEG tables, timings, block map.
  await expect(page.getByRole('list', { name: 'Class probabilities' }).getByRole('listitem')).toHaveCount(3);
  await expect(page.getByText('Detection', { exact: true })).toBeVisible();
  await expect(page.getByText('Restoration', { exact: true })).toBeVisible();
  await expect(page.getByText('Quality estimate')).toBeVisible();
  expect(await page.getByTestId('heat-cell').count()).toBeGreaterThan(0);

  const original = await waitForImage(page, 'Original');
  const restored = await waitForImage(page, 'Restored');
  expect(await restored.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBe(512);
  expect(await original.evaluate((el) => (el as HTMLImageElement).naturalHeight)).toBe(384);

  // Drag the divider a quarter of the way in from the left.
  const slider = page.getByRole('slider');
  await expect(slider).toHaveAttribute('aria-valuenow', '50');
  const viewport = await page.locator('.compare-viewport').boundingBox();
  const handle = await slider.boundingBox();
  if (!viewport || !handle) throw new Error('comparison not laid out');
  await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
  await page.mouse.down();
  await page.mouse.move(viewport.x + viewport.width * 0.25, handle.y + handle.height / 2, { steps: 8 });
  await page.mouse.up();
  const value = Number(await slider.getAttribute('aria-valuenow'));
  expect(value).toBeGreaterThanOrEqual(22);
  expect(value).toBeLessThanOrEqual(28);

  // Zoom both sides together.
  await page.getByRole('button', { name: 'Zoom in' }).click();
  const transforms = await page.evaluate(() =>
    ['Original', 'Restored'].map((alt) => (document.querySelector(`img[alt="${alt}"]`) as HTMLElement).style.transform),
  );
  expect(transforms[0]).toContain('scale(1.5)');
  expect(transforms[0]).toBe(transforms[1]);
  await page.getByRole('button', { name: 'Reset zoom' }).click();
  await verdict.scrollIntoViewIfNeeded();
  await page.screenshot({ path: artifact('02-verdict-compare.png'), fullPage: true });

  // Fullscreen and back.
  await page.getByRole('button', { name: 'Fullscreen' }).click();
  await expect(page.getByRole('button', { name: 'Exit fullscreen' })).toBeVisible();
  await page.screenshot({ path: artifact('03-fullscreen.png') });
  await page.getByRole('button', { name: 'Exit fullscreen' }).click();
  await expect(page.getByRole('button', { name: 'Fullscreen' })).toBeVisible();

  // Download: a PNG named after the upload, at the upload's exact size.
  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Download' }).click();
  const download = await downloadPromise;
  expect(download.suggestedFilename()).toBe('e2e-scene-q10-dejpeg.png');
  const saved = artifact('e2e-scene-q10-dejpeg.png');
  await download.saveAs(saved);
  expect(pngSize(readFileSync(saved))).toEqual({ width: 512, height: 384 });
  await expect(page.getByRole('alert')).toHaveCount(0);
});

test('a running request shows the elapsed time and can be cancelled', async ({ page }) => {
  await openHome(page);
  // Big enough that restoring it takes a few seconds on a CPU.
  const big = await makePicture(page, { name: 'e2e-big.png', type: 'image/png', width: 1600, height: 1200 });
  await page.getByLabel('Upload an image', { exact: true }).setInputFiles(big);
  await page.getByRole('checkbox', { name: 'Force restore' }).check();
  await page.getByRole('button', { name: 'Detect and restore' }).click();
  await expect(page.getByRole('button', { name: 'Detect and restore' })).toBeDisabled();
  await expect(page.getByLabel('Elapsed time')).toContainText('s elapsed');
  await page.screenshot({ path: artifact('10-working.png') });
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Cancelled' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Cancel' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Detect and restore' })).toBeEnabled();
  await expect(page.getByAltText('Restored', { exact: true })).toHaveCount(0);
  await expect(page.getByRole('alert')).toHaveCount(0);
});

test('force restore on an uncompressed picture skips detection', async ({ page }) => {
  await openHome(page);
  const png = await makePicture(page, { name: 'e2e-clean.png', type: 'image/png' });
  await page.getByLabel('Upload an image', { exact: true }).setInputFiles(png);
  await page.getByRole('checkbox', { name: 'Force restore' }).check();
  await page.getByRole('button', { name: 'Detect and restore' }).click();

  await expect(page.getByRole('heading', { name: 'Detection skipped (forced restore)' })).toBeVisible();
  await waitForImage(page, 'Restored');
  await waitForImage(page, 'Original');
  await expect(page.getByRole('link', { name: 'Download' })).toHaveAttribute('download', 'e2e-clean-dejpeg.png');
  await page.screenshot({ path: artifact('04-forced.png'), fullPage: true });
  await expect(page.getByRole('alert')).toHaveCount(0);
});

test('an uncompressed picture without force: verdict, and "Restore anyway" when nothing is found', async ({ page }) => {
  await openHome(page);
  const png = await makePicture(page, { name: 'e2e-clean.png', type: 'image/png' });
  await page.getByLabel('Upload an image', { exact: true }).setInputFiles(png);
  await page.getByRole('button', { name: 'Detect and restore' }).click();
  const verdict = page.getByRole('heading', { name: /compression detected/ });
  await expect(verdict).toBeVisible();
  const text = (await verdict.textContent()) ?? '';
  test.info().annotations.push({ type: 'verdict', description: text });
  await page.screenshot({ path: artifact('05-clean-verdict.png'), fullPage: true });

  if (text === 'No compression detected') {
    await expect(page.getByAltText('Restored', { exact: true })).toHaveCount(0);
    await page.getByRole('button', { name: 'Restore anyway' }).click();
    await waitForImage(page, 'Restored');
    await expect(verdict).toHaveText('No compression detected');
    await expect(page.getByRole('button', { name: 'Restore anyway' })).toHaveCount(0);
  } else {
    // The detector saw compression in a lossless picture: it restored, and the page says so.
    await waitForImage(page, 'Restored');
  }
  await expect(page.getByRole('link', { name: 'Download' })).toHaveAttribute('download', 'e2e-clean-dejpeg.png');
  await page.screenshot({ path: artifact('06-clean-restored.png'), fullPage: true });
});

test('a twice-compressed demo photo: double, with the first compression\'s quality', async ({ page }) => {
  // demo/DQF5070: a validation photo saved at QF 50, then at QF 70 on the same grid.
  await detectDemo(page, 'DQF5070/photo1.jpg');
  await expect(page.getByRole('heading', { name: 'Double compression detected' })).toBeVisible();
  const first = page.locator('.details div', { hasText: 'First compression' });
  await expect(first).toBeVisible();
  await expect(first).toContainText(/≈ (49|50|51)/);
  await waitForImage(page, 'Restored');
  await page.screenshot({ path: artifact('11-double-first-quality.png'), fullPage: true });
});

test('a portrait photo stored on its side: read the way it was compressed, shown upright', async ({ page }) => {
  // demo/SQF30-portrait: a QF 30 JPEG stored 640x480 with EXIF orientation 6 (shown 480x640).
  await detectDemo(page, 'SQF30-portrait/photo1.jpg');
  await expect(page.getByRole('heading', { name: /compression detected/ })).toBeVisible();
  const turned = page.locator('.details div', { hasText: 'Turned' });
  await expect(turned).toContainText('a quarter, since its last compression');
  // the original (as the browser shows the file) and the restored PNG are both upright
  const original = await waitForImage(page, 'Original');
  const restored = await waitForImage(page, 'Restored');
  for (const img of [original, restored]) {
    expect(await img.evaluate((el) => [(el as HTMLImageElement).naturalWidth, (el as HTMLImageElement).naturalHeight])).toEqual([480, 640]);
  }
  await page.screenshot({ path: artifact('12-portrait-turned.png'), fullPage: true });
});

test('a file that is not an image shows an alert, and so does one the server cannot decode', async ({ page }) => {
  await openHome(page);
  await page.getByLabel('Upload an image', { exact: true }).setInputFiles({
    name: 'notes.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('this is not a picture\n'),
  });
  await expect(page.getByRole('alert')).toContainText('not an image');
  await expect(page.getByRole('button', { name: 'Detect and restore' })).toBeDisabled();
  await page.screenshot({ path: artifact('07-not-an-image.png'), fullPage: true });

  // Claims to be a PNG but is not: the server answers 415 and the page shows its message.
  await page.getByLabel('Upload an image', { exact: true }).setInputFiles({
    name: 'broken.png',
    mimeType: 'image/png',
    buffer: Buffer.from('definitely not PNG bytes'.repeat(10)),
  });
  await expect(page.getByRole('alert')).toHaveCount(0);
  await page.getByRole('button', { name: 'Detect and restore' }).click();
  const alert = page.getByRole('alert');
  await expect(alert).toBeVisible();
  expect(((await alert.textContent()) ?? '').trim().length).toBeGreaterThan(5);
  await expect(page.getByRole('heading', { name: /compression detected/ })).toHaveCount(0);
  await page.screenshot({ path: artifact('08-server-refused.png'), fullPage: true });

  // The page is still usable afterwards.
  const jpeg = await makePicture(page, { name: 'after-error.jpg', type: 'image/jpeg', quality: 0.1, width: 256, height: 256 });
  await page.getByLabel('Upload an image', { exact: true }).setInputFiles(jpeg);
  await expect(page.getByRole('alert')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Detect and restore' })).toBeEnabled();
});

test('the About page lists the loaded models with their numbers', async ({ page }) => {
  await page.goto('/#/about');
  await expect(page.getByRole('heading', { name: 'About deJPEG' })).toBeVisible();
  const cards = page.locator('.model-card');
  await expect(cards.first()).toBeVisible();
  expect(await cards.count()).toBeGreaterThanOrEqual(2);
  await expect(page.locator('.model-card:has(.badge-restorer) .badge-default')).toHaveCount(1);
  await page.screenshot({ path: artifact('09-about.png'), fullPage: true });
});
