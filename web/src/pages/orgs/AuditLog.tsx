import { useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../../gql';
import type { AuditLogQuery } from '../../gql/graphql';
import { useOrg } from '../../layout/OrgLayout';
import { describeErrors } from '../../graphql/errors';
import { useLiveSubscription } from '../../graphql/useLiveSubscription';
import { TextField } from '../../components/Field';
import { FormErrors } from '../../components/FormErrors';
import { Page } from '../../components/Page';
import { Loading } from '../../components/Status';
import { formatDate } from '../../format';

const AuditLogDocument = graphql(`
  query AuditLog($orgId: ID!, $action: String) {
    auditLog(orgId: $orgId, action: $action, first: 100) {
      nodes {
        ...AuditEntryFields
      }
    }
  }
  fragment AuditEntryFields on AuditEntry {
    id
    action
    targetType
    targetId
    metadata
    clientAddress
    createdAt
    actor {
      id
      displayName
      email
    }
  }
`);

const AuditLogAddedDocument = graphql(`
  subscription AuditLogAdded($orgId: ID!) {
    auditLogAdded(orgId: $orgId) {
      ...AuditEntryFields
    }
  }
`);

type Entry = AuditLogQuery['auditLog']['nodes'][number];

/** Newest first; entries committed while the page is open appear on top. */
export default function AuditLog() {
  const org = useOrg();
  const [action, setAction] = useState('');
  const [{ data, error }] = useQuery({ query: AuditLogDocument, variables: { orgId: org.id, action: action.trim() || null } });
  const [added, setAdded] = useState<Entry[]>([]);

  useLiveSubscription(
    AuditLogAddedDocument,
    org.id,
    () => ({ orgId: org.id }),
    ({ auditLogAdded }) => setAdded((entries) => [auditLogAdded, ...entries]),
  );

  const stored = data?.auditLog.nodes ?? [];
  const seen = new Set(stored.map((entry) => entry.id));
  const filter = action.trim();
  const entries = [...added.filter((entry) => !seen.has(entry.id) && (!filter || entry.action === filter)), ...stored];

  return (
    <Page title="Audit log">
      <div className="filters" role="search" aria-label="Filter the audit log">
        <TextField
          label="Action"
          name="action"
          value={action}
          onChange={setAction}
          errors={[]}
          description="Exact action, e.g. member.role_changed or api_token.created."
        />
      </div>
      <FormErrors errors={describeErrors(error)} />
      {!data ? (
        <Loading what="the audit log" />
      ) : entries.length === 0 ? (
        <p>No entries{filter ? ' with this action' : ''}.</p>
      ) : (
        <table aria-live="polite">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Details</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((entry) => (
              <tr key={entry.id}>
                <td>{formatDate(entry.createdAt)}</td>
                <td>{entry.actor ? entry.actor.displayName : 'Keynet'}</td>
                <td>
                  <code>{entry.action}</code>
                </td>
                <td>
                  {entry.targetType}
                  {entry.targetId && ` ${entry.targetId}`}
                </td>
                <td>
                  <code>{JSON.stringify(entry.metadata)}</code>
                </td>
                <td>{entry.clientAddress ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}
