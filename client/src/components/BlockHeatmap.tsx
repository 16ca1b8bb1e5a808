import { useState } from 'react';
import { classLabel, classOrder, formatPercent, type Block } from '../api';

interface Props {
  imageUrl: string;
  blocks: Block[];
  width?: number;
  height?: number;
}

function describe(block: Block): string {
  const probs = block.probabilities
    ? classOrder(block.probabilities)
        .map((k) => `${classLabel(k)} ${formatPercent(block.probabilities![k])}`)
        .join(', ')
    : '';
  const tiled = block.tiled === true ? ' — picture smaller than a block, tiled to fill it' : '';
  return `Block at ${block.x}, ${block.y}: ${classLabel(block.verdict)}${probs ? ` (${probs})` : ''}${tiled}`;
}

/** The picture with every detector block tinted by its verdict, opacity by its certainty. */
export function BlockHeatmap({ imageUrl, blocks, width, height }: Props) {
  const [natural, setNatural] = useState<{ width: number; height: number } | null>(null);
  const [show, setShow] = useState(true);
  const [failed, setFailed] = useState(false);
  const w = width ?? natural?.width;
  const h = height ?? natural?.height;

  const counts = new Map<string, number>();
  for (const b of blocks) counts.set(b.verdict, (counts.get(b.verdict) ?? 0) + 1);
  const legend = ['uncompressed', 'single', 'double', ...[...counts.keys()].filter((k) => !['uncompressed', 'single', 'double'].includes(k))];

  return (
    <div className="heatmap">
      <div className="heatmap-toolbar">
        <ul className="legend" aria-label="Block verdicts">
          {legend.map((v) => (
            <li key={v} className={`legend-item tone-${v}`}>
              <span className="swatch" aria-hidden="true" />
              {classLabel(v)}: {counts.get(v) ?? 0}
            </li>
          ))}
        </ul>
        <label className="toggle">
          <input type="checkbox" checked={show} onChange={(e) => setShow(e.target.checked)} /> Show blocks
        </label>
      </div>
      <div className="heatmap-stage" style={w && h ? { aspectRatio: `${w} / ${h}`, ['--ratio' as string]: String(w / h) } : undefined}>
        {failed ? (
          <div className="heatmap-missing">This browser cannot display the picture; the blocks are drawn on a blank.</div>
        ) : (
          <img
            src={imageUrl}
            alt="Picture under the block heat-map"
            onLoad={(e) => setNatural({ width: e.currentTarget.naturalWidth, height: e.currentTarget.naturalHeight })}
            onError={() => setFailed(true)}
          />
        )}
        {show && w && h && (
          <div className="heatmap-cells">
            {blocks.map((b, i) => {
              // The server may say how much of the picture a block really covers (small pictures are tiled).
              const bw = typeof b.width === 'number' ? b.width : b.size;
              const bh = typeof b.height === 'number' ? b.height : b.size;
              const cw = Math.max(0, Math.min(bw, w - b.x));
              const ch = Math.max(0, Math.min(bh, h - b.y));
              const p = b.probabilities?.[b.verdict] ?? 1;
              return (
                <div
                  key={`${b.x}-${b.y}-${i}`}
                  className={`heat-cell tone-${b.verdict}`}
                  data-testid="heat-cell"
                  title={describe(b)}
                  style={{
                    left: `${(b.x / w) * 100}%`,
                    top: `${(b.y / h) * 100}%`,
                    width: `${(cw / w) * 100}%`,
                    height: `${(ch / h) * 100}%`,
                    opacity: 0.3 + 0.5 * Math.min(1, Math.max(0, p)),
                  }}
                />
              );
            })}
          </div>
        )}
      </div>
    </div>
  );
}
