import { useEffect, useRef, useState } from 'react';

function hasFiles(event: DragEvent): boolean {
  return Array.from(event.dataTransfer?.types ?? []).includes('Files');
}

function firstFile(list: DataTransferItemList | undefined, files: FileList | undefined): File | null {
  if (files && files.length > 0) return files[0];
  for (const item of Array.from(list ?? [])) {
    if (item.kind === 'file') {
      const file = item.getAsFile();
      if (file) return file;
    }
  }
  return null;
}

/**
 * Lets a picture be dropped anywhere on the window or pasted from the clipboard.
 * Returns whether a file is being dragged over the window (to show a drop overlay).
 */
export function useFileDropAndPaste(onFile: (file: File) => void): boolean {
  const [dragging, setDragging] = useState(false);
  const depth = useRef(0);
  const callback = useRef(onFile);
  callback.current = onFile;

  useEffect(() => {
    const deliver = (file: File) => {
      // A picture dropped while the About page is open goes to the home page.
      if (/about/i.test(window.location.hash)) window.location.hash = '#/';
      callback.current(file);
    };
    const onDragEnter = (event: DragEvent) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth.current += 1;
      setDragging(true);
    };
    const onDragOver = (event: DragEvent) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
    };
    const onDragLeave = (event: DragEvent) => {
      if (!hasFiles(event)) return;
      depth.current = Math.max(0, depth.current - 1);
      if (depth.current === 0) setDragging(false);
    };
    const onDrop = (event: DragEvent) => {
      depth.current = 0;
      setDragging(false);
      if (!event.dataTransfer) return;
      const file = firstFile(event.dataTransfer.items, event.dataTransfer.files);
      if (!file) return;
      event.preventDefault();
      deliver(file);
    };
    const onPaste = (event: ClipboardEvent) => {
      const file = firstFile(event.clipboardData?.items, event.clipboardData?.files);
      if (!file) return; // plain text pastes stay with the focused field
      event.preventDefault();
      deliver(file);
    };
    window.addEventListener('dragenter', onDragEnter);
    window.addEventListener('dragover', onDragOver);
    window.addEventListener('dragleave', onDragLeave);
    window.addEventListener('drop', onDrop);
    window.addEventListener('paste', onPaste);
    return () => {
      window.removeEventListener('dragenter', onDragEnter);
      window.removeEventListener('dragover', onDragOver);
      window.removeEventListener('dragleave', onDragLeave);
      window.removeEventListener('drop', onDrop);
      window.removeEventListener('paste', onPaste);
    };
  }, []);

  return dragging;
}
