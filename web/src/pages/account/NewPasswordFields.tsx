import { TextField } from '../../components/Field';
import type { ShownError } from '../../graphql/errors';

/** The mismatch of a new password and its confirmation, as an error on the confirmation. */
export function passwordMismatch(password: string, confirmation: string): ShownError | null {
  return password === confirmation ? null : { field: 'confirmation', message: 'The two passwords differ.' };
}

/** A new password typed twice (reset and change share it). */
export function NewPasswordFields({
  password,
  confirmation,
  onPassword,
  onConfirmation,
  errors,
}: {
  password: string;
  confirmation: string;
  onPassword: (value: string) => void;
  onConfirmation: (value: string) => void;
  errors: ShownError[];
}) {
  return (
    <>
      <TextField
        label="New password"
        name="newPassword"
        type="password"
        autoComplete="new-password"
        required
        value={password}
        onChange={onPassword}
        errors={errors}
        description="At least 10 characters."
      />
      <TextField
        label="New password again"
        name="confirmation"
        type="password"
        autoComplete="new-password"
        required
        value={confirmation}
        onChange={onConfirmation}
        errors={errors}
      />
    </>
  );
}
