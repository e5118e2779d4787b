import { useState } from 'react';
import type { JobStatus } from '../../gql/graphql';
import { useLiveSubscription } from '../../graphql/useLiveSubscription';
import { Link, useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../gql';
import { useCan, useOrg } from '../../layout/OrgLayout';
import { describeErrors, type ShownError } from '../../graphql/errors';
import { TextField } from '../../components/Field';
import { FormErrors } from '../../components/FormErrors';
import { Page } from '../../components/Page';
import { Unloaded } from '../../components/Unloaded';
import { formatDate, humanize } from '../../format';
import { Experiments } from './Experiments';

const ProjectDocument = graphql(`
  query Project($id: ID!) {
    project(id: $id) {
      id
      title
      summary
      taskType
    }
    datasets(projectId: $id, first: 100) {
      nodes {
        id
        name
        status
        format
        lastImport {
          status
        }
        createdAt
      }
    }
    jobs(projectId: $id, first: 50) {
      nodes {
        id
        kind
        status
        modelName
        currentEpoch
        totalEpochs
        createdAt
      }
    }
  }
`);

const CreateDatasetDocument = graphql(`
  mutation CreateDataset($input: CreateDatasetInput!) {
    createDataset(input: $input) {
      id
    }
  }
`);

const OrgJobsDocument = graphql(`
  subscription OrgJobs($orgId: ID!) {
    orgJobs(orgId: $orgId) {
      jobId
      status
      currentEpoch
      totalEpochs
    }
  }
`);

const PROJECT_CONTENT = { additionalTypenames: ['Dataset', 'Job'] };

type JobProgress = { status: JobStatus; currentEpoch?: number | null; totalEpochs?: number | null };

export default function ProjectPage() {
  const { projectId = '' } = useParams();
  const org = useOrg();
  const canWrite = useCan('MEMBER');
  const [{ data, error }] = useQuery({ query: ProjectDocument, variables: { id: projectId }, context: PROJECT_CONTENT });
  // The jobs' states as they change, over what the list was loaded with.
  const [progress, setProgress] = useState<Record<string, JobProgress>>({});
  useLiveSubscription(
    OrgJobsDocument,
    org.id,
    () => ({ orgId: org.id }),
    ({ orgJobs: update }) => setProgress((known) => ({ ...known, [update.jobId]: update })),
  );
  if (!data) {
    return <Unloaded title="Project" what="the project" error={error} />;
  }
  const { project, datasets, jobs } = data;
  const base = `/o/${org.slug}`;
  return (
    <Page
      title={project.title}
      actions={
        canWrite && (
          <Link className="button primary" to={`${base}/projects/${project.id}/train`}>
            Start a training job
          </Link>
        )
      }
    >
      <p className="muted">
        {humanize(project.taskType)}
        {project.summary && ` · ${project.summary}`}
      </p>

      <section aria-labelledby="datasets-heading" className="card">
        <h2 id="datasets-heading">Datasets</h2>
        {datasets.nodes.length === 0 ? (
          <p>No datasets yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Format</th>
                <th scope="col">Last import</th>
              </tr>
            </thead>
            <tbody>
              {datasets.nodes.map((dataset) => (
                <tr key={dataset.id}>
                  <td>
                    <Link to={`${base}/datasets/${dataset.id}`}>{dataset.name}</Link>
                  </td>
                  <td>{humanize(dataset.status)}</td>
                  <td>{dataset.format ?? '—'}</td>
                  <td>{dataset.lastImport ? humanize(dataset.lastImport.status) : 'None yet'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {canWrite && <CreateDataset projectId={project.id} />}
      </section>

      <Experiments projectId={project.id} />

      <section aria-labelledby="jobs-heading" className="card">
        <h2 id="jobs-heading">Jobs</h2>
        {jobs.nodes.length === 0 ? (
          <p>No jobs yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Kind</th>
                <th scope="col">Status</th>
                <th scope="col">Epoch</th>
                <th scope="col">Started</th>
              </tr>
            </thead>
            <tbody>
              {jobs.nodes
                .map((stored) => ({ ...stored, ...progress[stored.id] }))
                .map((job) => (
                  <tr key={job.id}>
                    <td>
                      <Link to={`${base}/jobs/${job.id}`}>{job.modelName}</Link>
                    </td>
                    <td>{humanize(job.kind)}</td>
                    <td>{humanize(job.status)}</td>
                    <td>{job.totalEpochs ? `${job.currentEpoch ?? 0} / ${job.totalEpochs}` : '—'}</td>
                    <td>{formatDate(job.createdAt)}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        )}
      </section>
    </Page>
  );
}

function CreateDataset({ projectId }: { projectId: string }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [errors, setErrors] = useState<ShownError[]>([]);
  const [{ fetching }, create] = useMutation(CreateDatasetDocument);
  return (
    <form
      className="inline-form"
      aria-label="New dataset"
      onSubmit={async (event) => {
        event.preventDefault();
        const result = await create({ input: { projectId, name, description } }, PROJECT_CONTENT);
        if (!result.data) return setErrors(describeErrors(result.error));
        setErrors([]);
        setName('');
        setDescription('');
      }}
    >
      <h3>New dataset</h3>
      <TextField label="Dataset name" name="name" required value={name} onChange={setName} errors={errors} />
      <TextField label="Description" name="description" value={description} onChange={setDescription} errors={errors} />
      <FormErrors errors={errors} fields={['name', 'description']} />
      <button type="submit" disabled={fetching}>
        Create dataset
      </button>
    </form>
  );
}
