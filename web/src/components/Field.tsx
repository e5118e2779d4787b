import { useId, type ReactNode } from 'react';
import type { ShownError } from '../graphql/errors';

export interface ControlProps {
  id: string;
  'aria-invalid': boolean | undefined;
  'aria-describedby': string | undefined;
}

/**
 * A label, a control, its description and its error, wired together for assistive
 * technology (aria-invalid, aria-describedby).
 */
export function Field({
  label,
  description,
  error,
  required,
  children,
}: {
  label: string;
  description?: ReactNode;
  error?: string;
  required?: boolean;
  children: (control: ControlProps) => ReactNode;
}) {
  const id = useId();
  const descriptionId = description ? `${id}-description` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [descriptionId, errorId].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>
        {label}
        {required && <span className="required"> (required)</span>}
      </label>
      {children({ id, 'aria-invalid': error ? true : undefined, 'aria-describedby': describedBy })}
      {description && (
        <p className="field-description" id={descriptionId}>
          {description}
        </p>
      )}
      {error && (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      )}
    </div>
  );
}

/** The message of the first error about `field`, for <Field error>. */
export function errorFor(errors: ShownError[], field: string): string | undefined {
  return errors.find((error) => error.field === field)?.message;
}

/** A text input in a <Field>: the common case. */
export function TextField({
  label,
  value,
  onChange,
  errors,
  name,
  type = 'text',
  required,
  description,
  autoComplete,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  errors: ShownError[];
  name: string;
  type?: string;
  required?: boolean;
  description?: ReactNode;
  autoComplete?: string;
}) {
  return (
    <Field label={label} error={errorFor(errors, name)} required={required} description={description}>
      {(control) => (
        <input
          {...control}
          name={name}
          type={type}
          value={value}
          required={required}
          autoComplete={autoComplete}
          onChange={(event) => onChange(event.target.value)}
        />
      )}
    </Field>
  );
}
