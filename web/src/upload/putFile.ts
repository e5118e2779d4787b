/**
 * PUTs a file to a signed URL with XMLHttpRequest, the only browser API that reports upload
 * progress. Used by dataset and inference uploads alike.
 */

export class UploadError extends Error {}

export interface Progress {
  loaded: number;
  total: number;
}

/** Whole percent done, 0 to 100 (0 while the size is unknown). */
export function percent({ loaded, total }: Progress): number {
  if (total <= 0) return 0;
  return Math.min(100, Math.floor((loaded / total) * 100));
}

/** What the storage's answer means for the person uploading. */
export function uploadErrorMessage(status: number): string {
  switch (status) {
    case 0:
      return 'The upload was interrupted: check your connection and try again.';
    case 400:
    case 413:
      return 'The storage refused the file: its size differs from what was announced or it is too large.';
    case 401:
    case 403:
      return 'The upload link expired or was refused. Start the upload again.';
    default:
      return `The storage answered ${status}; the file was not stored. Try again.`;
  }
}

export function putFile(url: string, file: Blob, onProgress: (progress: Progress) => void, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('PUT', url);
    request.upload.addEventListener('progress', (event) => onProgress({ loaded: event.loaded, total: event.lengthComputable ? event.total : file.size }));
    request.addEventListener('load', () => {
      if (request.status >= 200 && request.status < 300) {
        onProgress({ loaded: file.size, total: file.size });
        resolve();
      } else {
        reject(new UploadError(uploadErrorMessage(request.status)));
      }
    });
    request.addEventListener('error', () => reject(new UploadError(uploadErrorMessage(0))));
    request.addEventListener('abort', () => reject(new UploadError('The upload was cancelled.')));
    signal?.addEventListener('abort', () => request.abort());
    request.send(file);
  });
}
