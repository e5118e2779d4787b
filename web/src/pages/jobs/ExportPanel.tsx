import { useState } from 'react';
import { Link } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../gql';
import type { CheckpointKind, ExportFormat } from '../../gql/graphql';
import { useOrg } from '../../layout/OrgLayout';
import { describeErrors } from '../../graphql/errors';
import { Field } from '../../components/Field';
import { FormErrors } from '../../components/FormErrors';
import { formatDate, humanize } from '../../format';

const ExportJobsDocument = graphql(`
  query ExportJobs($projectId: ID!) {
    jobs(projectId: $projectId, kind: EXPORT, first: 100) {
      nodes {
        id
        status
        sourceJobId
        exportFormat
        checkpoint
        createdAt
      }
    }
  }
`);

const StartExportJobDocument = graphql(`
  mutation StartExportJob($input: StartExportJobInput!) {
    startExportJob(input: $input) {
      id
    }
  }
`);

const JOB_LIST = { additionalTypenames: ['Job'] };

/** Exports of a finished training job's checkpoint to the formats its trainer produces; each export's page has the download. */
export function ExportPanel({
  projectId,
  trainingJobId,
  formats,
  checkpoints,
}: {
  projectId: string;
  trainingJobId: string;
  formats: ExportFormat[];
  checkpoints: CheckpointKind[];
}) {
  const org = useOrg();
  const [format, setFormat] = useState<ExportFormat>(formats[0]!);
  const [checkpoint, setCheckpoint] = useState<CheckpointKind>(checkpoints[0]!);
  const [{ data }] = useQuery({ query: ExportJobsDocument, variables: { projectId }, context: JOB_LIST });
  const [started, start] = useMutation(StartExportJobDocument);
  const exports = data?.jobs.nodes.filter((job) => job.sourceJobId === trainingJobId) ?? [];
  return (
    <section className="card" aria-labelledby="export-heading">
      <h2 id="export-heading">Exports</h2>
      {exports.length > 0 && (
        <ul className="list">
          {exports.map((job) => (
            <li key={job.id}>
              <Link to={`/o/${org.slug}/jobs/${job.id}`}>
                {job.exportFormat} of the {job.checkpoint?.toLowerCase()} checkpoint
              </Link>{' '}
              · {humanize(job.status)} · {formatDate(job.createdAt)}
            </li>
          ))}
        </ul>
      )}
      <form
        className="filters"
        onSubmit={(event) => {
          event.preventDefault();
          void start({ input: { jobId: trainingJobId, format, checkpoint, idempotencyKey: crypto.randomUUID() } }, JOB_LIST);
        }}
      >
        <Field label="Format">
          {(control) => (
            <select {...control} value={format} onChange={(event) => setFormat(event.target.value as ExportFormat)}>
              {formats.map((option) => (
                <option key={option}>{option}</option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Checkpoint">
          {(control) => (
            <select {...control} value={checkpoint} onChange={(event) => setCheckpoint(event.target.value as CheckpointKind)}>
              {checkpoints.map((option) => (
                <option key={option} value={option}>
                  {humanize(option)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <div className="field">
          <button type="submit" disabled={started.fetching}>
            Export the model
          </button>
        </div>
      </form>
      <FormErrors errors={describeErrors(started.error)} />
    </section>
  );
}
