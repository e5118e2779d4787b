import { Link, useSearchParams } from 'react-router';
import { useMutation } from 'urql';
import { graphql } from '../../gql';
import { useAuth } from '../../auth/AuthProvider';
import { describeErrors } from '../../graphql/errors';
import { FormErrors } from '../../components/FormErrors';
import { LiveStatus } from '../../components/Status';
import { AuthCard } from './AuthCard';

const VerifyEmailDocument = graphql(`
  mutation VerifyEmail($token: String!) {
    verifyEmail(token: $token) {
      id
      email
      emailVerified
    }
  }
`);

/**
 * The link of the verification email. Opening it changes nothing (mail scanners open links
 * too): the person confirms with the button.
 */
export default function VerifyEmail() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const { state, reloadUser } = useAuth();
  const [result, verify] = useMutation(VerifyEmailDocument);
  const verified = result.data?.verifyEmail;

  return (
    <AuthCard title="Verify your email address">
      {verified ? (
        <>
          <LiveStatus>
            <p className="success">Your email address {verified.email} is verified.</p>
          </LiveStatus>
          <p>
            <Link to={state.status === 'signed-in' ? '/' : '/signin'}>{state.status === 'signed-in' ? 'Go to the console' : 'Sign in'}</Link>
          </p>
        </>
      ) : (
        <>
          <p>Confirm that this email address is yours.</p>
          <button
            type="button"
            className="primary"
            disabled={!token || result.fetching}
            onClick={async () => {
              const answer = await verify({ token });
              if (answer.data && state.status === 'signed-in') await reloadUser();
            }}
          >
            Confirm my email address
          </button>
          {!token && <p role="alert">This link has no token: open the link from the email again.</p>}
          <FormErrors errors={describeErrors(result.error)} />
        </>
      )}
    </AuthCard>
  );
}
