import { useCallback, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../gql';
import type { JobStatus } from '../../gql/graphql';
import { useCan, useOrg } from '../../layout/OrgLayout';
import { describeErrors } from '../../graphql/errors';
import { useLiveSubscription } from '../../graphql/useLiveSubscription';
import { FormErrors } from '../../components/FormErrors';
import { Page } from '../../components/Page';
import { Unloaded } from '../../components/Unloaded';
import { LiveStatus } from '../../components/Status';
import { formatBytes, formatDate, humanize } from '../../format';
import { JobCharts } from './JobCharts';
import { JobLogs } from './JobLogs';
import { InferencePanel } from './InferencePanel';
import { Predictions } from './Predictions';
import { isFinal } from './jobStatus';
import { ExportPanel } from './ExportPanel';

const JobDocument = graphql(`
  query Job($id: ID!) {
    job(id: $id) {
      id
      kind
      status
      modelName
      projectId
      experimentId
      currentEpoch
      totalEpochs
      bestEpoch
      bestMetric
      bestMetricValue
      errorType
      errorMessage
      createdAt
      startedAt
      finishedAt
      retryOfId
      hyperparameters
      config {
        epochs
        batchSize
        learningRate
        imgsz
        device
      }
      trainerVersion {
        id
        version
        image
        exportFormats
      }
      checkpoints {
        type
        epoch
        sizeBytes
        downloadUrl
        createdAt
      }
      artifact {
        format
        sizeBytes
        downloadUrl
      }
      inferenceResults(first: 50) {
        nodes {
          fileName
          predictions
          imageUrl
        }
      }
    }
  }
`);

const JobUpdatedDocument = graphql(`
  subscription JobUpdated($jobId: ID!) {
    jobUpdated(jobId: $jobId) {
      jobId
      status
      currentEpoch
      totalEpochs
      errorMessage
    }
  }
`);

const CancelJobDocument = graphql(`
  mutation CancelJob($id: ID!) {
    cancelJob(id: $id) {
      id
      status
    }
  }
`);

const RetryJobDocument = graphql(`
  mutation RetryJob($id: ID!) {
    retryJob(id: $id) {
      id
    }
  }
`);

export default function JobPage() {
  const { jobId = '' } = useParams();
  const org = useOrg();
  const navigate = useNavigate();
  const canRun = useCan('MEMBER');
  const [{ data, error }, reexecute] = useQuery({ query: JobDocument, variables: { id: jobId } });
  const [live, setLive] = useState<{ status: JobStatus; currentEpoch?: number | null; totalEpochs?: number | null; errorMessage?: string | null } | null>(null);
  const [cancelled, cancel] = useMutation(CancelJobDocument);
  const [retried, retry] = useMutation(RetryJobDocument);
  const reload = useCallback(() => reexecute({ requestPolicy: 'network-only' }), [reexecute]);

  useLiveSubscription(
    JobUpdatedDocument,
    jobId,
    () => ({ jobId }),
    ({ jobUpdated }) => {
      setLive(jobUpdated);
      if (isFinal(jobUpdated.status)) reload();
    },
  );

  if (!data) return <Unloaded title="Job" what="the job" error={error} />;
  const job = data.job;
  const status = live?.status ?? job.status;
  const epoch = live?.currentEpoch ?? job.currentEpoch;
  const total = live?.totalEpochs ?? job.totalEpochs;
  const best = job.checkpoints.find((checkpoint) => checkpoint.type === 'BEST') ?? job.checkpoints[0];

  return (
    <Page title={`${humanize(job.kind)} job ${job.modelName}`}>
      <p>
        <Link to={`/o/${org.slug}/projects/${job.projectId}`}>Back to the project</Link>
        {job.retryOfId && (
          <>
            {' · '}
            <Link to={`/o/${org.slug}/jobs/${job.retryOfId}`}>The job this retries</Link>
          </>
        )}
      </p>
      <section className="card" aria-labelledby="status-heading">
        <h2 id="status-heading">Status</h2>
        <LiveStatus>
          <p className={`job-status status-${status.toLowerCase()}`}>
            {humanize(status)}
            {total ? ` · epoch ${epoch ?? 0} of ${total}` : ''}
          </p>
        </LiveStatus>
        {status === 'FAILED' && (
          <p className="field-error">
            {job.errorType && `${job.errorType}: `}
            {live?.errorMessage ?? job.errorMessage ?? 'The job failed.'}
          </p>
        )}
        <dl className="facts">
          <dt>Trainer</dt>
          <dd>
            v{job.trainerVersion.version} <code>{job.trainerVersion.image}</code>
          </dd>
          <dt>Settings</dt>
          <dd>
            {job.config.epochs} epochs, batch {job.config.batchSize}, learning rate {job.config.learningRate}, image size {job.config.imgsz},{' '}
            {job.config.device}
          </dd>
          <dt>Hyperparameters</dt>
          <dd>
            <code>{JSON.stringify(job.hyperparameters)}</code>
          </dd>
          {job.bestMetric && (
            <>
              <dt>Best</dt>
              <dd>
                {job.bestMetric} {job.bestMetricValue} at epoch {job.bestEpoch}
              </dd>
            </>
          )}
          <dt>Created</dt>
          <dd>{formatDate(job.createdAt)}</dd>
          <dt>Finished</dt>
          <dd>{formatDate(job.finishedAt)}</dd>
        </dl>
        {canRun && (
          <div className="row-actions">
            {!isFinal(status) && (
              <button type="button" className="danger" disabled={cancelled.fetching} onClick={() => cancel({ id: job.id })}>
                Cancel job
              </button>
            )}
            {(status === 'FAILED' || status === 'CANCELLED') && (
              <button
                type="button"
                disabled={retried.fetching}
                onClick={async () => {
                  const result = await retry({ id: job.id }, { additionalTypenames: ['Job'] });
                  if (result.data) navigate(`/o/${org.slug}/jobs/${result.data.retryJob.id}`);
                }}
              >
                Retry job
              </button>
            )}
          </div>
        )}
        <FormErrors errors={[...describeErrors(cancelled.error), ...describeErrors(retried.error)]} />
      </section>

      {(job.kind === 'TRAINING' || job.kind === 'VALIDATION') && <JobCharts jobId={job.id} onCheckpoint={reload} />}

      {job.checkpoints.length > 0 && (
        <section className="card" aria-labelledby="checkpoints-heading">
          <h2 id="checkpoints-heading">Checkpoints</h2>
          <ul className="list">
            {job.checkpoints.map((checkpoint) => (
              <li key={checkpoint.type}>
                <a href={checkpoint.downloadUrl} download>
                  Download the {checkpoint.type.toLowerCase()} checkpoint
                </a>{' '}
                <span className="muted">
                  (epoch {checkpoint.epoch ?? '—'}, {formatBytes(checkpoint.sizeBytes)}, {formatDate(checkpoint.createdAt)})
                </span>
              </li>
            ))}
          </ul>
        </section>
      )}

      {job.artifact && (
        <section className="card" aria-labelledby="artifact-heading">
          <h2 id="artifact-heading">Exported model</h2>
          <a href={job.artifact.downloadUrl} download>
            Download the {job.artifact.format ?? ''} model ({formatBytes(job.artifact.sizeBytes)})
          </a>
        </section>
      )}

      {job.kind === 'INFERENCE' && job.inferenceResults.nodes.length > 0 && (
        <section className="card" aria-labelledby="predictions-heading">
          <h2 id="predictions-heading">Predictions</h2>
          {job.inferenceResults.nodes.map((result) => (
            <Predictions key={result.fileName} fileName={result.fileName} predictions={result.predictions} imageUrl={result.imageUrl} />
          ))}
        </section>
      )}

      {job.kind === 'TRAINING' && status === 'SUCCEEDED' && canRun && best && (
        <InferencePanel projectId={job.projectId} trainingJobId={job.id} checkpoint={best.type} />
      )}

      {job.kind === 'TRAINING' && status === 'SUCCEEDED' && canRun && best && job.trainerVersion.exportFormats.length > 0 && (
        <ExportPanel
          projectId={job.projectId}
          trainingJobId={job.id}
          formats={job.trainerVersion.exportFormats}
          checkpoints={job.checkpoints.map((checkpoint) => checkpoint.type)}
        />
      )}

      <JobLogs jobId={job.id} />
    </Page>
  );
}
