import { percent, type Progress } from './putFile';
import { formatBytes } from '../format';

/** A labelled progress bar with its figures announced as they change. */
export function UploadProgress({ name, progress }: { name: string; progress: Progress }) {
  const done = percent(progress);
  return (
    <div className="upload-progress">
      <label>
        Uploading {name}
        <progress max={100} value={done}>
          {done} %
        </progress>
      </label>
      <p role="status" aria-live="polite" className="muted">
        {done} % ({formatBytes(progress.loaded)} of {formatBytes(progress.total)})
      </p>
    </div>
  );
}
