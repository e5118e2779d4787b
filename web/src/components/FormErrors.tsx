import type { ShownError } from '../graphql/errors';

/**
 * The errors of a form that no input of it shows: the rest are shown next to their input by
 * <Field>. role="alert" makes screen readers announce them as they appear.
 */
export function FormErrors({ errors, fields = [] }: { errors: ShownError[]; fields?: string[] }) {
  const general = errors.filter((error) => !error.field || !fields.includes(error.field));
  if (general.length === 0) return null;
  return (
    <div role="alert" className="form-errors">
      {general.map((error, index) => (
        <p key={index}>{error.message}</p>
      ))}
    </div>
  );
}
