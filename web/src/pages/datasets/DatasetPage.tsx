import { useCallback, useState } from 'react';
import { Link, useParams } from 'react-router';
import { useQuery } from 'urql';
import { graphql } from '../../gql';
import type { UploadStatus } from '../../gql/graphql';
import { useCan, useOrg } from '../../layout/OrgLayout';
import { useLiveSubscription } from '../../graphql/useLiveSubscription';
import { Page } from '../../components/Page';
import { Unloaded } from '../../components/Unloaded';
import { LiveStatus } from '../../components/Status';
import { formatDate, humanize } from '../../format';
import { DatasetUpload } from './DatasetUpload';
import { DatasetStatistics } from './DatasetStatistics';
import { Snapshots } from './Snapshots';
import { DatasetSamples } from './DatasetSamples';

const DatasetDocument = graphql(`
  query Dataset($id: ID!) {
    dataset(id: $id) {
      id
      projectId
      name
      description
      status
      format
      statistics
      taskTypes
      splitConfig {
        train
        val
        test
        seed
      }
      lastImport {
        uploadId
        status
        error
        at
      }
      importErrors(first: 100) {
        nodes {
          file
          reason
        }
      }
    }
  }
`);

const DatasetImportDocument = graphql(`
  subscription DatasetImport($datasetId: ID!) {
    datasetImport(datasetId: $datasetId) {
      uploadId
      status
    }
  }
`);

const IMPORT_STATUS_WORDS: Record<UploadStatus, string> = {
  AWAITING_UPLOAD: 'Waiting for the file',
  QUEUED: 'Queued for import',
  IMPORTING: 'Importing',
  SUCCEEDED: 'Import finished',
  FAILED: 'Import refused',
};

export default function DatasetPage() {
  const { datasetId = '' } = useParams();
  const org = useOrg();
  const canWrite = useCan('MEMBER');
  const [{ data, error }, reexecute] = useQuery({ query: DatasetDocument, variables: { id: datasetId } });
  const [liveStatus, setLiveStatus] = useState<UploadStatus | null>(null);
  const reload = useCallback(() => reexecute({ requestPolicy: 'network-only' }), [reexecute]);

  useLiveSubscription(
    DatasetImportDocument,
    datasetId,
    () => ({ datasetId }),
    (update) => {
      setLiveStatus(update.datasetImport.status);
      if (update.datasetImport.status === 'SUCCEEDED' || update.datasetImport.status === 'FAILED') reload();
    },
  );

  if (!data) return <Unloaded title="Dataset" what="the dataset" error={error} />;
  const dataset = data.dataset;
  const importStatus = liveStatus ?? dataset.lastImport?.status ?? null;

  return (
    <Page title={`Dataset ${dataset.name}`}>
      <p>
        <Link to={`/o/${org.slug}/projects/${dataset.projectId}`}>Back to the project</Link>
      </p>
      <section className="card" aria-labelledby="import-heading">
        <h2 id="import-heading">Content</h2>
        <p>
          {dataset.status === 'READY' ? `Ready (${dataset.format ?? 'unknown'} format)` : 'Empty: upload a zip to import images.'} · Task types:{' '}
          {dataset.taskTypes.map(humanize).join(', ')}
        </p>
        <LiveStatus>
          {importStatus && (
            <p className={importStatus === 'FAILED' ? 'field-error' : importStatus === 'SUCCEEDED' ? 'success' : undefined}>
              {IMPORT_STATUS_WORDS[importStatus]}
              {dataset.lastImport && !liveStatus && ` (${formatDate(dataset.lastImport.at)})`}.
            </p>
          )}
        </LiveStatus>
        {dataset.lastImport?.error && importStatus === 'FAILED' && <p>{dataset.lastImport.error}</p>}
        {canWrite && (
          <DatasetUpload
            datasetId={dataset.id}
            onQueued={() => {
              // The new import is read back as lastImport; the live steps that follow override it.
              setLiveStatus(null);
              reload();
            }}
          />
        )}
      </section>

      {dataset.importErrors.nodes.length > 0 && (
        <section className="card" aria-labelledby="import-errors-heading">
          <h2 id="import-errors-heading">Problems the last import found</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Problem</th>
              </tr>
            </thead>
            <tbody>
              {dataset.importErrors.nodes.map((problem, index) => (
                <tr key={index}>
                  <td>
                    <code>{problem.file}</code>
                  </td>
                  <td>{problem.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}

      {dataset.statistics != null && <DatasetStatistics datasetId={dataset.id} statistics={dataset.statistics} splitConfig={dataset.splitConfig} />}

      {dataset.status === 'READY' && <DatasetSamples datasetId={dataset.id} />}

      <Snapshots datasetId={dataset.id} ready={dataset.status === 'READY'} canWrite={canWrite} />
    </Page>
  );
}
