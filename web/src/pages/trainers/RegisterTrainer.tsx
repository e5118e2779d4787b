import { useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../../gql';
import type { ExportFormat, TaskType } from '../../gql/graphql';
import { describeErrors, type ShownError } from '../../graphql/errors';
import { Field, TextField, errorFor } from '../../components/Field';
import { FormErrors } from '../../components/FormErrors';
import { LiveStatus } from '../../components/Status';
import { CheckboxGroup } from '../../components/CheckboxGroup';
import { parseDeclarations } from '../../hyperparameters/declarations';
import { TASK_TYPES } from '../../taskTypes';
import { TRAINER_LIST } from './Trainers';

const RegisterTrainerImageDocument = graphql(`
  mutation RegisterTrainerImage($input: RegisterTrainerImageInput!) {
    registerTrainerImage(input: $input) {
      id
      version
      status
    }
  }
`);

const EXPORT_FORMATS: ExportFormat[] = ['ONNX', 'TORCHSCRIPT', 'TENSORRT', 'COREML', 'TFLITE', 'OPENVINO'];

const EXAMPLE = '[{"name": "seed", "type": "INT", "default": 7, "help": "random seed"}]';

export function RegisterTrainer({ orgId }: { orgId: string }) {
  const [name, setName] = useState('');
  const [image, setImage] = useState('');
  const [framework, setFramework] = useState('');
  const [taskTypes, setTaskTypes] = useState<TaskType[]>(['CLASSIFICATION']);
  const [exportFormats, setExportFormats] = useState<ExportFormat[]>([]);
  const [declarations, setDeclarations] = useState('');
  const [errors, setErrors] = useState<ShownError[]>([]);
  const [registered, register] = useMutation(RegisterTrainerImageDocument);

  return (
    <section className="card" aria-labelledby="register-heading">
      <h2 id="register-heading">Register a trainer image</h2>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          const parsed = parseDeclarations(declarations);
          if (!parsed.ok) return setErrors([{ field: 'hyperparameters', message: parsed.error }]);
          const result = await register(
            { input: { orgId, name, image, framework: framework || null, taskTypes, exportFormats, hyperparameters: parsed.value } },
            TRAINER_LIST,
          );
          setErrors(describeErrors(result.error));
        }}
      >
        <TextField
          label="Trainer name"
          name="name"
          required
          value={name}
          onChange={setName}
          errors={errors}
          description="A new name creates a trainer; a known one adds a version."
        />
        <TextField
          label="Image"
          name="image"
          required
          value={image}
          onChange={setImage}
          errors={errors}
          description="An image on the workers' Docker engine (my-trainer:1.0), or file:///path to a program in a folder the operator allows."
        />
        <TextField
          label="Framework"
          name="framework"
          value={framework}
          onChange={setFramework}
          errors={errors}
          description="ultralytics, timm, huggingface or custom (the default)."
        />
        <CheckboxGroup legend="Task types" options={TASK_TYPES} selected={taskTypes} onChange={setTaskTypes} error={errorFor(errors, 'taskTypes')} />
        <CheckboxGroup
          legend="Export formats"
          options={EXPORT_FORMATS}
          selected={exportFormats}
          onChange={setExportFormats}
          error={errorFor(errors, 'exportFormats')}
          labelOf={(format) => format}
        />
        <Field
          label="Hyperparameters (JSON)"
          error={errorFor(errors, 'hyperparameters')}
          description={
            <>
              A list of declarations with name, type (STR, INT, FLOAT, BOOL), and optionally default, required, help, choices, switch. For example:{' '}
              <code>{EXAMPLE}</code>
            </>
          }
        >
          {(control) => <textarea {...control} rows={6} value={declarations} onChange={(event) => setDeclarations(event.target.value)} spellCheck={false} />}
        </Field>
        <FormErrors errors={errors} fields={['name', 'image', 'framework', 'taskTypes', 'exportFormats', 'hyperparameters']} />
        <LiveStatus>
          {registered.data &&
            !registered.error &&
            `Registered version ${registered.data.registerTrainerImage.version} (${registered.data.registerTrainerImage.status.toLowerCase()}).`}
        </LiveStatus>
        <button type="submit" className="primary" disabled={registered.fetching}>
          Register trainer
        </button>
      </form>
    </section>
  );
}
