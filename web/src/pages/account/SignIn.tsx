import { useState } from 'react';
import { Link, Navigate, useNavigate, useSearchParams } from 'react-router';
import { useMutation } from 'urql';
import { graphql } from '../../gql';
import { useAuth } from '../../auth/AuthProvider';
import { describeErrors, type ShownError } from '../../graphql/errors';
import { TextField } from '../../components/Field';
import { FormErrors } from '../../components/FormErrors';
import { AuthCard, safeNext } from './AuthCard';

const LoginDocument = graphql(`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      ...SessionFields
    }
  }
`);

export function SignIn() {
  const { state, signedIn } = useAuth();
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'));
  const navigate = useNavigate();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<ShownError[]>([]);
  const [{ fetching }, login] = useMutation(LoginDocument);

  if (state.status === 'signed-in') return <Navigate to={next} replace />;

  return (
    <AuthCard title="Sign in to Keynet">
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          const result = await login({ input: { email, password } });
          if (!result.data) return setErrors(describeErrors(result.error));
          try {
            await signedIn(result.data.login);
            navigate(next);
          } catch (error) {
            setErrors(describeErrors(error as Error));
          }
        }}
      >
        <TextField label="Email" name="email" type="email" autoComplete="email" required value={email} onChange={setEmail} errors={errors} />
        <TextField
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={setPassword}
          errors={errors}
        />
        <FormErrors errors={errors} fields={['email', 'password']} />
        <button type="submit" className="primary" disabled={fetching}>
          Sign in
        </button>
      </form>
      <p>
        New to Keynet? <Link to={`/signup?next=${encodeURIComponent(next)}`}>Create an account</Link>
      </p>
      <p>
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
    </AuthCard>
  );
}
