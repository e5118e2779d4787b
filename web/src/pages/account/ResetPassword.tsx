import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useMutation } from 'urql';
import { graphql } from '../../gql';
import { describeErrors, type ShownError } from '../../graphql/errors';
import { FormErrors } from '../../components/FormErrors';
import { LiveStatus } from '../../components/Status';
import { AuthCard } from './AuthCard';
import { NewPasswordFields, passwordMismatch } from './NewPasswordFields';

const ResetPasswordDocument = graphql(`
  mutation ResetPassword($token: String!, $newPassword: String!) {
    resetPassword(token: $token, newPassword: $newPassword)
  }
`);

/** The reset email's link: nothing changes until the new password is submitted. */
export default function ResetPassword() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const [password, setPassword] = useState('');
  const [confirmation, setConfirmation] = useState('');
  const [errors, setErrors] = useState<ShownError[]>([]);
  const [result, reset] = useMutation(ResetPasswordDocument);
  return (
    <AuthCard title="Choose a new password">
      {result.data ? (
        <LiveStatus>
          <p className="success">Your password is changed and every session was signed out.</p>
          <Link to="/signin">Sign in with the new password</Link>
        </LiveStatus>
      ) : (
        <form
          onSubmit={async (event) => {
            event.preventDefault();
            const mismatch = passwordMismatch(password, confirmation);
            if (mismatch) return setErrors([mismatch]);
            const answer = await reset({ token, newPassword: password });
            setErrors(describeErrors(answer.error));
          }}
        >
          {!token && <p role="alert">This link has no token: open the link from the email again.</p>}
          <NewPasswordFields password={password} confirmation={confirmation} onPassword={setPassword} onConfirmation={setConfirmation} errors={errors} />
          <FormErrors errors={errors} fields={['newPassword', 'confirmation']} />
          <button type="submit" className="primary" disabled={!token || result.fetching}>
            Set the new password
          </button>
        </form>
      )}
      {!result.data && (
        <p>
          <Link to="/forgot-password">Ask for a new link</Link>
        </p>
      )}
    </AuthCard>
  );
}
