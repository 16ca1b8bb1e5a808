import { classLabel, classOrder, formatPercent, type Probabilities } from '../api';

interface Props {
  probabilities: Probabilities;
  verdict?: string;
}

/** Horizontal bar chart of the image-level class probabilities; readable as text too. */
export function ProbabilityChart({ probabilities, verdict }: Props) {
  const order = classOrder(probabilities);
  return (
    <ul className="prob-chart" aria-label="Class probabilities">
      {order.map((name) => {
        const p = Math.min(1, Math.max(0, Number(probabilities[name]) || 0));
        return (
          <li key={name} className={`prob-row prob-${name}${name === verdict ? ' is-verdict' : ''}`}>
            <span className="prob-label">{classLabel(name)}</span>
            <span className="prob-track" aria-hidden="true">
              <span className="prob-bar" style={{ width: `${(p * 100).toFixed(2)}%` }} />
            </span>
            <span className="prob-value">{formatPercent(p)}</span>
          </li>
        );
      })}
    </ul>
  );
}
