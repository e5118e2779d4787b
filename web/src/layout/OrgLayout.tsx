import { createContext, useContext } from 'react';
import { NavLink, Outlet, useParams } from 'react-router';
import { useQuery } from 'urql';
import { graphql } from '../gql';
import type { OrganizationQuery, Role } from '../gql/graphql';
import { atLeast } from '../roles';
import { describeErrors } from '../graphql/errors';
import { FormErrors } from '../components/FormErrors';
import { Loading } from '../components/Status';

const OrganizationDocument = graphql(`
  query Organization($slug: String!) {
    organization(slug: $slug) {
      id
      name
      slug
      viewerRole
    }
  }
`);

export type CurrentOrg = OrganizationQuery['organization'];

const OrgContext = createContext<CurrentOrg | null>(null);

export function useOrg(): CurrentOrg {
  const org = useContext(OrgContext);
  if (!org) throw new Error('useOrg outside <OrgLayout>');
  return org;
}

/** Whether the signed-in user's role in the current organization is `least` or above. */
export function useCan(least: Role): boolean {
  return atLeast(useOrg().viewerRole, least);
}

/**
 * The organization's sections. Each entry names the least role that may open it, so later
 * sections (marketplace, billing, deployments) are one line each.
 */
const SECTIONS: { to: string; label: string; least: Role }[] = [
  { to: '', label: 'Projects', least: 'VIEWER' },
  { to: 'members', label: 'Members', least: 'VIEWER' },
  { to: 'tokens', label: 'API tokens', least: 'VIEWER' },
  { to: 'audit', label: 'Audit log', least: 'ADMIN' },
  { to: 'trainers', label: 'Trainers', least: 'VIEWER' },
];

export function OrgLayout() {
  const { orgSlug = '' } = useParams();
  const [{ data, fetching, error }] = useQuery({ query: OrganizationDocument, variables: { slug: orgSlug } });
  if (fetching && !data) return <Loading what="the organization" />;
  if (!data) {
    return (
      <main id="main" className="page">
        <h1>Organization not available</h1>
        <FormErrors errors={describeErrors(error)} />
      </main>
    );
  }
  const org = data.organization;
  return (
    <OrgContext.Provider value={org}>
      <div className="org-shell">
        <nav aria-label={`${org.name} sections`} className="sidenav">
          <p className="sidenav-org">{org.name}</p>
          <ul>
            {SECTIONS.filter((section) => atLeast(org.viewerRole, section.least)).map((section) => (
              <li key={section.to}>
                <NavLink to={`/o/${org.slug}${section.to ? `/${section.to}` : ''}`} end={section.to === ''}>
                  {section.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <Outlet />
      </div>
    </OrgContext.Provider>
  );
}
