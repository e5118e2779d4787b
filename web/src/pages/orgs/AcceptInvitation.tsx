import { Link, useNavigate, useSearchParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../gql';
import { ORGANIZATION_LIST } from '../../layout/ConsoleLayout';
import { useAuth } from '../../auth/AuthProvider';
import { describeErrors } from '../../graphql/errors';
import { FormErrors } from '../../components/FormErrors';
import { Loading } from '../../components/Status';
import { ROLE_NAMES } from '../../roles';
import { formatDate } from '../../format';
import { AuthCard } from '../account/AuthCard';

const InvitationDocument = graphql(`
  query InvitationPreview($token: String!) {
    invitation(token: $token) {
      email
      role
      expiresAt
      organization {
        name
        slug
      }
    }
  }
`);

const AcceptInvitationDocument = graphql(`
  mutation AcceptInvitation($token: String!) {
    acceptInvitation(token: $token) {
      id
      slug
    }
  }
`);

/**
 * The invitation email's link. Signed out, it offers to sign in or sign up and come back;
 * signed in, the person accepts with a button (opening the link changes nothing).
 */
export default function AcceptInvitation() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const { state } = useAuth();
  const navigate = useNavigate();
  const [{ data, error }] = useQuery({ query: InvitationDocument, variables: { token }, pause: !token });
  const [accepted, accept] = useMutation(AcceptInvitationDocument);
  const here = `/invitations/accept?token=${encodeURIComponent(token)}`;
  const invitation = data?.invitation;

  return (
    <AuthCard title="Join an organization">
      {!token ? (
        <p role="alert">This link has no invitation token: open the link from the email again.</p>
      ) : !invitation ? (
        error ? (
          <FormErrors errors={describeErrors(error)} />
        ) : (
          <Loading what="the invitation" />
        )
      ) : (
        <>
          <p>
            You are invited to join <strong>{invitation.organization.name}</strong> as {ROLE_NAMES[invitation.role]}. The invitation is for {invitation.email}{' '}
            and expires {formatDate(invitation.expiresAt)}.
          </p>
          {state.status === 'signed-in' ? (
            <>
              {state.user.email.toLowerCase() !== invitation.email.toLowerCase() && (
                <p role="alert">
                  You are signed in as {state.user.email}: sign out and sign in as {invitation.email} to accept.
                </p>
              )}
              <button
                type="button"
                className="primary"
                disabled={accepted.fetching}
                onClick={async () => {
                  const result = await accept({ token }, ORGANIZATION_LIST);
                  if (result.data) navigate(`/o/${result.data.acceptInvitation.slug}`);
                }}
              >
                Accept and join {invitation.organization.name}
              </button>
              <FormErrors errors={describeErrors(accepted.error)} />
            </>
          ) : state.status === 'signed-out' ? (
            <ul className="choices">
              <li>
                <Link to={`/signin?next=${encodeURIComponent(here)}`}>Sign in to accept</Link>
              </li>
              <li>
                <Link to={`/signup?invitation=${encodeURIComponent(token)}&email=${encodeURIComponent(invitation.email)}`}>Create an account to accept</Link>
              </li>
            </ul>
          ) : (
            <Loading what="your session" />
          )}
        </>
      )}
    </AuthCard>
  );
}
