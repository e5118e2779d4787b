import { useState } from 'react';
import { useNavigate } from 'react-router';
import { useMutation } from 'urql';
import { graphql } from '../../gql';
import { useUser } from '../../auth/AuthProvider';
import { endSession } from '../../auth/session';
import { describeErrors, type ShownError } from '../../graphql/errors';
import { TextField } from '../../components/Field';
import { FormErrors } from '../../components/FormErrors';
import { Page } from '../../components/Page';
import { NewPasswordFields, passwordMismatch } from './NewPasswordFields';

const ChangePasswordDocument = graphql(`
  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {
    changePassword(currentPassword: $currentPassword, newPassword: $newPassword)
  }
`);

export default function Account() {
  const user = useUser();
  const navigate = useNavigate();
  const [current, setCurrent] = useState('');
  const [password, setPassword] = useState('');
  const [confirmation, setConfirmation] = useState('');
  const [errors, setErrors] = useState<ShownError[]>([]);
  const [result, change] = useMutation(ChangePasswordDocument);
  return (
    <Page title="Your account">
      <p>
        {user.displayName} · {user.email}
      </p>
      <section className="card narrow" aria-labelledby="password-heading">
        <h2 id="password-heading">Change your password</h2>
        <p className="muted">Changing it signs out every session, this one included.</p>
        <form
          onSubmit={async (event) => {
            event.preventDefault();
            const mismatch = passwordMismatch(password, confirmation);
            if (mismatch) return setErrors([mismatch]);
            const answer = await change({ currentPassword: current, newPassword: password });
            if (!answer.data) return setErrors(describeErrors(answer.error));
            // The server ended every session: drop the cookie too and sign in again.
            await endSession().catch(() => undefined);
            navigate('/signin');
          }}
        >
          <TextField
            label="Current password"
            name="currentPassword"
            type="password"
            autoComplete="current-password"
            required
            value={current}
            onChange={setCurrent}
            errors={errors}
          />
          <NewPasswordFields password={password} confirmation={confirmation} onPassword={setPassword} onConfirmation={setConfirmation} errors={errors} />
          <FormErrors errors={errors} fields={['currentPassword', 'newPassword', 'confirmation']} />
          <button type="submit" className="primary" disabled={result.fetching}>
            Change password
          </button>
        </form>
      </section>
    </Page>
  );
}
