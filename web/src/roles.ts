import type { Role } from './gql/graphql';

const RANK: Record<Role, number> = { VIEWER: 0, MEMBER: 1, ADMIN: 2, OWNER: 3 };

/** Whether `role` is `least` or above (viewer < member < admin < owner). */
export function atLeast(role: Role | null | undefined, least: Role): boolean {
  return role != null && RANK[role] >= RANK[least];
}

export const ROLE_NAMES: Record<Role, string> = { VIEWER: 'Viewer', MEMBER: 'Member', ADMIN: 'Admin', OWNER: 'Owner' };
export const ROLES: Role[] = ['VIEWER', 'MEMBER', 'ADMIN', 'OWNER'];
