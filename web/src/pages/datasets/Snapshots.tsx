import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../gql';
import { describeErrors, type ShownError } from '../../graphql/errors';
import { TextField } from '../../components/Field';
import { FormErrors } from '../../components/FormErrors';
import { LiveStatus } from '../../components/Status';
import { formatBytes, formatDate } from '../../format';

const SnapshotsDocument = graphql(`
  query Snapshots($datasetId: ID!) {
    dataset(id: $datasetId) {
      id
      snapshots(first: 50) {
        nodes {
          id
          version
          note
          imageCount
          sizeBytes
          downloadUrl
          createdAt
        }
      }
    }
  }
`);

const CreateSnapshotDocument = graphql(`
  mutation CreateSnapshot($input: CreateDatasetSnapshotInput!) {
    createDatasetSnapshot(input: $input) {
      id
      version
    }
  }
`);

const SNAPSHOT_LIST = { additionalTypenames: ['Snapshot'] };

export function Snapshots({ datasetId, ready, canWrite }: { datasetId: string; ready: boolean; canWrite: boolean }) {
  const [{ data, error }] = useQuery({ query: SnapshotsDocument, variables: { datasetId }, context: SNAPSHOT_LIST });
  const [note, setNote] = useState('');
  const [errors, setErrors] = useState<ShownError[]>([]);
  const [created, create] = useMutation(CreateSnapshotDocument);
  const snapshots = data?.dataset.snapshots.nodes ?? [];
  return (
    <section className="card" aria-labelledby="snapshots-heading">
      <h2 id="snapshots-heading">Snapshots</h2>
      <FormErrors errors={describeErrors(error)} />
      {snapshots.length === 0 ? (
        <p>No snapshots yet. A snapshot freezes the dataset's content so training jobs can use it.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Images</th>
              <th scope="col">Note</th>
              <th scope="col">Created</th>
              <th scope="col">Download</th>
            </tr>
          </thead>
          <tbody>
            {snapshots.map((snapshot) => (
              <tr key={snapshot.id}>
                <td>v{snapshot.version}</td>
                <td>{snapshot.imageCount}</td>
                <td>{snapshot.note || '—'}</td>
                <td>{formatDate(snapshot.createdAt)}</td>
                <td>
                  <a href={snapshot.downloadUrl} download>
                    Download v{snapshot.version} ({formatBytes(snapshot.sizeBytes)})
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {canWrite && ready && (
        <form
          className="inline-form"
          aria-label="New snapshot"
          onSubmit={async (event) => {
            event.preventDefault();
            const result = await create({ input: { datasetId, note } }, SNAPSHOT_LIST);
            if (!result.data) return setErrors(describeErrors(result.error));
            setErrors([]);
            setNote('');
          }}
        >
          <TextField label="Snapshot note" name="note" value={note} onChange={setNote} errors={errors} />
          <FormErrors errors={errors} fields={['note']} />
          <LiveStatus>{created.data && `Snapshot v${created.data.createDatasetSnapshot.version} created.`}</LiveStatus>
          <button type="submit" className="primary" disabled={created.fetching}>
            Create snapshot
          </button>
        </form>
      )}
    </section>
  );
}
