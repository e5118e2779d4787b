import { ImageWithBoxes } from '../../components/ImageWithBoxes';

/** A prediction as trainers and deployments answer it (docs/trainer-contract.md). */
interface Prediction {
  class_id?: number;
  class_name?: string;
  score?: number;
  /** Detection: [x, y, width, height] in the image's pixels. */
  bbox?: [number, number, number, number];
}

export function asPredictions(value: unknown): Prediction[] {
  const list = Array.isArray(value)
    ? value
    : value && typeof value === 'object' && Array.isArray((value as { predictions?: unknown }).predictions)
      ? (value as { predictions: unknown[] }).predictions
      : [];
  return list.filter((entry): entry is Prediction => typeof entry === 'object' && entry !== null);
}

const labelOf = (prediction: Prediction) => prediction.class_name ?? (prediction.class_id !== undefined ? `class ${prediction.class_id}` : 'unknown');
const scoreOf = (prediction: Prediction) => (prediction.score === undefined ? '' : `${(prediction.score * 100).toFixed(1)} %`);

/**
 * An image's predictions: labels with scores, and for detection the boxes drawn over the image.
 */
export function Predictions({ fileName, predictions, imageUrl }: { fileName: string; predictions: unknown; imageUrl?: string | null }) {
  const list = asPredictions(predictions);
  const boxes = list.filter((prediction) => Array.isArray(prediction.bbox) && prediction.bbox.length === 4);
  return (
    <div className="predictions">
      <h3>{fileName}</h3>
      {imageUrl && (
        <ImageWithBoxes
          src={imageUrl}
          alt={boxes.length > 0 ? `${fileName}, with ${boxes.length} detected boxes` : fileName}
          boxes={boxes.map((prediction) => ({ label: `${labelOf(prediction)} ${scoreOf(prediction)}`, bbox: prediction.bbox! }))}
        />
      )}
      {list.length === 0 ? (
        <p>No predictions for this image.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Class</th>
              <th scope="col">Score</th>
              {boxes.length > 0 && <th scope="col">Box (x, y, width, height)</th>}
            </tr>
          </thead>
          <tbody>
            {list.map((prediction, index) => (
              <tr key={index}>
                <td>{labelOf(prediction)}</td>
                <td>{scoreOf(prediction)}</td>
                {boxes.length > 0 && <td>{prediction.bbox?.map((value) => Math.round(value)).join(', ') ?? '—'}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
