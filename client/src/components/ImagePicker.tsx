import { useEffect, useId, useRef, useState } from 'react';
import { formatBytes } from '../api';

interface Props {
  file: File | null;
  previewUrl: string | null;
  onFile: (file: File) => void;
  onClear: () => void;
}

const ACCEPT = 'image/*,.jpg,.jpeg,.png,.webp,.bmp,.tif,.tiff,.gif';

export function ImagePicker({ file, previewUrl, onFile, onClear }: Props) {
  const inputId = useId();
  const hintId = useId();
  const inputRef = useRef<HTMLInputElement>(null);
  const [size, setSize] = useState<{ width: number; height: number } | null>(null);
  const [previewFailed, setPreviewFailed] = useState(false);

  useEffect(() => {
    setSize(null);
    setPreviewFailed(false);
  }, [previewUrl]);

  return (
    <div className={`picker${file ? ' has-file' : ''}`}>
      <input
        ref={inputRef}
        id={inputId}
        className="sr-only"
        type="file"
        accept={ACCEPT}
        aria-label="Upload an image"
        aria-describedby={hintId}
        onChange={(event) => {
          const chosen = event.target.files?.[0];
          if (chosen) onFile(chosen);
          // Let the same file be chosen again after "Remove".
          event.target.value = '';
        }}
      />
      {!file ? (
        <label htmlFor={inputId} className="dropzone">
          <svg className="dropzone-icon" viewBox="0 0 24 24" aria-hidden="true">
            <path d="M12 16V4m0 0-4.5 4.5M12 4l4.5 4.5M4 15v3a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-3" />
          </svg>
          <span className="dropzone-title">Upload an image</span>
          <span className="dropzone-text" id={hintId}>
            Click to choose, drop a file anywhere on the page, or paste with Ctrl+V.
            <br />
            JPEG, PNG, WebP, BMP, TIFF or GIF.
          </span>
        </label>
      ) : (
        <figure className="preview">
          <div className="preview-frame">
            {previewUrl && !previewFailed ? (
              <img
                src={previewUrl}
                alt={`Preview of ${file.name}`}
                onLoad={(event) =>
                  setSize({ width: event.currentTarget.naturalWidth, height: event.currentTarget.naturalHeight })
                }
                onError={() => setPreviewFailed(true)}
              />
            ) : (
              <p className="preview-missing">
                This browser cannot show a preview of this file. The server may still read it.
              </p>
            )}
          </div>
          <figcaption>
            <span className="file-name" title={file.name}>
              {file.name}
            </span>
            <span className="file-meta" id={hintId}>
              {formatBytes(file.size)}
              {size ? ` · ${size.width} × ${size.height}` : ''}
            </span>
            <span className="preview-actions">
              <label htmlFor={inputId} className="btn btn-small">
                Change
              </label>
              <button type="button" className="btn btn-small btn-ghost" onClick={onClear}>
                Remove
              </button>
            </span>
          </figcaption>
        </figure>
      )}
    </div>
  );
}
