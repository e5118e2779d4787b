import { lazy, Suspense, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../gql';
import { useUser } from '../../auth/AuthProvider';
import { useCan, useOrg } from '../../layout/OrgLayout';
import { describeErrors } from '../../graphql/errors';
import { Field } from '../../components/Field';
import { FormErrors } from '../../components/FormErrors';
import { Page } from '../../components/Page';
import { Unloaded } from '../../components/Unloaded';
import { Loading } from '../../components/Status';
import { formatDate, formatMetrics, humanize } from '../../format';
import { parseTags } from '../projects/Experiments';

// react-markdown and its parser load only with this page.
const Markdown = lazy(() => import('./Markdown'));

const ExperimentDocument = graphql(`
  query Experiment($id: ID!) {
    experiment(id: $id) {
      id
      projectId
      name
      description
      tags
      starred
      runs(first: 100) {
        nodes {
          id
          modelName
          kind
          status
          latestMetrics
          createdAt
        }
      }
      notes {
        id
        body
        createdAt
        author {
          id
          displayName
        }
      }
    }
  }
`);

const AddNoteDocument = graphql(`
  mutation AddExperimentNote($experimentId: ID!, $body: String!) {
    addExperimentNote(experimentId: $experimentId, body: $body) {
      id
    }
  }
`);

const DeleteNoteDocument = graphql(`
  mutation DeleteExperimentNote($id: ID!) {
    deleteExperimentNote(noteId: $id)
  }
`);

const UpdateTagsDocument = graphql(`
  mutation UpdateExperimentTags($id: ID!, $tags: [String!]!) {
    updateExperiment(input: { id: $id, tags: $tags }) {
      id
      tags
    }
  }
`);

const NOTES = { additionalTypenames: ['ExperimentNote'] };

/** The metric names any of the runs reported, for the comparison. */
function metricNames(runs: { latestMetrics?: unknown }[]): string[] {
  const names = new Set<string>();
  for (const run of runs) {
    if (run.latestMetrics && typeof run.latestMetrics === 'object') Object.keys(run.latestMetrics).forEach((name) => names.add(name));
  }
  return [...names].sort();
}

export default function ExperimentPage() {
  const { experimentId = '' } = useParams();
  const org = useOrg();
  const me = useUser();
  const navigate = useNavigate();
  const canWrite = useCan('MEMBER');
  const [{ data, error }] = useQuery({ query: ExperimentDocument, variables: { id: experimentId }, context: NOTES });
  const [selected, setSelected] = useState<string[]>([]);
  const [body, setBody] = useState('');
  const [added, addNote] = useMutation(AddNoteDocument);
  const [deleted, deleteNote] = useMutation(DeleteNoteDocument);
  const [tagsUpdate, updateTags] = useMutation(UpdateTagsDocument);
  const [tagsText, setTagsText] = useState<string | null>(null);

  if (!data) return <Unloaded title="Experiment" what="the experiment" error={error} />;
  const experiment = data.experiment;
  const runs = experiment.runs.nodes;

  return (
    <Page title={`Experiment ${experiment.name}`}>
      <p>
        <Link to={`/o/${org.slug}/projects/${experiment.projectId}`}>Back to the project</Link>
        {experiment.tags.map((tag) => (
          <span key={tag} className="tag">
            {tag}
          </span>
        ))}
      </p>
      {experiment.description && <p>{experiment.description}</p>}
      {canWrite && (
        <form
          className="filters"
          aria-label="Tags"
          onSubmit={async (event) => {
            event.preventDefault();
            const result = await updateTags({ id: experiment.id, tags: parseTags(tagsText ?? experiment.tags.join(', ')) });
            if (result.data) setTagsText(null);
          }}
        >
          <Field label="Tags" description="Separated by commas.">
            {(control) => <input {...control} value={tagsText ?? experiment.tags.join(', ')} onChange={(event) => setTagsText(event.target.value)} />}
          </Field>
          <div className="field">
            <button type="submit" disabled={tagsUpdate.fetching}>
              Save tags
            </button>
          </div>
          <FormErrors errors={describeErrors(tagsUpdate.error)} />
        </form>
      )}

      <section className="card" aria-labelledby="runs-heading">
        <h2 id="runs-heading">Runs</h2>
        {runs.length === 0 ? (
          <p>No runs yet: choose this experiment when starting a training job.</p>
        ) : (
          <form
            onSubmit={(event) => {
              event.preventDefault();
              const params = new URLSearchParams({ jobs: selected.join(','), metrics: metricNames(runs.filter((run) => selected.includes(run.id))).join(',') });
              navigate(`/o/${org.slug}/projects/${experiment.projectId}/compare?${params}`);
            }}
          >
            <table>
              <thead>
                <tr>
                  <th scope="col">Compare</th>
                  <th scope="col">Run</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Status</th>
                  <th scope="col">Latest metrics</th>
                  <th scope="col">Started</th>
                </tr>
              </thead>
              <tbody>
                {runs.map((run) => (
                  <tr key={run.id}>
                    <td>
                      {run.kind === 'TRAINING' && (
                        <input
                          type="checkbox"
                          aria-label={`Compare ${run.modelName} of ${formatDate(run.createdAt)}`}
                          checked={selected.includes(run.id)}
                          onChange={(event) => setSelected(event.target.checked ? [...selected, run.id] : selected.filter((id) => id !== run.id))}
                        />
                      )}
                    </td>
                    <td>
                      <Link to={`/o/${org.slug}/jobs/${run.id}`}>{run.modelName}</Link>
                    </td>
                    <td>{humanize(run.kind)}</td>
                    <td>{humanize(run.status)}</td>
                    <td>{formatMetrics(run.latestMetrics)}</td>
                    <td>{formatDate(run.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <button type="submit" disabled={selected.length < 2}>
              Compare the selected runs
            </button>
          </form>
        )}
      </section>

      <section className="card" aria-labelledby="notes-heading">
        <h2 id="notes-heading">Notes</h2>
        <FormErrors errors={describeErrors(deleted.error)} />
        {experiment.notes.length === 0 && <p>No notes yet.</p>}
        <Suspense fallback={<Loading what="notes" />}>
          {experiment.notes.map((note) => (
            <article key={note.id} className="note" aria-label={`Note by ${note.author?.displayName ?? 'a former member'}`}>
              <p className="muted">
                {note.author?.displayName ?? 'A former member'}, {formatDate(note.createdAt)}
                {note.author?.id === me.id && (
                  <>
                    {' '}
                    <button type="button" className="link-button" onClick={() => deleteNote({ id: note.id }, NOTES)}>
                      Delete this note
                    </button>
                  </>
                )}
              </p>
              <Markdown source={note.body} />
            </article>
          ))}
        </Suspense>
        {canWrite && (
          <form
            className="inline-form"
            onSubmit={async (event) => {
              event.preventDefault();
              const result = await addNote({ experimentId: experiment.id, body }, NOTES);
              if (result.data) setBody('');
            }}
          >
            <Field label="New note" description="Markdown: **bold**, lists, links, `code`.">
              {(control) => <textarea {...control} value={body} required onChange={(event) => setBody(event.target.value)} />}
            </Field>
            <FormErrors errors={describeErrors(added.error)} />
            <button type="submit" className="primary" disabled={added.fetching}>
              Add note
            </button>
          </form>
        )}
      </section>
    </Page>
  );
}
