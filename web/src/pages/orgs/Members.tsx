import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../gql';
import type { Role } from '../../gql/graphql';
import { useUser } from '../../auth/AuthProvider';
import { useCan, useOrg } from '../../layout/OrgLayout';
import { describeErrors, type ShownError } from '../../graphql/errors';
import { Field, TextField, errorFor } from '../../components/Field';
import { FormErrors } from '../../components/FormErrors';
import { Page } from '../../components/Page';
import { LiveStatus, Loading } from '../../components/Status';
import { ROLES, ROLE_NAMES } from '../../roles';
import { formatDate, humanize } from '../../format';
import { MEMBER_LIST, MemberActions } from './MemberActions';

const MembersDocument = graphql(`
  query Members($orgId: ID!) {
    members(orgId: $orgId, first: 100) {
      nodes {
        role
        joinedAt
        user {
          id
          displayName
          email
        }
      }
    }
  }
`);

const InvitationsDocument = graphql(`
  query Invitations($orgId: ID!) {
    invitations(orgId: $orgId, first: 100) {
      nodes {
        id
        email
        role
        status
        expiresAt
        lastSentAt
      }
    }
  }
`);

const InviteMemberDocument = graphql(`
  mutation InviteMember($input: InviteMemberInput!) {
    inviteMember(input: $input) {
      id
      email
    }
  }
`);

const ResendInvitationDocument = graphql(`
  mutation ResendInvitation($id: ID!) {
    resendInvitation(invitationId: $id) {
      id
      lastSentAt
    }
  }
`);

const RevokeInvitationDocument = graphql(`
  mutation RevokeInvitation($id: ID!) {
    revokeInvitation(invitationId: $id) {
      id
      status
    }
  }
`);

export default function Members() {
  const org = useOrg();
  const me = useUser();
  const isAdmin = useCan('ADMIN');
  const [{ data, error }] = useQuery({ query: MembersDocument, variables: { orgId: org.id }, context: MEMBER_LIST });
  return (
    <Page title="Members">
      <FormErrors errors={describeErrors(error)} />
      {!data ? (
        <Loading what="members" />
      ) : (
        <table>
          <caption className="visually-hidden">Members of {org.name}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Joined</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.members.nodes.map((member) => (
              <tr key={member.user.id}>
                <td>{member.user.displayName}</td>
                <td>{member.user.email}</td>
                <td>{ROLE_NAMES[member.role]}</td>
                <td>{formatDate(member.joinedAt)}</td>
                <td>
                  <MemberActions member={member} isSelf={member.user.id === me.id} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {isAdmin && <Invitations orgId={org.id} />}
    </Page>
  );
}

function Invitations({ orgId }: { orgId: string }) {
  const [{ data, error }] = useQuery({ query: InvitationsDocument, variables: { orgId }, context: MEMBER_LIST });
  const [resent, resend] = useMutation(ResendInvitationDocument);
  const [revoked, revoke] = useMutation(RevokeInvitationDocument);
  const pending = data?.invitations.nodes.filter((invitation) => invitation.status === 'PENDING') ?? [];
  return (
    <section className="card" aria-labelledby="invitations-heading">
      <h2 id="invitations-heading">Invitations</h2>
      <FormErrors errors={[...describeErrors(error), ...describeErrors(resent.error), ...describeErrors(revoked.error)]} />
      <LiveStatus>{resent.data && `The invitation was sent again to its address.`}</LiveStatus>
      {pending.length === 0 ? (
        <p>No pending invitations.</p>
      ) : (
        <ul className="list">
          {pending.map((invitation) => (
            <li key={invitation.id}>
              <span className="list-title">{invitation.email}</span> as {ROLE_NAMES[invitation.role]} · {humanize(invitation.status)}, sent{' '}
              {formatDate(invitation.lastSentAt)}, expires {formatDate(invitation.expiresAt)}{' '}
              <button type="button" onClick={() => resend({ id: invitation.id })}>
                Resend<span className="visually-hidden"> the invitation to {invitation.email}</span>
              </button>{' '}
              <button type="button" className="danger" onClick={() => revoke({ id: invitation.id }, MEMBER_LIST)}>
                Revoke<span className="visually-hidden"> the invitation to {invitation.email}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <InviteMember orgId={orgId} />
    </section>
  );
}

function InviteMember({ orgId }: { orgId: string }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('MEMBER');
  const [errors, setErrors] = useState<ShownError[]>([]);
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [{ fetching }, invite] = useMutation(InviteMemberDocument);
  return (
    <form
      className="inline-form"
      aria-label="Invite a member"
      onSubmit={async (event) => {
        event.preventDefault();
        const result = await invite({ input: { orgId, email, role } }, MEMBER_LIST);
        if (!result.data) return setErrors(describeErrors(result.error));
        setErrors([]);
        setSentTo(result.data.inviteMember.email);
        setEmail('');
      }}
    >
      <h3>Invite a member</h3>
      <TextField label="Email address to invite" name="email" type="email" required value={email} onChange={setEmail} errors={errors} />
      <Field label="Role" error={errorFor(errors, 'role')}>
        {(control) => (
          <select {...control} value={role} onChange={(event) => setRole(event.target.value as Role)}>
            {ROLES.filter((option) => option !== 'OWNER').map((option) => (
              <option key={option} value={option}>
                {ROLE_NAMES[option]}
              </option>
            ))}
          </select>
        )}
      </Field>
      <FormErrors errors={errors} fields={['email', 'role']} />
      <LiveStatus>{sentTo && `Invitation sent to ${sentTo}.`}</LiveStatus>
      <button type="submit" className="primary" disabled={fetching}>
        Send invitation
      </button>
    </form>
  );
}
