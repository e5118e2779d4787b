import { useNavigate } from 'react-router';
import { useMutation } from 'urql';
import { graphql } from '../../gql';
import { ORGANIZATION_LIST } from '../../layout/ConsoleLayout';
import type { Role } from '../../gql/graphql';
import { useCan, useOrg } from '../../layout/OrgLayout';
import { describeErrors } from '../../graphql/errors';
import { FormErrors } from '../../components/FormErrors';
import { ROLES, ROLE_NAMES } from '../../roles';

const ChangeRoleDocument = graphql(`
  mutation ChangeMemberRole($orgId: ID!, $userId: ID!, $role: Role!) {
    changeMemberRole(orgId: $orgId, userId: $userId, role: $role) {
      role
      user {
        id
      }
    }
  }
`);

const RemoveMemberDocument = graphql(`
  mutation RemoveMember($orgId: ID!, $userId: ID!) {
    removeMember(orgId: $orgId, userId: $userId)
  }
`);

const TransferOwnershipDocument = graphql(`
  mutation TransferOwnership($orgId: ID!, $userId: ID!) {
    transferOwnership(orgId: $orgId, userId: $userId)
  }
`);

const LeaveDocument = graphql(`
  mutation LeaveOrganization($orgId: ID!) {
    leaveOrganization(orgId: $orgId)
  }
`);

/** Mutations of members and invitations refresh the lists that show them. */
export const MEMBER_LIST = { additionalTypenames: ['Member', 'Invitation'] };

interface MemberRow {
  role: Role;
  user: { id: string; displayName: string };
}

/**
 * What the viewer may do to one member: admins change roles and remove, the owner hands
 * over ownership, and anyone but the owner may leave (the owner hands ownership over first).
 */
export function MemberActions({ member, isSelf }: { member: MemberRow; isSelf: boolean }) {
  const org = useOrg();
  const navigate = useNavigate();
  const isAdmin = useCan('ADMIN');
  const isOwner = useCan('OWNER');
  const [changed, changeRole] = useMutation(ChangeRoleDocument);
  const [removed, remove] = useMutation(RemoveMemberDocument);
  const [transferred, transfer] = useMutation(TransferOwnershipDocument);
  const [left, leave] = useMutation(LeaveDocument);
  const name = member.user.displayName;
  const ids = { orgId: org.id, userId: member.user.id };
  const errors = [changed.error, removed.error, transferred.error, left.error].flatMap((error) => describeErrors(error));
  // Reloads the organization (the viewer's own role may have changed) and its lists.
  const reload = () => navigate(0);

  return (
    <div className="row-actions">
      {isAdmin && !isSelf && member.role !== 'OWNER' && (
        <>
          <label className="visually-hidden" htmlFor={`role-${member.user.id}`}>
            Role of {name}
          </label>
          <select
            id={`role-${member.user.id}`}
            value={member.role}
            disabled={changed.fetching}
            onChange={(event) => changeRole({ ...ids, role: event.target.value as Role }, MEMBER_LIST)}
          >
            {ROLES.filter((role) => role !== 'OWNER').map((role) => (
              <option key={role} value={role}>
                {ROLE_NAMES[role]}
              </option>
            ))}
          </select>
          <button type="button" className="danger" onClick={() => window.confirm(`Remove ${name} from ${org.name}?`) && remove(ids, MEMBER_LIST)}>
            Remove {name}
          </button>
        </>
      )}
      {isOwner && !isSelf && (
        <button
          type="button"
          onClick={async () => {
            if (!window.confirm(`Make ${name} the owner of ${org.name}? You become an admin.`)) return;
            const result = await transfer(ids, MEMBER_LIST);
            if (result.data) reload();
          }}
        >
          Make {name} the owner
        </button>
      )}
      {isSelf && member.role !== 'OWNER' && (
        <button
          type="button"
          className="danger"
          onClick={async () => {
            if (!window.confirm(`Leave ${org.name}? You lose access to its projects.`)) return;
            const result = await leave({ orgId: org.id }, ORGANIZATION_LIST);
            if (result.data) navigate('/');
          }}
        >
          Leave {org.name}
        </button>
      )}
      <FormErrors errors={errors} />
    </div>
  );
}
