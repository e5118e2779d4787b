import { Navigate } from 'react-router';
import { useQuery } from 'urql';
import { MyOrganizationsDocument, ORGANIZATION_LIST } from '../layout/ConsoleLayout';
import { Loading } from '../components/Status';

/** `/`: the first organization, or creating one when there is none yet. */
export function Home() {
  const [{ data }] = useQuery({ query: MyOrganizationsDocument, context: ORGANIZATION_LIST });
  if (!data) return <Loading what="your organizations" />;
  const first = data.myOrganizations.nodes[0];
  return <Navigate to={first ? `/o/${first.slug}` : '/orgs/new'} replace />;
}
