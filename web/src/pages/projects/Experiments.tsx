import { useState } from 'react';
import { Link } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../gql';
import { useCan, useOrg } from '../../layout/OrgLayout';
import { describeErrors, type ShownError } from '../../graphql/errors';
import { Field, TextField } from '../../components/Field';
import { FormErrors } from '../../components/FormErrors';
import { formatDate } from '../../format';

const ExperimentsDocument = graphql(`
  query Experiments($projectId: ID!, $search: String, $tag: String, $starred: Boolean) {
    experiments(projectId: $projectId, search: $search, tag: $tag, starred: $starred, first: 100) {
      nodes {
        id
        name
        description
        tags
        starred
        createdAt
      }
    }
  }
`);

const CreateExperimentDocument = graphql(`
  mutation CreateExperiment($input: CreateExperimentInput!) {
    createExperiment(input: $input) {
      id
    }
  }
`);

const StarDocument = graphql(`
  mutation StarExperiment($id: ID!) {
    starExperiment(id: $id) {
      id
      starred
    }
  }
`);

const UnstarDocument = graphql(`
  mutation UnstarExperiment($id: ID!) {
    unstarExperiment(id: $id) {
      id
      starred
    }
  }
`);

const EXPERIMENT_LIST = { additionalTypenames: ['Experiment'] };

/** Comma-separated tags as typed → the list the API takes. */
export function parseTags(text: string): string[] {
  return [
    ...new Set(
      text
        .split(',')
        .map((tag) => tag.trim())
        .filter(Boolean),
    ),
  ];
}

/** A project's experiments: search by words, a tag, or your stars. */
export function Experiments({ projectId }: { projectId: string }) {
  const org = useOrg();
  const canWrite = useCan('MEMBER');
  const [search, setSearch] = useState('');
  const [tag, setTag] = useState('');
  const [starredOnly, setStarredOnly] = useState(false);
  const [{ data, error }] = useQuery({
    query: ExperimentsDocument,
    variables: { projectId, search: search || null, tag: tag || null, starred: starredOnly || null },
    context: EXPERIMENT_LIST,
  });
  const [, star] = useMutation(StarDocument);
  const [, unstar] = useMutation(UnstarDocument);
  const experiments = data?.experiments.nodes ?? [];

  return (
    <section aria-labelledby="experiments-heading" className="card">
      <h2 id="experiments-heading">Experiments</h2>
      <div className="filters" role="search" aria-label="Filter experiments">
        <TextField label="Search experiments" name="search" type="search" value={search} onChange={setSearch} errors={[]} />
        <TextField label="Tag" name="tag" value={tag} onChange={setTag} errors={[]} />
        <Field label="Starred only">
          {(control) => <input {...control} type="checkbox" checked={starredOnly} onChange={(event) => setStarredOnly(event.target.checked)} />}
        </Field>
      </div>
      <FormErrors errors={describeErrors(error)} />
      {experiments.length === 0 ? (
        <p>No experiments{search || tag || starredOnly ? ' match' : ' yet'}.</p>
      ) : (
        <ul className="list">
          {experiments.map((experiment) => (
            <li key={experiment.id}>
              <button
                type="button"
                className="star"
                aria-pressed={experiment.starred}
                aria-label={`Star ${experiment.name}`}
                onClick={() => (experiment.starred ? unstar : star)({ id: experiment.id })}
              >
                {experiment.starred ? '★' : '☆'}
              </button>
              <Link className="list-title" to={`/o/${org.slug}/experiments/${experiment.id}`}>
                {experiment.name}
              </Link>
              {experiment.tags.map((name) => (
                <span key={name} className="tag">
                  {name}
                </span>
              ))}
              <span className="muted"> · {formatDate(experiment.createdAt)}</span>
              {experiment.description && <p className="muted">{experiment.description}</p>}
            </li>
          ))}
        </ul>
      )}
      {canWrite && <CreateExperiment projectId={projectId} />}
    </section>
  );
}

function CreateExperiment({ projectId }: { projectId: string }) {
  const [name, setName] = useState('');
  const [tags, setTags] = useState('');
  const [errors, setErrors] = useState<ShownError[]>([]);
  const [{ fetching }, create] = useMutation(CreateExperimentDocument);
  return (
    <form
      className="inline-form"
      aria-label="New experiment"
      onSubmit={async (event) => {
        event.preventDefault();
        const result = await create({ input: { projectId, name, tags: parseTags(tags) } }, EXPERIMENT_LIST);
        if (!result.data) return setErrors(describeErrors(result.error));
        setErrors([]);
        setName('');
        setTags('');
      }}
    >
      <h3>New experiment</h3>
      <TextField label="Experiment name" name="name" required value={name} onChange={setName} errors={errors} />
      <TextField label="Tags" name="tags" value={tags} onChange={setTags} errors={errors} description="Separated by commas." />
      <FormErrors errors={errors} fields={['name', 'tags']} />
      <button type="submit" disabled={fetching}>
        Create experiment
      </button>
    </form>
  );
}
