import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../gql';
import type { TaskType } from '../../gql/graphql';
import { useCan, useOrg } from '../../layout/OrgLayout';
import { describeErrors, type ShownError } from '../../graphql/errors';
import { Field, TextField, errorFor } from '../../components/Field';
import { FormErrors } from '../../components/FormErrors';
import { Page } from '../../components/Page';
import { Loading } from '../../components/Status';
import { humanize } from '../../format';
import { TASK_TYPES } from '../../taskTypes';

const ProjectsDocument = graphql(`
  query Projects($orgId: ID!) {
    projects(orgId: $orgId, first: 100) {
      nodes {
        id
        title
        summary
        taskType
        createdAt
      }
    }
  }
`);

const CreateProjectDocument = graphql(`
  mutation CreateProject($input: CreateProjectInput!) {
    createProject(input: $input) {
      id
    }
  }
`);

const PROJECT_LIST = { additionalTypenames: ['Project'] };

/** The organization's home: its projects. */
export function Projects() {
  const org = useOrg();
  const canWrite = useCan('MEMBER');
  const [{ data, error }] = useQuery({ query: ProjectsDocument, variables: { orgId: org.id }, context: PROJECT_LIST });
  const projects = data?.projects.nodes;
  return (
    <Page title={`${org.name}: projects`}>
      <FormErrors errors={describeErrors(error)} />
      {!projects ? (
        <Loading what="projects" />
      ) : projects.length === 0 ? (
        <p>No projects yet.{canWrite && ' Create the first one below.'}</p>
      ) : (
        <ul className="cards">
          {projects.map((project) => (
            <li key={project.id} className="card">
              <h2>
                <Link to={`/o/${org.slug}/projects/${project.id}`}>{project.title}</Link>
              </h2>
              <p className="muted">{humanize(project.taskType)}</p>
              {project.summary && <p>{project.summary}</p>}
            </li>
          ))}
        </ul>
      )}
      {canWrite && <CreateProject orgId={org.id} orgSlug={org.slug} />}
    </Page>
  );
}

function CreateProject({ orgId, orgSlug }: { orgId: string; orgSlug: string }) {
  const navigate = useNavigate();
  const [title, setTitle] = useState('');
  const [summary, setSummary] = useState('');
  const [taskType, setTaskType] = useState<TaskType>('CLASSIFICATION');
  const [errors, setErrors] = useState<ShownError[]>([]);
  const [{ fetching }, create] = useMutation(CreateProjectDocument);
  return (
    <section className="card" aria-labelledby="new-project">
      <h2 id="new-project">New project</h2>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          const result = await create({ input: { orgId, title, summary, taskType } }, PROJECT_LIST);
          if (!result.data) return setErrors(describeErrors(result.error));
          navigate(`/o/${orgSlug}/projects/${result.data.createProject.id}`);
        }}
      >
        <TextField label="Title" name="title" required value={title} onChange={setTitle} errors={errors} />
        <TextField label="Summary" name="summary" value={summary} onChange={setSummary} errors={errors} />
        <Field label="Task type" error={errorFor(errors, 'taskType')}>
          {(control) => (
            <select {...control} value={taskType} onChange={(event) => setTaskType(event.target.value as TaskType)}>
              {TASK_TYPES.map((type) => (
                <option key={type} value={type}>
                  {humanize(type)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <FormErrors errors={errors} fields={['title', 'summary', 'taskType']} />
        <button type="submit" className="primary" disabled={fetching}>
          Create project
        </button>
      </form>
    </section>
  );
}
