import type { ReactNode } from 'react';

const WORDS: Record<string, string> = {
  psnr: 'PSNR',
  ssim: 'SSIM',
  msssim: 'MS-SSIM',
  ms_ssim: 'MS-SSIM',
  lpips: 'LPIPS',
  qf: 'QF',
  qfs: 'QFs',
  db: 'dB',
  acc: 'accuracy',
  id: 'ID',
  jpeg: 'JPEG',
  rgb: 'RGB',
  cpu: 'CPU',
  gpu: 'GPU',
  s: '(s)',
  mp: 'MP',
  params: 'parameters',
  live1: 'LIVE1',
  bsds500: 'BSDS500',
};

/** `psnr_db_qf10` -> `PSNR dB QF10`, `trainedFor` -> `Trained for`. */
export function humanize(key: string): string {
  const whole = WORDS[key.toLowerCase()];
  if (whole) return whole.charAt(0).toUpperCase() + whole.slice(1);
  const words = key
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .split(/[_\s-]+/)
    .filter(Boolean)
    .map((w) => {
      const lower = w.toLowerCase();
      if (WORDS[lower]) return WORDS[lower];
      const qf = /^qf(\d+)$/.exec(lower);
      if (qf) return `QF${qf[1]}`;
      return lower;
    });
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function formatNumber(n: number): string {
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  const abs = Math.abs(n);
  if (abs >= 100) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPrimitive(v: unknown): boolean {
  return v === null || ['string', 'number', 'boolean'].includes(typeof v);
}

/** Every row is an object whose values are primitives: render as one table. */
function isTable(v: unknown[]): v is Array<Record<string, unknown>> {
  return v.length > 0 && v.every((row) => isPlainObject(row) && Object.values(row).every(isPrimitive));
}

/** An object of objects with primitive values (e.g. {qf10: {psnr, ssim}, qf30: {...}}): a table. */
function isKeyedTable(v: Record<string, unknown>): boolean {
  const values = Object.values(v);
  return (
    values.length > 1 &&
    values.every((row) => isPlainObject(row) && Object.keys(row).length > 0 && Object.values(row).every(isPrimitive))
  );
}

function columnsOf(rows: Array<Record<string, unknown>>): string[] {
  const cols: string[] = [];
  for (const row of rows) for (const key of Object.keys(row)) if (!cols.includes(key)) cols.push(key);
  return cols;
}

function primitiveText(value: unknown): string {
  if (Array.isArray(value)) return `(${value.map(primitiveText).join(', ')})`;
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') return formatNumber(value);
  return String(value);
}

function Primitive({ value }: { value: unknown }): ReactNode {
  if (value === null || value === undefined || value === '') return <span className="muted">—</span>;
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') return <span className="num">{formatNumber(value)}</span>;
  return String(value);
}

/** Renders any JSON value the server sends about a model, so new fields show up unaided. */
export function GenericValue({ value, depth = 0 }: { value: unknown; depth?: number }): ReactNode {
  if (isPrimitive(value) || value === undefined) return <Primitive value={value} />;
  if (depth > 4) return <code>{JSON.stringify(value)}</code>;

  if (Array.isArray(value)) {
    if (value.length === 0) return <span className="muted">none</span>;
    if (value.every((v) => isPrimitive(v) || (Array.isArray(v) && v.every(isPrimitive)))) {
      return <span>{value.map(primitiveText).join(', ')}</span>;
    }
    if (isTable(value)) {
      const cols = columnsOf(value);
      return (
        <div className="table-wrap">
          <table className="generic-table">
            <thead>
              <tr>
                {cols.map((c) => (
                  <th key={c} scope="col">
                    {humanize(c)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {value.map((row, i) => (
                <tr key={i}>
                  {cols.map((c) => (
                    <td key={c}>
                      <Primitive value={row[c]} />
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
    }
    return (
      <ul className="generic-list">
        {value.map((v, i) => (
          <li key={i}>
            <GenericValue value={v} depth={depth + 1} />
          </li>
        ))}
      </ul>
    );
  }

  const obj = value as Record<string, unknown>;
  const entries = Object.entries(obj);
  if (entries.length === 0) return <span className="muted">—</span>;

  if (isKeyedTable(obj)) {
    const rows = Object.values(obj) as Array<Record<string, unknown>>;
    const cols = columnsOf(rows);
    return (
      <div className="table-wrap">
        <table className="generic-table">
          <thead>
            <tr>
              <th scope="col" />
              {cols.map((c) => (
                <th key={c} scope="col">
                  {humanize(c)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {entries.map(([key, row]) => (
              <tr key={key}>
                <th scope="row">{humanize(key)}</th>
                {cols.map((c) => (
                  <td key={c}>
                    <Primitive value={(row as Record<string, unknown>)[c]} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  }

  return (
    <dl className="generic-dl">
      {entries.map(([key, v]) => (
        <div key={key}>
          <dt>{humanize(key)}</dt>
          <dd>
            <GenericValue value={v} depth={depth + 1} />
          </dd>
        </div>
      ))}
    </dl>
  );
}
