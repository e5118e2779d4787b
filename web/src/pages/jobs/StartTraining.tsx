import { useMemo, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../gql';
import { useCan, useOrg } from '../../layout/OrgLayout';
import { describeErrors, type ShownError } from '../../graphql/errors';
import { Field, TextField, errorFor } from '../../components/Field';
import { FormErrors } from '../../components/FormErrors';
import { Page } from '../../components/Page';
import { Loading } from '../../components/Status';
import { ParameterFields } from '../../hyperparameters/ParameterFields';
import { coerce, initialValues, type FormValues, type ParameterSpec } from '../../hyperparameters/form';
import { TrainersDocument, TRAINER_LIST } from '../trainers/Trainers';
import { QuotaSummary } from './QuotaSummary';

const TrainingChoicesDocument = graphql(`
  query TrainingChoices($projectId: ID!) {
    project(id: $projectId) {
      id
      title
      taskType
    }
    datasets(projectId: $projectId, first: 50) {
      nodes {
        id
        name
        snapshots(first: 10) {
          nodes {
            id
            version
            imageCount
          }
        }
      }
    }
    experiments(projectId: $projectId, first: 50) {
      nodes {
        id
        name
      }
    }
  }
`);

const StartTrainingJobDocument = graphql(`
  mutation StartTrainingJob($input: StartTrainingJobInput!) {
    startTrainingJob(input: $input) {
      id
    }
  }
`);

/** The job's own settings, generated like the hyperparameters; empty means the server's default. */
const CONFIG_SPECS: ParameterSpec[] = [
  { name: 'epochs', type: 'INT', help: 'Passes over the training images.' },
  { name: 'batchSize', type: 'INT' },
  { name: 'learningRate', type: 'FLOAT' },
  { name: 'imgsz', type: 'INT', help: 'Input image size in pixels.' },
  { name: 'device', type: 'STR', help: 'e.g. cpu or cuda:0.' },
];
const RESOURCE_SPECS: ParameterSpec[] = [
  { name: 'gpus', type: 'INT' },
  { name: 'cpus', type: 'FLOAT' },
  { name: 'memoryMb', type: 'INT' },
];
const LABELS: Record<string, string> = {
  epochs: 'Epochs',
  batchSize: 'Batch size',
  learningRate: 'Learning rate',
  imgsz: 'Image size',
  device: 'Device',
  gpus: 'GPUs',
  cpus: 'CPUs',
  memoryMb: 'Memory (MB)',
};

/** Errors the API named with a prefixed field (`hyperparameters.seed`), keyed by the rest. */
function fieldErrors(errors: ShownError[], prefix: string): Record<string, string> {
  return Object.fromEntries(
    errors.filter((error) => error.field?.startsWith(`${prefix}.`)).map((error) => [error.field!.slice(prefix.length + 1), error.message]),
  );
}

export default function StartTraining() {
  const { projectId = '' } = useParams();
  const org = useOrg();
  const navigate = useNavigate();
  const mayReadBilling = useCan('ADMIN');
  const [{ data: choices, error: choicesError }] = useQuery({ query: TrainingChoicesDocument, variables: { projectId } });
  const [{ data: trainerData, error: trainersError }] = useQuery({ query: TrainersDocument, variables: { orgId: org.id }, context: TRAINER_LIST });
  const [started, start] = useMutation(StartTrainingJobDocument);

  const versions = useMemo(
    () =>
      (trainerData?.trainers.nodes ?? []).flatMap((trainer) =>
        trainer.versions.filter((version) => version.status === 'READY').map((version) => ({ ...version, label: `${trainer.name} v${version.version}` })),
      ),
    [trainerData],
  );
  const snapshots = (choices?.datasets.nodes ?? []).flatMap((dataset) =>
    dataset.snapshots.nodes.map((snapshot) => ({ id: snapshot.id, label: `${dataset.name} v${snapshot.version} (${snapshot.imageCount} images)` })),
  );

  const [versionId, setVersionId] = useState('');
  const [snapshotId, setSnapshotId] = useState('');
  const [experimentId, setExperimentId] = useState('');
  const [modelName, setModelName] = useState('');
  const [config, setConfig] = useState<FormValues>(() => initialValues(CONFIG_SPECS));
  const [resources, setResources] = useState<FormValues>(() => initialValues(RESOURCE_SPECS));
  const [maxRuntime, setMaxRuntime] = useState('');
  const [hyperValues, setHyperValues] = useState<FormValues>({});
  const [errors, setErrors] = useState<ShownError[]>([]);
  // One key per intended job, sent again on a retry of the same submission (README: no job queued twice).
  const [idempotencyKey, setIdempotencyKey] = useState(() => crypto.randomUUID());

  const chosenVersion = versions.find((version) => version.id === (versionId || versions[0]?.id));
  const chosenSnapshot = snapshotId || snapshots[0]?.id || '';
  const hyperSpecs: ParameterSpec[] = chosenVersion?.hyperparameters ?? [];
  const currentHyperValues = { ...initialValues(hyperSpecs), ...hyperValues };

  if (!choices || !trainerData) {
    const loadErrors = [...describeErrors(choicesError), ...describeErrors(trainersError)];
    return loadErrors.length > 0 ? (
      <Page title="Start a training job">
        <FormErrors errors={loadErrors} />
      </Page>
    ) : (
      <Loading what="trainers and datasets" />
    );
  }

  const submit = async () => {
    const hyper = coerce(hyperSpecs, currentHyperValues);
    const configValue = coerce(CONFIG_SPECS, config);
    const resourceValue = coerce(RESOURCE_SPECS, resources);
    const runtime = coerce([{ name: 'maxRuntimeSeconds', type: 'INT' }], { maxRuntimeSeconds: maxRuntime });
    const local: ShownError[] = [
      ...(hyper.ok ? [] : Object.entries(hyper.errors).map(([name, message]) => ({ field: `hyperparameters.${name}`, message }))),
      ...(configValue.ok ? [] : Object.entries(configValue.errors).map(([name, message]) => ({ field: `config.${name}`, message }))),
      ...(resourceValue.ok ? [] : Object.entries(resourceValue.errors).map(([name, message]) => ({ field: `resources.${name}`, message }))),
      ...(runtime.ok ? [] : [{ field: 'maxRuntimeSeconds', message: runtime.errors.maxRuntimeSeconds! }]),
      ...(chosenVersion ? [] : [{ field: 'trainerVersionId', message: 'Choose a trainer version.' }]),
      ...(chosenSnapshot ? [] : [{ field: 'datasetSnapshotId', message: 'Choose a dataset snapshot.' }]),
    ];
    if (local.length > 0 || !hyper.ok || !configValue.ok || !resourceValue.ok || !runtime.ok) return setErrors(local);
    const result = await start(
      {
        input: {
          projectId,
          experimentId: experimentId || null,
          trainerVersionId: chosenVersion!.id,
          datasetSnapshotId: chosenSnapshot,
          modelName,
          config: configValue.value,
          resources: resourceValue.value,
          maxRuntimeSeconds: (runtime.value.maxRuntimeSeconds as number | undefined) ?? null,
          hyperparameters: hyper.value,
          idempotencyKey,
        },
      },
      { additionalTypenames: ['Job'] },
    );
    if (!result.data) return setErrors(describeErrors(result.error));
    setIdempotencyKey(crypto.randomUUID());
    navigate(`/o/${org.slug}/jobs/${result.data.startTrainingJob.id}`);
  };

  return (
    <Page title="Start a training job">
      <p>
        Project <Link to={`/o/${org.slug}/projects/${projectId}`}>{choices.project.title}</Link>
      </p>
      {versions.length === 0 && <p role="alert">No trainer version is ready in this organization yet: an admin registers one under Trainers.</p>}
      {snapshots.length === 0 && <p role="alert">No dataset snapshot yet: create one on a dataset's page.</p>}
      <form
        className="card"
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <Field label="Trainer version" required error={errorFor(errors, 'trainerVersionId')}>
          {(control) => (
            <select {...control} value={chosenVersion?.id ?? ''} onChange={(event) => setVersionId(event.target.value)}>
              {versions.map((version) => (
                <option key={version.id} value={version.id}>
                  {version.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Dataset snapshot" required error={errorFor(errors, 'datasetSnapshotId')}>
          {(control) => (
            <select {...control} value={chosenSnapshot} onChange={(event) => setSnapshotId(event.target.value)}>
              {snapshots.map((snapshot) => (
                <option key={snapshot.id} value={snapshot.id}>
                  {snapshot.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Experiment" error={errorFor(errors, 'experimentId')}>
          {(control) => (
            <select {...control} value={experimentId} onChange={(event) => setExperimentId(event.target.value)}>
              <option value="">None</option>
              {choices.experiments.nodes.map((experiment) => (
                <option key={experiment.id} value={experiment.id}>
                  {experiment.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <TextField label="Model name" name="modelName" required value={modelName} onChange={setModelName} errors={errors} />

        <fieldset>
          <legend>Training settings</legend>
          <p className="muted">Leave a setting empty for the platform's default.</p>
          <ParameterFields
            specs={CONFIG_SPECS}
            labels={LABELS}
            values={config}
            errors={fieldErrors(errors, 'config')}
            onChange={(name, value) => setConfig((previous) => ({ ...previous, [name]: value }))}
          />
        </fieldset>

        {hyperSpecs.length > 0 && (
          <fieldset>
            <legend>Trainer hyperparameters</legend>
            <ParameterFields
              specs={hyperSpecs}
              values={currentHyperValues}
              errors={fieldErrors(errors, 'hyperparameters')}
              onChange={(name, value) => setHyperValues((previous) => ({ ...previous, [name]: value }))}
            />
          </fieldset>
        )}

        <fieldset>
          <legend>Resources</legend>
          <ParameterFields
            specs={RESOURCE_SPECS}
            labels={LABELS}
            values={resources}
            errors={fieldErrors(errors, 'resources')}
            onChange={(name, value) => setResources((previous) => ({ ...previous, [name]: value }))}
          />
          <TextField label="Time limit (seconds)" name="maxRuntimeSeconds" type="number" value={maxRuntime} onChange={setMaxRuntime} errors={errors} />
        </fieldset>

        {mayReadBilling && <QuotaSummary orgId={org.id} />}
        <FormErrors
          errors={errors}
          fields={['trainerVersionId', 'datasetSnapshotId', 'experimentId', 'modelName', 'maxRuntimeSeconds'].concat(
            errors.filter((error) => /^(config|resources|hyperparameters)\./.test(error.field ?? '')).map((error) => error.field!),
          )}
        />
        <button type="submit" className="primary" disabled={started.fetching || versions.length === 0 || snapshots.length === 0}>
          Start training
        </button>
      </form>
    </Page>
  );
}
