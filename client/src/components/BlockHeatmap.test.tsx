import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/react';
import { BlockHeatmap } from './BlockHeatmap';

describe('BlockHeatmap', () => {
  it('lays every block over the picture in image coordinates', () => {
    render(
      <BlockHeatmap
        imageUrl="blob:x"
        width={512}
        height={300}
        blocks={[
          { x: 0, y: 0, size: 256, verdict: 'double', probabilities: { uncompressed: 0, single: 0.2, double: 0.8 } },
          { x: 256, y: 44, size: 256, verdict: 'single', probabilities: { uncompressed: 0, single: 1, double: 0 } },
          { x: 0, y: 0, size: 256, width: 100, height: 50, tiled: true, verdict: 'uncompressed' },
        ]}
      />,
    );
    const cells = screen.getAllByTestId('heat-cell');
    expect(cells).toHaveLength(3);
    expect(cells[1].style.left).toBe('50%');
    expect(parseFloat(cells[1].style.top)).toBeCloseTo((44 / 300) * 100, 5);
    expect(cells[1].style.width).toBe('50%');
    expect(cells[2].style.width).toBe(`${(100 / 512) * 100}%`);
    expect(cells[0].getAttribute('title')).toBe('Block at 0, 0: Double (Uncompressed 0 %, Single 20.0 %, Double 80.0 %)');
    expect(cells[2].getAttribute('title')).toMatch(/tiled/);
    expect(screen.getByText('Single: 1')).toBeTruthy();
    expect(screen.getByText('Double: 1')).toBeTruthy();

    fireEvent.click(screen.getByRole('checkbox', { name: 'Show blocks' }));
    expect(screen.queryAllByTestId('heat-cell')).toHaveLength(0);
  });
});
