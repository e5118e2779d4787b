import { Field } from '../components/Field';
import { fieldsFor, type FormValues, type ParameterSpec } from './form';

/**
 * The inputs generated from declarations: a checkbox for a BOOL (a switch too), a select for
 * choices, a number input for INT/FLOAT, text otherwise; defaults prefilled by the caller
 * (initialValues), required ones marked, `help` as the description.
 */
export function ParameterFields({
  specs,
  values,
  onChange,
  errors,
  labels = {},
}: {
  specs: ParameterSpec[];
  values: FormValues;
  onChange: (name: string, value: string | boolean) => void;
  errors: Record<string, string | undefined>;
  /** Friendlier labels than the parameter names, where the caller has them. */
  labels?: Record<string, string>;
}) {
  return (
    <div className="form-grid">
      {fieldsFor(specs).map((field) => (
        <Field key={field.name} label={labels[field.name] ?? field.name} required={field.required} description={field.help} error={errors[field.name]}>
          {(control) => {
            const value = values[field.name];
            switch (field.kind) {
              case 'checkbox':
                return <input {...control} type="checkbox" checked={value === true} onChange={(event) => onChange(field.name, event.target.checked)} />;
              case 'select':
                return (
                  <select {...control} value={String(value ?? '')} required={field.required} onChange={(event) => onChange(field.name, event.target.value)}>
                    {!field.required && <option value="">Trainer's default</option>}
                    {field.required && value === '' && <option value="">Choose…</option>}
                    {field.options!.map((option, index) => (
                      <option key={index} value={String(index)}>
                        {option}
                      </option>
                    ))}
                  </select>
                );
              default:
                return (
                  <input
                    {...control}
                    type={field.kind === 'text' ? 'text' : 'number'}
                    step={field.kind === 'integer' ? 1 : field.kind === 'number' ? 'any' : undefined}
                    inputMode={field.kind === 'integer' ? 'numeric' : field.kind === 'number' ? 'decimal' : undefined}
                    required={field.required}
                    value={String(value ?? '')}
                    onChange={(event) => onChange(field.name, event.target.value)}
                  />
                );
            }
          }}
        </Field>
      ))}
    </div>
  );
}
