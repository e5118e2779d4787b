import { useState } from 'react';
import { Link } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../gql';
import type { CheckpointKind, JobStatus } from '../../gql/graphql';
import { useOrg } from '../../layout/OrgLayout';
import { describeErrors, type ShownError } from '../../graphql/errors';
import { useLiveSubscription } from '../../graphql/useLiveSubscription';
import { FormErrors } from '../../components/FormErrors';
import { LiveStatus } from '../../components/Status';
import { FilePicker } from '../../upload/FilePicker';
import { UploadProgress } from '../../upload/UploadProgress';
import { putFile, UploadError, type Progress } from '../../upload/putFile';
import { humanize } from '../../format';
import { Predictions } from './Predictions';
import { isFinal } from './jobStatus';

const CreateInferenceUploadDocument = graphql(`
  mutation CreateInferenceUpload($projectId: ID!, $filename: String!, $sizeBytes: Int!) {
    createInferenceUpload(projectId: $projectId, filename: $filename, sizeBytes: $sizeBytes) {
      uploadId
      uploadUrl
    }
  }
`);

const StartInferenceJobDocument = graphql(`
  mutation StartInferenceJob($input: StartInferenceJobInput!) {
    startInferenceJob(input: $input) {
      id
      status
    }
  }
`);

const InferenceStatusDocument = graphql(`
  subscription InferenceStatus($jobId: ID!) {
    jobUpdated(jobId: $jobId) {
      jobId
      status
      errorMessage
    }
  }
`);

const InferenceResultsDocument = graphql(`
  query InferenceResults($id: ID!) {
    job(id: $id) {
      id
      status
      errorMessage
      inferenceResults(first: 10) {
        nodes {
          fileName
          predictions
          imageUrl
        }
      }
    }
  }
`);

/** Runs the trained model on one image and shows what it predicts, drawn over the image. */
export function InferencePanel({ projectId, trainingJobId, checkpoint }: { projectId: string; trainingJobId: string; checkpoint: CheckpointKind }) {
  const org = useOrg();
  const [, createUpload] = useMutation(CreateInferenceUploadDocument);
  const [, startJob] = useMutation(StartInferenceJobDocument);
  const [upload, setUpload] = useState<{ name: string; progress: Progress } | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const [status, setStatus] = useState<JobStatus | null>(null);
  const [errors, setErrors] = useState<ShownError[]>([]);
  const done = isFinal(status);
  const [{ data: results }] = useQuery({
    query: InferenceResultsDocument,
    variables: { id: jobId ?? '' },
    pause: !jobId || !done,
    requestPolicy: 'network-only',
  });

  useLiveSubscription(
    InferenceStatusDocument,
    jobId,
    () => ({ jobId: jobId! }),
    ({ jobUpdated }) => setStatus(jobUpdated.status),
  );

  const run = async (file: File) => {
    setErrors([]);
    setJobId(null);
    setStatus(null);
    setUpload({ name: file.name, progress: { loaded: 0, total: file.size } });
    try {
      const created = await createUpload({ projectId, filename: file.name, sizeBytes: file.size });
      if (!created.data) return setErrors(describeErrors(created.error));
      const { uploadId, uploadUrl } = created.data.createInferenceUpload;
      await putFile(uploadUrl, file, (progress) => setUpload({ name: file.name, progress }));
      const started = await startJob(
        { input: { jobId: trainingJobId, checkpoint, imageUploadId: uploadId, idempotencyKey: crypto.randomUUID() } },
        { additionalTypenames: ['Job'] },
      );
      if (!started.data) return setErrors(describeErrors(started.error));
      setJobId(started.data.startInferenceJob.id);
      setStatus(started.data.startInferenceJob.status);
    } catch (error) {
      setErrors([{ message: error instanceof UploadError ? error.message : 'The upload failed. Try again.' }]);
    } finally {
      setUpload(null);
    }
  };

  const result = results?.job.inferenceResults.nodes[0];
  return (
    <section className="card" aria-labelledby="inference-heading">
      <h2 id="inference-heading">Try the model</h2>
      <p className="muted">Runs the {checkpoint.toLowerCase()} checkpoint on an image you choose.</p>
      <FilePicker label="Image to predict on" accept="image/*" disabled={upload !== null || (jobId !== null && !done)} onFile={run} />
      {upload && <UploadProgress name={upload.name} progress={upload.progress} />}
      <FormErrors errors={errors} />
      <LiveStatus>
        {jobId && status && (
          <p>
            <Link to={`/o/${org.slug}/jobs/${jobId}`}>Inference job</Link>: {humanize(status)}
            {status === 'FAILED' && results?.job.errorMessage && ` (${results.job.errorMessage})`}
          </p>
        )}
      </LiveStatus>
      {result && <Predictions fileName={result.fileName} predictions={result.predictions} imageUrl={result.imageUrl} />}
    </section>
  );
}
