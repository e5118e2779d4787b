import type { CombinedError } from 'urql';
import { describeErrors } from '../graphql/errors';
import { FormErrors } from './FormErrors';
import { Page } from './Page';
import { Loading } from './Status';

/** What a page shows until its query answers: the error in words under the page's title, or that it loads. */
export function Unloaded({ title, what, error }: { title: string; what: string; error?: CombinedError }) {
  return error ? (
    <Page title={title}>
      <FormErrors errors={describeErrors(error)} />
    </Page>
  ) : (
    <Loading what={what} />
  );
}
