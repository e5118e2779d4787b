import { useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../../gql';
import type { DatasetSplit } from '../../gql/graphql';
import { describeErrors } from '../../graphql/errors';
import { Field } from '../../components/Field';
import { FormErrors } from '../../components/FormErrors';
import { ImageWithBoxes } from '../../components/ImageWithBoxes';
import { humanize } from '../../format';

const DatasetSamplesDocument = graphql(`
  query DatasetSamples($id: ID!, $split: DatasetSplit, $first: Int!, $offset: Int!) {
    dataset(id: $id) {
      id
      samples(split: $split, first: $first, offset: $offset) {
        total
        nodes {
          imageId
          fileName
          width
          height
          split
          url
          labels {
            className
            bbox
          }
        }
      }
    }
  }
`);

const PAGE = 24;
const SPLITS: DatasetSplit[] = ['TRAIN', 'VAL', 'TEST'];

/** A page of the dataset's images with their labels, boxes drawn for detection. */
export function DatasetSamples({ datasetId }: { datasetId: string }) {
  const [split, setSplit] = useState<DatasetSplit | ''>('');
  const [offset, setOffset] = useState(0);
  const [{ data, error }] = useQuery({
    query: DatasetSamplesDocument,
    variables: { id: datasetId, split: split || null, first: PAGE, offset },
    // A later import changes the images: show the cached page, then the current one.
    requestPolicy: 'cache-and-network',
  });
  const samples = data?.dataset.samples;
  return (
    <section className="card" aria-labelledby="samples-heading">
      <h2 id="samples-heading">Images</h2>
      <div className="filters">
        <Field label="Split">
          {(control) => (
            <select
              {...control}
              value={split}
              onChange={(event) => {
                setSplit(event.target.value as DatasetSplit | '');
                setOffset(0);
              }}
            >
              <option value="">All</option>
              {SPLITS.map((option) => (
                <option key={option} value={option}>
                  {humanize(option)}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <FormErrors errors={describeErrors(error)} />
      {samples && (
        <>
          <p className="muted">{samples.total === 0 ? 'No images.' : `Images ${offset + 1}–${offset + samples.nodes.length} of ${samples.total}.`}</p>
          <ul className="sample-grid">
            {samples.nodes.map((sample) => {
              const classes = [...new Set(sample.labels.map((label) => label.className))];
              return (
                <li key={sample.imageId}>
                  <ImageWithBoxes
                    src={sample.url}
                    alt={`${sample.fileName}: ${classes.join(', ') || 'no label'}`}
                    width={sample.width}
                    height={sample.height}
                    boxes={sample.labels.filter((label) => label.bbox).map((label) => ({ label: label.className, bbox: label.bbox! }))}
                  />
                  <p className="sample-caption">
                    {classes.join(', ') || 'No label'}
                    {sample.split && <span className="muted"> · {humanize(sample.split)}</span>}
                  </p>
                </li>
              );
            })}
          </ul>
          <div className="row-actions">
            <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              Previous images
            </button>
            <button type="button" disabled={offset + PAGE >= samples.total} onClick={() => setOffset(offset + PAGE)}>
              Next images
            </button>
          </div>
        </>
      )}
    </section>
  );
}
