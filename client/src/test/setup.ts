import { afterEach, vi } from 'vitest';
import { cleanup } from '@testing-library/react';

// jsdom has no object URLs; the app only needs unique strings.
let counter = 0;
if (typeof URL.createObjectURL !== 'function') {
  Object.defineProperty(URL, 'createObjectURL', {
    configurable: true,
    writable: true,
    value: vi.fn(() => `blob:mock/${++counter}`),
  });
  Object.defineProperty(URL, 'revokeObjectURL', { configurable: true, writable: true, value: vi.fn() });
}

afterEach(() => {
  cleanup();
  window.location.hash = '';
});
