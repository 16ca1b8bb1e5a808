import type { ModelInfo } from '../api';
import type { ModelsState } from '../App';
import { GenericValue, humanize } from './GenericValue';

interface Props {
  models: ModelsState;
}

/** Fields shown first and under a fixed title; every other field follows, generically. */
const SECTIONS: Array<[string, string]> = [
  ['trained_for', 'Trained for'],
  ['metrics', 'Measured numbers'],
];

function ModelCard({ model }: { model: ModelInfo }) {
  const rest = Object.entries(model.fields).filter(
    ([key, value]) => !SECTIONS.some(([k]) => k === key) && value !== undefined && value !== null && value !== '',
  );
  return (
    <article className="card model-card" aria-labelledby={`model-${model.kind}-${model.name}`}>
      <header className="model-head">
        <h3 id={`model-${model.kind}-${model.name}`}>{model.label}</h3>
        <span className={`badge badge-${model.kind}`}>{model.kind === 'other' ? 'model' : model.kind}</span>
        {model.isDefault && <span className="badge badge-default">default</span>}
        {!model.available && <span className="badge badge-off">not loaded</span>}
        {model.label !== model.name && <code className="model-name">{model.name}</code>}
      </header>
      {model.description && <p>{model.description}</p>}
      {SECTIONS.map(([key, title]) =>
        model.fields[key] !== undefined && model.fields[key] !== null ? (
          <section key={key} className="model-section">
            <h4>{title}</h4>
            <GenericValue value={model.fields[key]} />
          </section>
        ) : null,
      )}
      {rest.length > 0 && (
        <section className="model-section">
          <h4>More</h4>
          <dl className="generic-dl">
            {rest.map(([key, value]) => (
              <div key={key}>
                <dt>{humanize(key)}</dt>
                <dd>
                  <GenericValue value={value} />
                </dd>
              </div>
            ))}
          </dl>
        </section>
      )}
    </article>
  );
}

export function AboutPage({ models }: Props) {
  const { catalog, loading, error, reload } = models;
  const origin = typeof window !== 'undefined' ? window.location.origin : 'http://localhost:5000';
  return (
    <div className="about">
      <section className="hero hero-left">
        <h1>About deJPEG</h1>
        <p>
          deJPEG answers two questions about a picture from its pixels alone: <strong>was it JPEG-compressed</strong>{' '}
          (never, once or twice), and <strong>what did it look like before</strong>. It works on any format, so a PNG
          that was once a JPEG is recognised too.
        </p>
      </section>

      <div className="about-grid">
        <div className="card">
          <h2>Detection</h2>
          <p>
            The luma of the picture is cut into 256×256 blocks aligned with the JPEG 8×8 grid. For every block, the
            8×8 DCT coefficients are gathered into per-frequency histograms, which a compact CNN (C_Tiny, after Park
            et al., ECCV 2018) classifies as <em>uncompressed</em>, <em>single</em> or <em>double</em> compression.
            The picture’s verdict is aggregated over its blocks; the quality factor is read from the file’s
            quantization tables when it is a JPEG, or estimated from the pixels otherwise. Three tests look for a
            first compression the CNN can miss: the same grid’s coefficient histograms still showing a heavier first
            quantizer (which also gives its quality), the alternation a lighter one leaves in them (a camera’s JPEG
            resaved), and a second 8×8 grid showing through a light last compression when the picture was cropped in
            between. Coefficients sitting on whole numbers, as a JPEG decoder leaves them, give away even
            quality-100 JPEGs.
          </p>
          <p>
            A first compression lighter than the last, or at the same quality, can leave no trace at all. When
            neither the network nor a test tells once from twice, the answer says so (“once or twice”) rather than
            guess.
          </p>
        </div>
        <div className="card">
          <h2>Restoration</h2>
          <p>
            A U-Net generator removes blocking, ringing and colour bleeding. It was trained the NoGAN way: first alone
            with a perceptual content loss (multi-scale SSIM plus deep-feature and L1 terms), then briefly against a
            critic. Large pictures are processed in overlapping tiles blended without seams, at their exact size.
          </p>
        </div>
      </div>

      <h2 className="section-title">Models on this server</h2>
      {error && (
        <div className="alert alert-error" role="alert">
          <span>{error}</span>
          <button type="button" className="btn btn-small" onClick={reload}>
            Retry
          </button>
        </div>
      )}
      {loading && !catalog && <p className="muted">Loading models…</p>}
      {catalog && (
        <>
          {[...catalog.detectors, ...catalog.restorers, ...catalog.others].length === 0 && (
            <p className="muted">The server reports no loaded models.</p>
          )}
          <div className="model-list">
            {[...catalog.detectors, ...catalog.restorers, ...catalog.others].map((m) => (
              <ModelCard key={`${m.kind}:${m.name}`} model={m} />
            ))}
          </div>
        </>
      )}

      <div className="card">
        <h2>Use it from the command line</h2>
        <p>The page uses the same HTTP API that scripts can call:</p>
        <pre className="code">
          {`# restored PNG (the input unchanged if no compression is found)
curl -F image=@photo.jpg ${origin}/restore -o restored.png

# force restoration with a chosen model
curl -F image=@photo.png -F model=small-postgan -F force=true ${origin}/restore -o restored.png

# detection only, as JSON
curl -F image=@photo.jpg ${origin}/detect`}
        </pre>
        <p>
          The full description is at <a href="openapi.json">/openapi.json</a> (OpenAPI 3).
        </p>
      </div>
    </div>
  );
}
