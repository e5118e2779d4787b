import type { ParamType } from '../gql/graphql';

/** A declared parameter, as `TrainerVersion.hyperparameters` answers it. */
export interface ParameterSpec {
  name: string;
  type: ParamType;
  default?: unknown;
  required?: boolean;
  help?: string | null;
  choices?: unknown[];
  switch?: boolean;
}

export type FieldKind = 'checkbox' | 'select' | 'integer' | 'number' | 'text';

export interface FormField {
  name: string;
  kind: FieldKind;
  required: boolean;
  help?: string;
  /** For `select`: each choice's label; the value sent is the choice at the same index. */
  options?: string[];
}

/** What the inputs hold: text for text-like inputs and selects (a choice's index), a boolean for checkboxes. */
export type FormValues = Record<string, string | boolean>;

export type Coerced = { ok: true; value: Record<string, unknown> } | { ok: false; errors: Record<string, string> };

function kindOf(spec: ParameterSpec): FieldKind {
  if (spec.type === 'BOOL') return 'checkbox';
  if (spec.choices && spec.choices.length > 0) return 'select';
  if (spec.type === 'INT') return 'integer';
  if (spec.type === 'FLOAT') return 'number';
  return 'text';
}

/** The inputs a form shows for a list of declarations. */
export function fieldsFor(specs: ParameterSpec[]): FormField[] {
  return specs.map((spec) => ({
    name: spec.name,
    kind: kindOf(spec),
    required: spec.required ?? false,
    help: spec.help ?? undefined,
    options: spec.choices && spec.choices.length > 0 ? spec.choices.map((choice) => String(choice)) : undefined,
  }));
}

/** The inputs' starting values: each default prefilled, in the form an input holds. */
export function initialValues(specs: ParameterSpec[]): FormValues {
  const values: FormValues = {};
  for (const spec of specs) {
    const kind = kindOf(spec);
    if (kind === 'checkbox') {
      values[spec.name] = spec.default === true;
    } else if (kind === 'select') {
      const index = spec.default === undefined ? -1 : spec.choices!.findIndex((choice) => choice === spec.default);
      values[spec.name] = index >= 0 ? String(index) : '';
    } else {
      values[spec.name] = spec.default === undefined || spec.default === null ? '' : String(spec.default);
    }
  }
  return values;
}

const INTEGER = /^[+-]?\d+$/;

/**
 * The inputs' values as the JSON the API expects: numbers as numbers, booleans as booleans,
 * a choice as the declared value itself. An empty optional input is left out, so the
 * trainer's default applies. Every problem is reported, keyed by the parameter's name.
 */
export function coerce(specs: ParameterSpec[], values: FormValues): Coerced {
  const value: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const spec of specs) {
    const raw = values[spec.name];
    const kind = kindOf(spec);
    if (kind === 'checkbox') {
      value[spec.name] = raw === true;
      continue;
    }
    const text = typeof raw === 'string' ? raw.trim() : '';
    if (text === '') {
      if (spec.required) errors[spec.name] = `${spec.name} is required.`;
      continue;
    }
    switch (kind) {
      case 'select': {
        const choices = spec.choices ?? [];
        const index = Number(text);
        if (Number.isInteger(index) && index >= 0 && index < choices.length) value[spec.name] = choices[index];
        else errors[spec.name] = `Choose one of: ${choices.map(String).join(', ')}.`;
        break;
      }
      case 'integer':
        if (INTEGER.test(text) && Number.isSafeInteger(Number(text))) value[spec.name] = Number(text);
        else errors[spec.name] = `${spec.name} must be a whole number.`;
        break;
      case 'number': {
        const number = Number(text);
        if (Number.isFinite(number)) value[spec.name] = number;
        else errors[spec.name] = `${spec.name} must be a number.`;
        break;
      }
      default:
        // Text is sent as typed: surrounding spaces may matter to the trainer.
        value[spec.name] = raw;
    }
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, value };
}
