import { useCallback, useEffect, useState } from 'react';
import { ApiError, fetchModels, type ModelCatalog } from './api';
import { HomePage } from './components/HomePage';
import { AboutPage } from './components/AboutPage';

type Route = 'home' | 'about';

function routeFromHash(hash: string): Route {
  return hash.replace(/^#\/?/, '').toLowerCase().startsWith('about') ? 'about' : 'home';
}

export interface ModelsState {
  catalog: ModelCatalog | null;
  loading: boolean;
  error: string | null;
  reload: () => void;
}

function useModels(): ModelsState {
  const [catalog, setCatalog] = useState<ModelCatalog | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    fetchModels(controller.signal)
      .then((result) => {
        setCatalog(result);
        setError(null);
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.kind === 'abort') return;
        setError(err instanceof Error ? err.message : String(err));
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
  }, [attempt]);

  const reload = useCallback(() => setAttempt((n) => n + 1), []);
  return { catalog, loading, error, reload };
}

export default function App() {
  const [route, setRoute] = useState<Route>(() => routeFromHash(window.location.hash));
  const models = useModels();

  useEffect(() => {
    const onHash = () => {
      setRoute(routeFromHash(window.location.hash));
      window.scrollTo?.(0, 0);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    document.title = route === 'about' ? 'About · deJPEG' : 'deJPEG · detect and remove JPEG artifacts';
  }, [route]);

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <nav className="topbar-inner" aria-label="Main">
          <a className="brand" href="#/">
            <span className="brand-mark" aria-hidden="true" />
            deJPEG
          </a>
          <a href="#/" className="nav-link" aria-current={route === 'home' ? 'page' : undefined}>
            Home
          </a>
          <a href="#/about" className="nav-link" aria-current={route === 'about' ? 'page' : undefined}>
            About
          </a>
          <span className="spacer" />
          <a className="nav-link nav-api" href="openapi.json" target="_blank" rel="noreferrer">
            API
          </a>
        </nav>
      </header>
      {/* Both pages stay mounted so a result survives a look at the About page. */}
      <main id="main" className="page" tabIndex={-1}>
        <div hidden={route !== 'home'}>
          <HomePage models={models} />
        </div>
        {route === 'about' && <AboutPage models={models} />}
      </main>
      <footer className="footer">
        deJPEG · detection after Park et al. (ECCV 2018) · restoration with a NoGAN-trained U-Net ·{' '}
        <a href="#/about">models and numbers</a>
      </footer>
    </>
  );
}
