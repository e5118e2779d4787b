import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../gql';
import type { Scope } from '../../gql/graphql';
import { useOrg } from '../../layout/OrgLayout';
import { describeErrors, type ShownError } from '../../graphql/errors';
import { TextField } from '../../components/Field';
import { FormErrors } from '../../components/FormErrors';
import { CheckboxGroup } from '../../components/CheckboxGroup';
import { Page } from '../../components/Page';
import { LiveStatus, Loading } from '../../components/Status';
import { formatDate, humanize } from '../../format';

const ApiTokensDocument = graphql(`
  query ApiTokens($orgId: ID!) {
    apiTokens(orgId: $orgId, first: 100) {
      nodes {
        id
        name
        prefix
        scopes
        expiresAt
        lastUsedAt
        revokedAt
        createdAt
      }
    }
  }
`);

const CreateApiTokenDocument = graphql(`
  mutation CreateApiToken($input: CreateApiTokenInput!) {
    createApiToken(input: $input) {
      secret
      token {
        id
        name
      }
    }
  }
`);

const RevokeApiTokenDocument = graphql(`
  mutation RevokeApiToken($id: ID!) {
    revokeApiToken(tokenId: $id) {
      id
      revokedAt
    }
  }
`);

const SCOPES: Scope[] = ['READ', 'WRITE', 'TRAINER_PUSH', 'INFERENCE', 'ADMIN'];
const TOKEN_LIST = { additionalTypenames: ['ApiToken'] };

export default function ApiTokens() {
  const org = useOrg();
  const [{ data, error }] = useQuery({ query: ApiTokensDocument, variables: { orgId: org.id }, context: TOKEN_LIST });
  const [revoked, revoke] = useMutation(RevokeApiTokenDocument);
  return (
    <Page title="API tokens">
      <p className="muted">Tokens let scripts and keynet-train call the API as you, within the scopes you choose.</p>
      <FormErrors errors={[...describeErrors(error), ...describeErrors(revoked.error)]} />
      {!data ? (
        <Loading what="tokens" />
      ) : data.apiTokens.nodes.length === 0 ? (
        <p>No tokens yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Starts with</th>
              <th scope="col">Scopes</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.apiTokens.nodes.map((token) => (
              <tr key={token.id}>
                <td>{token.name}</td>
                <td>
                  <code>{token.prefix}…</code>
                </td>
                <td>{token.scopes.map(humanize).join(', ')}</td>
                <td>{formatDate(token.expiresAt)}</td>
                <td>{formatDate(token.lastUsedAt)}</td>
                <td>
                  {token.revokedAt ? (
                    `Revoked ${formatDate(token.revokedAt)}`
                  ) : (
                    <button
                      type="button"
                      className="danger"
                      onClick={() => window.confirm(`Revoke ${token.name}? Scripts using it stop working.`) && revoke({ id: token.id }, TOKEN_LIST)}
                    >
                      Revoke {token.name}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <CreateToken orgId={org.id} />
    </Page>
  );
}

function CreateToken({ orgId }: { orgId: string }) {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<Scope[]>(['READ']);
  const [errors, setErrors] = useState<ShownError[]>([]);
  const [secret, setSecret] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const [{ fetching }, create] = useMutation(CreateApiTokenDocument);
  return (
    <section className="card" aria-labelledby="new-token-heading">
      <h2 id="new-token-heading">New token</h2>
      {secret && (
        <div className="created-secret">
          <p>
            <strong>Copy the token now: it is shown this once and never again.</strong>
          </p>
          <p className="secret" id="new-token-secret">
            {secret}
          </p>
          <button
            type="button"
            onClick={async () => {
              await navigator.clipboard.writeText(secret);
              setCopied(true);
            }}
          >
            Copy the token
          </button>
          <LiveStatus>{copied && 'Copied to the clipboard.'}</LiveStatus>
        </div>
      )}
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          const result = await create({ input: { orgId, name, scopes } }, TOKEN_LIST);
          if (!result.data) return setErrors(describeErrors(result.error));
          setErrors([]);
          setCopied(false);
          setSecret(result.data.createApiToken.secret);
          setName('');
        }}
      >
        <TextField label="Token name" name="name" required value={name} onChange={setName} errors={errors} />
        <CheckboxGroup legend="Scopes" options={SCOPES} selected={scopes} onChange={setScopes} />
        <FormErrors errors={errors} fields={['name']} />
        <button type="submit" className="primary" disabled={fetching}>
          Create token
        </button>
      </form>
    </section>
  );
}
