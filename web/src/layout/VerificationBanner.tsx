import { useMutation } from 'urql';
import { graphql } from '../gql';
import { describeErrors } from '../graphql/errors';
import { FormErrors } from '../components/FormErrors';
import { LiveStatus } from '../components/Status';

const ResendVerificationDocument = graphql(`
  mutation ResendVerification {
    resendVerification
  }
`);

export function VerificationBanner({ email }: { email: string }) {
  const [result, resend] = useMutation(ResendVerificationDocument);
  return (
    <section className="banner" aria-label="Email verification">
      <p>
        Your email address {email} is not verified yet: open the link we sent you.{' '}
        <button type="button" className="link-button" disabled={result.fetching} onClick={() => resend({})}>
          Resend the email
        </button>
      </p>
      <LiveStatus>{result.data?.resendVerification && 'A new verification email is on its way.'}</LiveStatus>
      <FormErrors errors={describeErrors(result.error)} />
    </section>
  );
}
