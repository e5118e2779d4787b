import { useState } from 'react';
import { Link, Outlet, useNavigate, useParams } from 'react-router';
import { useQuery } from 'urql';
import { useAuth, useUser } from '../auth/AuthProvider';
import { graphql } from '../gql';
import { VerificationBanner } from './VerificationBanner';

/** Creating, joining or leaving an organization refreshes every list of them. */
export const ORGANIZATION_LIST = { additionalTypenames: ['Organization'] };

export const MyOrganizationsDocument = graphql(`
  query MyOrganizations {
    myOrganizations(first: 100) {
      nodes {
        id
        name
        slug
        viewerRole
      }
    }
  }
`);

/** The header (organization switcher, account) around every signed-in page. */
export function ConsoleLayout() {
  const user = useUser();
  const { signOut } = useAuth();
  const navigate = useNavigate();
  const { orgSlug } = useParams();
  const [{ data }] = useQuery({ query: MyOrganizationsDocument, context: ORGANIZATION_LIST });
  const [signingOut, setSigningOut] = useState(false);
  const organizations = data?.myOrganizations.nodes ?? [];

  return (
    <>
      <header className="topbar">
        <Link to="/" className="brand">
          Keynet
        </Link>
        <div className="org-switcher">
          <label htmlFor="org-switcher">Organization</label>
          <select id="org-switcher" value={orgSlug ?? ''} onChange={(event) => event.target.value && navigate(`/o/${event.target.value}`)}>
            {!orgSlug && <option value="">Choose…</option>}
            {organizations.map((org) => (
              <option key={org.id} value={org.slug}>
                {org.name}
              </option>
            ))}
          </select>
          <Link to="/orgs/new">New organization</Link>
        </div>
        <div className="account-menu">
          <Link to="/account">{user.displayName}</Link>
          <button
            type="button"
            disabled={signingOut}
            onClick={async () => {
              setSigningOut(true);
              await signOut().finally(() => setSigningOut(false));
              navigate('/signin');
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      {!user.emailVerified && <VerificationBanner email={user.email} />}
      <Outlet />
    </>
  );
}
