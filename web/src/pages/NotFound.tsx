import { Link } from 'react-router';
import { Page } from '../components/Page';

export function NotFound() {
  return (
    <Page title="Page not found">
      <p>
        There is nothing at this address. <Link to="/">Go to your organizations</Link>
      </p>
    </Page>
  );
}
