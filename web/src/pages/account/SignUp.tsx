import { useState } from 'react';
import { Link, Navigate, useNavigate, useSearchParams } from 'react-router';
import { useMutation } from 'urql';
import { graphql } from '../../gql';
import { useAuth } from '../../auth/AuthProvider';
import { describeErrors, type ShownError } from '../../graphql/errors';
import { TextField } from '../../components/Field';
import { FormErrors } from '../../components/FormErrors';
import { AuthCard, safeNext } from './AuthCard';

const SignupDocument = graphql(`
  mutation Signup($input: SignupInput!) {
    signup(input: $input) {
      ...SessionFields
    }
  }
`);

/** Sign-up; through an invitation (`?invitation=`) it also joins the inviting organization. */
export function SignUp() {
  const { state, signedIn } = useAuth();
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'));
  const invitationToken = params.get('invitation');
  const navigate = useNavigate();
  const [displayName, setDisplayName] = useState('');
  const [email, setEmail] = useState(params.get('email') ?? '');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<ShownError[]>([]);
  const [{ fetching }, signup] = useMutation(SignupDocument);

  if (state.status === 'signed-in') return <Navigate to={next} replace />;

  return (
    <AuthCard title="Create your Keynet account">
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          const result = await signup({ input: { email, password, displayName, invitationToken } });
          if (!result.data) return setErrors(describeErrors(result.error));
          try {
            await signedIn(result.data.signup);
            // The invitation was accepted by signing up: go to the organization list instead of back to it.
            navigate(invitationToken ? '/' : next);
          } catch (error) {
            setErrors(describeErrors(error as Error));
          }
        }}
      >
        <TextField label="Your name" name="displayName" autoComplete="name" required value={displayName} onChange={setDisplayName} errors={errors} />
        <TextField label="Email" name="email" type="email" autoComplete="email" required value={email} onChange={setEmail} errors={errors} />
        <TextField
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          value={password}
          onChange={setPassword}
          errors={errors}
          description="At least 10 characters."
        />
        <FormErrors errors={errors} fields={['displayName', 'email', 'password']} />
        <button type="submit" className="primary" disabled={fetching}>
          Create account
        </button>
      </form>
      <p>
        Already have an account? <Link to={`/signin?next=${encodeURIComponent(next)}`}>Sign in</Link>
      </p>
    </AuthCard>
  );
}
