import { useState } from 'react';
import { Link } from 'react-router';
import { useMutation } from 'urql';
import { graphql } from '../../gql';
import { describeErrors } from '../../graphql/errors';
import { TextField } from '../../components/Field';
import { FormErrors } from '../../components/FormErrors';
import { LiveStatus } from '../../components/Status';
import { AuthCard } from './AuthCard';

const RequestPasswordResetDocument = graphql(`
  mutation RequestPasswordReset($email: String!) {
    requestPasswordReset(email: $email)
  }
`);

export default function ForgotPassword() {
  const [email, setEmail] = useState('');
  const [result, request] = useMutation(RequestPasswordResetDocument);
  const errors = describeErrors(result.error);
  return (
    <AuthCard title="Reset your password">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void request({ email });
        }}
      >
        <TextField label="Email" name="email" type="email" autoComplete="email" required value={email} onChange={setEmail} errors={errors} />
        <FormErrors errors={errors} fields={['email']} />
        <LiveStatus>{result.data && <p className="success">If an account uses this address, a link to choose a new password is on its way.</p>}</LiveStatus>
        <button type="submit" className="primary" disabled={result.fetching}>
          Email me a link
        </button>
      </form>
      <p>
        <Link to="/signin">Back to sign in</Link>
      </p>
    </AuthCard>
  );
}
