import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import App from './App';
import { CLEAN_RESULT, DOUBLE_RESULT, FORCED_RESULT, imageFile, json, mockServer } from './test/fixtures';

afterEach(() => vi.unstubAllGlobals());

async function renderReady() {
  const user = userEvent.setup({ applyAccept: false });
  render(<App />);
  const select = screen.getByLabelText('Restoration model') as HTMLSelectElement;
  await waitFor(() => expect(select.value).toBe('small-postgan'));
  return { user, select };
}

/** Detect a picture whose restore answers `result`; resolves once the verdict shows. */
async function showResult(result: object) {
  mockServer({ restore: () => json(result) });
  const { user } = await renderReady();
  await user.upload(screen.getByLabelText('Upload an image'), imageFile());
  await user.click(screen.getByRole('button', { name: 'Detect and restore' }));
  await screen.findByRole('heading', { name: /compression detected/ });
}

describe('home page', () => {
  it('offers the controls under their accessible names, default model marked', async () => {
    mockServer();
    const { select } = await renderReady();
    expect(screen.getByLabelText('Upload an image')).toHaveProperty('type', 'file');
    expect(screen.getByRole('checkbox', { name: 'Force restore' })).toHaveProperty('checked', false);
    const button = screen.getByRole('button', { name: 'Detect and restore' });
    expect(button).toHaveProperty('disabled', true);
    const options = within(select).getAllByRole('option').map((o) => o.textContent);
    expect(options).toEqual(['Small-PreGAN', 'Small-PostGAN (default)']);
  });

  it('previews the picture, then detects, compares and offers the download', async () => {
    const calls = mockServer();
    const { user, select } = await renderReady();
    await user.selectOptions(select, 'small-pregan');
    await user.upload(screen.getByLabelText('Upload an image'), imageFile());
    expect(screen.getByAltText('Preview of holiday.photo.jpg')).toBeTruthy();
    expect(screen.getByText('holiday.photo.jpg')).toBeTruthy();

    await user.click(screen.getByRole('button', { name: 'Detect and restore' }));
    const verdict = await screen.findByRole('heading', { name: /compression detected/ });
    expect(verdict.textContent).toBe('Double compression detected');
    expect(calls.restore[0].form.get('model')).toBe('small-pregan');
    expect(calls.restore[0].form.get('force')).toBe('false');
    expect(calls.restore[0].form.has('strength')).toBe(false); // auto
    expect(screen.getByText('40 %')).toBeTruthy(); // strength the server applied

    expect(screen.getByAltText('Original').getAttribute('src')).toMatch(/^blob:/);
    expect(screen.getByAltText('Restored').getAttribute('src')).toMatch(/^blob:/);
    const link = screen.getByRole('link', { name: 'Download' });
    expect(link.getAttribute('download')).toBe('holiday.photo-dejpeg.png');
    expect(link.getAttribute('href')).toBe(screen.getByAltText('Restored').getAttribute('src'));

    const chart = screen.getByRole('list', { name: 'Class probabilities' });
    expect(within(chart).getByText('93.0 %')).toBeTruthy();
    expect(screen.getByText('410 ms')).toBeTruthy(); // detection timing
    expect(screen.getByText('377 ms')).toBeTruthy(); // restoration timing
    expect(screen.getAllByText('30').length).toBeGreaterThan(0); // quality from the tables
    expect(screen.getAllByTestId('heat-cell')).toHaveLength(2);
    expect(screen.getByText('0.234')).toBeTruthy(); // grid evidence
    expect(screen.getByText(/a JPEG grid stands out clearly/)).toBeTruthy();
    expect(screen.getByText(/the picture was probably cropped/)).toBeTruthy(); // grid (3, 5)
    expect(screen.getByText('First compression')).toBeTruthy(); // the double-quantization test
    expect(screen.getByText('≈ 20')).toBeTruthy();
    expect(screen.getByText('0.61')).toBeTruthy();
    expect(screen.getByText('Earlier grid')).toBeTruthy(); // the second-grid test
    expect(screen.getByText(/cropped between the two/)).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('says when the picture was turned a quarter since its last compression', async () => {
    await showResult({ ...DOUBLE_RESULT, grid: { dx: 0, dy: 0, evidence: 0.3, transposed: true } });
    expect(screen.getByText('Turned')).toBeTruthy();
    expect(screen.getByText(/shown upright from its EXIF orientation/)).toBeTruthy();
  });

  it('says nothing of turning when the picture was not turned', async () => {
    await showResult({ ...DOUBLE_RESULT, grid: { dx: 0, dy: 0, evidence: 0.3, transposed: false } });
    expect(screen.queryByText('Turned')).toBeNull();
  });

  it("names a first compression found against the file's own table", async () => {
    const result = {
      ...DOUBLE_RESULT,
      quality: { estimate: 97, source: 'quantization-table', first_estimate: 50 },
      double_quantization: { evidence: 0.0, decisive: false, first_quality: null },
      second_grid: { dx: 6, dy: 1, evidence: 0.01, decisive: false },
      file_table: { coarser_steps: 7, decisive: true, first_quality: 50 },
    };
    await showResult(result);
    expect(screen.getByText('First compression')).toBeTruthy();
    expect(screen.getByText('≈ 50')).toBeTruthy();
    expect(screen.getByText(/coarser steps than its own table/)).toBeTruthy();
    expect(screen.queryByText('Earlier grid')).toBeNull();
  });

  it('names a first compression found against the table that gives the pixels back', async () => {
    const result = {
      ...DOUBLE_RESULT,
      quality: { estimate: 60, source: 'pixels', first_estimate: 32 },
      double_quantization: { evidence: 0.0, decisive: false, first_quality: null },
      second_grid: { dx: 6, dy: 1, evidence: 0.01, decisive: false },
      file_table: null,
      last_table: { quality: 60, coarser_steps: 14, decisive: true, first_quality: 32 },
    };
    await showResult(result);
    expect(screen.getByText('First compression')).toBeTruthy();
    expect(screen.getByText('≈ 32')).toBeTruthy();
    expect(screen.getByText(/exactly what the quality 60 table decodes/)).toBeTruthy();
    expect(screen.queryByText(/than its own table/)).toBeNull();
    // the last quality is proven, so it is given without "≈"
    expect(screen.getAllByText('60').length).toBeGreaterThan(0);
    expect(screen.queryByText('≈ 60')).toBeNull();
    expect(screen.getByText(/this quality’s table decodes them exactly/)).toBeTruthy();
  });

  it('gives a quality read from pixels as approximate when no table gives them back', async () => {
    await showResult({
      ...DOUBLE_RESULT,
      quality: { estimate: 75, source: 'pixels' },
      last_table: null,
    });
    expect(screen.getAllByText('≈ 75').length).toBeGreaterThan(0);
    expect(screen.getByText(/Estimated from the pixels \(approximate\)/)).toBeTruthy();
  });

  it.each([
    ['without a quality', undefined, 'Found'],
    ['with the quality its steps fit', 90, '≈ 90'],
  ])('names a lighter first compression found in the histograms, %s', async (_, firstQuality, shown) => {
    const result = {
      ...DOUBLE_RESULT,
      quality: { estimate: 75, source: 'pixels', first_estimate: firstQuality },
      double_quantization: { evidence: 0.0, decisive: false, first_quality: null },
      second_grid: { dx: 6, dy: 1, evidence: 0.01, decisive: false },
      light_first_pass: { evidence: 86.4, decisive: true, first_quality: firstQuality ?? null },
    };
    await showResult(result);
    expect(screen.getByText('First compression')).toBeTruthy();
    expect(screen.getByText(shown)).toBeTruthy();
    expect(screen.getByText(/a lighter one, such as a camera/)).toBeTruthy();
    expect(screen.getByText('86.4')).toBeTruthy();
    expect(screen.queryByText('Earlier grid')).toBeNull();
  });

  it('shows the decoder lattice that gave away a JPEG at quality 100', async () => {
    const result = {
      ...DOUBLE_RESULT,
      verdict: 'single',
      probabilities: { uncompressed: 0, single: 1, double: 0 },
      quality: { estimate: 100, source: 'pixels' },
      grid: { dx: 5, dy: 3, evidence: 0.004 },
      double_quantization: { evidence: 0.0, decisive: false, first_quality: null },
      second_grid: { dx: 6, dy: 1, evidence: 0.01, decisive: false },
      lattice: { evidence: 21.34, decisive: true },
    };
    await showResult(result);
    expect(screen.getByText('Decoder lattice')).toBeTruthy();
    expect(screen.getByText('21.3')).toBeTruthy();
    expect(screen.getByText(/sit on whole numbers/)).toBeTruthy();
    expect(screen.getByText(/no grid of zeros stands out/)).toBeTruthy(); // the zeros alone saw none
  });

  it('says when it cannot tell once from twice, with both probabilities', async () => {
    await showResult({
      ...DOUBLE_RESULT,
      probabilities: { uncompressed: 0, single: 0.47, double: 0.53 },
      double_quantization: { evidence: 0.0, decisive: false, first_quality: null },
      second_grid: { dx: 6, dy: 1, evidence: 0.01, decisive: false },
      quality: { estimate: 30, source: 'pixels' },
      single_vs_double: { confidence: 0.53, decided: false },
    });
    expect(screen.getByRole('heading', { name: 'JPEG compression detected (once or twice)' })).toBeTruthy();
    expect(screen.getByText('Once or twice')).toBeTruthy();
    expect(screen.getByText(/Cannot tell: single 47.0 %, double 53.0 %/)).toBeTruthy();
    expect(document.querySelector('.verdict-double')).toBeNull(); // no double's warning colour
  });

  it('names single or double when the detector decided', async () => {
    await showResult({ ...DOUBLE_RESULT, single_vs_double: { confidence: 0.94, decided: true } });
    expect(screen.getByRole('heading', { name: 'Double compression detected' })).toBeTruthy();
    expect(screen.queryByText('Once or twice')).toBeNull();
    expect(document.querySelector('.verdict-double')).toBeTruthy();
  });

  it('leaves the decoder lattice out when it decided nothing', async () => {
    await showResult({ ...DOUBLE_RESULT, lattice: { evidence: 2.4, decisive: false } });
    expect(screen.queryByText('Decoder lattice')).toBeNull();
    expect(screen.queryByText('2.4')).toBeNull();
  });

  it('sends the strength the user picks', async () => {
    const calls = mockServer();
    const { user } = await renderReady();
    await user.upload(screen.getByLabelText('Upload an image'), imageFile());
    await user.selectOptions(screen.getByLabelText('Restoration strength'), '0.5');
    await user.click(screen.getByRole('button', { name: 'Detect and restore' }));
    await screen.findByRole('heading', { name: /compression detected/ });
    expect(calls.restore[0].form.get('strength')).toBe('0.5');
  });

  it('says "No compression detected" and restores anyway on request', async () => {
    let n = 0;
    const calls = mockServer({ restore: () => json(n++ === 0 ? CLEAN_RESULT : FORCED_RESULT) });
    const { user } = await renderReady();
    await user.upload(screen.getByLabelText('Upload an image'), imageFile('flat.png', 'image/png'));
    await user.click(screen.getByRole('button', { name: 'Detect and restore' }));
    expect((await screen.findByRole('heading', { name: /compression detected/ })).textContent).toBe(
      'No compression detected',
    );
    expect(screen.queryByAltText('Restored')).toBeNull();
    expect(screen.queryByRole('link', { name: 'Download' })).toBeNull();
    expect(screen.queryByText('First compression')).toBeNull(); // no double-quantization finding
    expect(screen.queryByText('Earlier grid')).toBeNull();

    await user.click(screen.getByRole('button', { name: 'Restore anyway' }));
    await screen.findByAltText('Restored');
    expect(calls.restore).toHaveLength(2);
    expect(calls.restore[1].form.get('force')).toBe('true');
    // The first pass's verdict stays on screen, with the restored picture.
    expect(screen.getByRole('heading', { name: /compression detected/ }).textContent).toBe('No compression detected');
    expect(screen.getByRole('link', { name: 'Download' }).getAttribute('download')).toBe('flat-dejpeg.png');
    expect(screen.queryByRole('button', { name: 'Restore anyway' })).toBeNull();
  });

  it('says what the pixels alone saw when a JPEG file looks uncompressed', async () => {
    const light = {
      ...DOUBLE_RESULT,
      verdict: 'single',
      probabilities: { uncompressed: 0, single: 0.75, double: 0.25 },
      pixel_probabilities: { uncompressed: 0.8, single: 0.15, double: 0.05 },
    };
    mockServer({ restore: () => json(light) });
    const { user } = await renderReady();
    await user.upload(screen.getByLabelText('Upload an image'), imageFile());
    await user.click(screen.getByRole('button', { name: 'Detect and restore' }));
    expect((await screen.findByRole('heading', { name: /compression detected/ })).textContent)
      .toBe('Single compression detected');
    expect(screen.getByText('Pixels alone')).toBeTruthy();
    expect(screen.getByText(/Uncompressed 80.0 %/)).toBeTruthy();
    expect(screen.getByText(/compressed at least once/)).toBeTruthy();
  });

  it('adds no pixels-alone line when the pixels agree', async () => {
    mockServer({ restore: () => json({ ...DOUBLE_RESULT, pixel_probabilities: DOUBLE_RESULT.probabilities }) });
    const { user } = await renderReady();
    await user.upload(screen.getByLabelText('Upload an image'), imageFile());
    await user.click(screen.getByRole('button', { name: 'Detect and restore' }));
    await screen.findByRole('heading', { name: /compression detected/ });
    expect(screen.queryByText('Pixels alone')).toBeNull();
  });

  it('sends force=true and explains that detection was skipped', async () => {
    const calls = mockServer({ restore: () => json(FORCED_RESULT) });
    const { user } = await renderReady();
    await user.upload(screen.getByLabelText('Upload an image'), imageFile('a.png', 'image/png'));
    await user.click(screen.getByRole('checkbox', { name: 'Force restore' }));
    await user.click(screen.getByRole('button', { name: 'Detect and restore' }));
    expect(await screen.findByText('Detection skipped (forced restore)')).toBeTruthy();
    expect(calls.restore[0].form.get('force')).toBe('true');
    expect(screen.getByAltText('Restored')).toBeTruthy();
    expect(screen.queryByRole('list', { name: 'Class probabilities' })).toBeNull();
  });

  it('refuses a file that is not an image without calling the server', async () => {
    const calls = mockServer();
    const { user } = await renderReady();
    await user.upload(screen.getByLabelText('Upload an image'), new File(['hello'], 'notes.txt', { type: 'text/plain' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/not an image/);
    expect(screen.getByRole('button', { name: 'Detect and restore' })).toHaveProperty('disabled', true);
    expect(calls.restore).toHaveLength(0);
  });

  it('shows the server’s problem detail in an alert', async () => {
    mockServer({
      restore: () => json({ title: 'Payload Too Large', status: 413, detail: 'Upload is 30 MB; the limit is 25 MB.' }, 413),
    });
    const { user } = await renderReady();
    await user.upload(screen.getByLabelText('Upload an image'), imageFile());
    await user.click(screen.getByRole('button', { name: 'Detect and restore' }));
    expect((await screen.findByRole('alert')).textContent).toContain('Upload is 30 MB; the limit is 25 MB.');
    expect(screen.queryByRole('heading', { name: /compression detected/ })).toBeNull();
  });

  it('says when the server cannot be reached', async () => {
    mockServer({ restore: () => Promise.reject(new TypeError('Failed to fetch')) });
    const { user } = await renderReady();
    await user.upload(screen.getByLabelText('Upload an image'), imageFile());
    await user.click(screen.getByRole('button', { name: 'Detect and restore' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/Cannot reach the server/);
  });

  it('warns when the model list cannot be loaded but still lets the user try', async () => {
    const calls = mockServer({ models: () => Promise.reject(new TypeError('Failed to fetch')) });
    const user = userEvent.setup();
    render(<App />);
    expect((await screen.findByRole('alert')).textContent).toMatch(/Cannot reach the server/);
    const select = screen.getByLabelText('Restoration model') as HTMLSelectElement;
    expect(select.value).toBe('');
    await user.upload(screen.getByLabelText('Upload an image'), imageFile());
    await user.click(screen.getByRole('button', { name: 'Detect and restore' }));
    await screen.findByRole('heading', { name: /compression detected/ });
    expect(calls.restore[0].form.has('model')).toBe(false);
  });

  it('shows the elapsed time while working and can cancel', async () => {
    let aborted = false;
    mockServer({
      restore: (init) =>
        new Promise<Response>((_, reject) => {
          init.signal?.addEventListener('abort', () => {
            aborted = true;
            reject(new DOMException('The user aborted a request.', 'AbortError'));
          });
        }),
    });
    const { user } = await renderReady();
    await user.upload(screen.getByLabelText('Upload an image'), imageFile());
    await user.click(screen.getByRole('button', { name: 'Detect and restore' }));
    expect(screen.getByText('Detecting and restoring…')).toBeTruthy();
    expect(screen.getByLabelText('Elapsed time').textContent).toMatch(/s elapsed/);
    expect(screen.getByRole('button', { name: 'Detect and restore' })).toHaveProperty('disabled', true);
    await user.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(aborted).toBe(true);
    expect(await screen.findByText(/Cancelled/)).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Cancel' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Detect and restore' })).toHaveProperty('disabled', false);
  });

  it('accepts a picture pasted or dropped anywhere on the page', async () => {
    mockServer();
    await renderReady();
    const pasted = imageFile('pasted.png', 'image/png');
    const paste = new Event('paste', { bubbles: true, cancelable: true });
    Object.defineProperty(paste, 'clipboardData', { value: { files: [pasted], items: [] } });
    act(() => {
      window.dispatchEvent(paste);
    });
    expect(await screen.findByText('pasted.png')).toBeTruthy();

    const dropped = imageFile('dropped.jpg');
    const dataTransfer = { types: ['Files'], files: [dropped], items: [], dropEffect: 'none' };
    fireEvent.dragEnter(document.body, { dataTransfer });
    expect(await screen.findByText('Drop the picture to load it')).toBeTruthy();
    fireEvent.drop(document.body, { dataTransfer });
    expect(await screen.findByText('dropped.jpg')).toBeTruthy();
    expect(screen.queryByText('Drop the picture to load it')).toBeNull();
  });
});

describe('about page', () => {
  it('renders every model with its description, training data and numbers', async () => {
    mockServer();
    window.location.hash = '#/about';
    render(<App />);
    expect(await screen.findByRole('heading', { name: 'Small-PostGAN' })).toBeTruthy();
    expect(screen.getByRole('heading', { name: 'C-Tiny' })).toBeTruthy();
    expect(screen.getByText('CNN over per-frequency DCT histograms of 256×256 luma blocks.')).toBeTruthy();
    expect(screen.getAllByText('Trained for').length).toBe(3);
    expect(screen.getAllByText('Measured numbers').length).toBe(3);
    // Generic rendering: nested objects, arrays of numbers and tables of rows.
    expect(screen.getByText('10, 30, 50, 70, 90')).toBeTruthy();
    expect(screen.getByText('(50, 10), (50, 90)')).toBeTruthy();
    expect(screen.getAllByRole('columnheader', { name: 'PSNR dB' }).length).toBe(2);
    expect(screen.getByText('27.10')).toBeTruthy();
    expect(screen.getByText('default')).toBeTruthy();
  });

  it('shows an alert when the server is down', async () => {
    mockServer({ models: () => Promise.reject(new TypeError('Failed to fetch')) });
    window.location.hash = '#/about';
    render(<App />);
    expect((await screen.findByRole('alert')).textContent).toMatch(/Cannot reach the server/);
  });
});

describe('compare slider', () => {
  it('moves with the keyboard and zooms both pictures together', async () => {
    mockServer({ restore: () => json(DOUBLE_RESULT) });
    const { user } = await renderReady();
    await user.upload(screen.getByLabelText('Upload an image'), imageFile());
    await user.click(screen.getByRole('button', { name: 'Detect and restore' }));
    const slider = await screen.findByRole('slider');
    expect(slider.getAttribute('aria-valuenow')).toBe('50');
    slider.focus();
    await user.keyboard('{ArrowRight}{ArrowRight}');
    expect(slider.getAttribute('aria-valuenow')).toBe('54');
    await user.keyboard('{Home}');
    expect(slider.getAttribute('aria-valuenow')).toBe('0');

    await user.click(screen.getByRole('button', { name: 'Zoom in' }));
    const original = screen.getByAltText('Original') as HTMLImageElement;
    const restored = screen.getByAltText('Restored') as HTMLImageElement;
    expect(original.style.transform).toContain('scale(1.5)');
    expect(restored.style.transform).toBe(original.style.transform);
    await user.click(screen.getByRole('button', { name: 'Reset zoom' }));
    expect(restored.style.transform).toContain('scale(1)');

    await user.click(screen.getByRole('button', { name: 'Fullscreen' }));
    expect(screen.getByRole('button', { name: 'Exit fullscreen' })).toBeTruthy();
    await user.keyboard('{Escape}');
    expect(screen.getByRole('button', { name: 'Fullscreen' })).toBeTruthy();
  });
});
