import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { Provider as UrqlProvider } from 'urql';
import { graphql } from '../gql';
import type { MeQuery, SessionFieldsFragment } from '../gql/graphql';
import { createGraphqlClient } from '../graphql/client';
import { endSession, onAccessTokenChange, refreshSession, startSession, accessToken } from './session';

export type SignedInUser = MeQuery['me'];

type AuthState = { status: 'loading' } | { status: 'signed-out' } | { status: 'signed-in'; user: SignedInUser };

interface AuthContextValue {
  state: AuthState;
  /** The current access token: changes when it is renewed, so live views can subscribe again. */
  token: string | null;
  /** After `login` or `signup`: hands the refresh token to the cookie and keeps the rest in memory. */
  signedIn: (payload: SessionFieldsFragment) => Promise<void>;
  signOut: () => Promise<void>;
  /** Reads the account again (e.g. after the email was verified). */
  reloadUser: () => Promise<void>;
}

// What the console knows of the signed-in person, the same from `me`, `login` and `signup`.
graphql(`
  fragment SignedInUserFields on User {
    id
    email
    displayName
    emailVerified
  }
`);

/** What `login` and `signup` answer, for `signedIn`. */
graphql(`
  fragment SessionFields on AuthPayload {
    accessToken
    refreshToken
    expiresAt
    user {
      ...SignedInUserFields
    }
  }
`);

const MeDocument = graphql(`
  query Me {
    me {
      ...SignedInUserFields
    }
  }
`);

const LogoutDocument = graphql(`
  mutation Logout {
    logout
  }
`);

const AuthContext = createContext<AuthContextValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<AuthState>({ status: 'loading' });
  const [token, setToken] = useState<string | null>(accessToken());
  // A new client per signed-in user: nothing cached for one account is shown to the next.
  const userId = state.status === 'signed-in' ? state.user.id : null;
  const client = useMemo(() => createGraphqlClient(), [userId]);

  const loadUser = useCallback(async () => {
    const result = await client.query(MeDocument, {}, { requestPolicy: 'network-only' }).toPromise();
    setState(result.data ? { status: 'signed-in', user: result.data.me } : { status: 'signed-out' });
  }, [client]);

  useEffect(
    () =>
      onAccessTokenChange((next) => {
        setToken(next?.token ?? null);
        if (!next) setState({ status: 'signed-out' });
      }),
    [],
  );

  // Restores the session after a reload from the cookie, if there is one.
  useEffect(() => {
    let cancelled = false;
    refreshSession()
      .then(async (restored) => {
        if (cancelled) return;
        if (restored) await loadUser();
        else setState({ status: 'signed-out' });
      })
      .catch(() => !cancelled && setState({ status: 'signed-out' }));
    return () => {
      cancelled = true;
    };
    // Only on start: later renewals keep the same user.
  }, []);

  const value = useMemo<AuthContextValue>(
    () => ({
      state,
      token,
      signedIn: async (payload) => {
        await startSession(payload.refreshToken, { token: payload.accessToken, expiresAt: Date.parse(payload.expiresAt) });
        setState({ status: 'signed-in', user: payload.user });
      },
      signOut: async () => {
        // The access token is ended first (it would otherwise stay valid until it expires).
        await client.mutation(LogoutDocument, {}).toPromise();
        // This tab is signed out even when the cookie endpoint cannot be reached (endSession
        // forgets the token whatever the answer); the cookie then ends at its expiry.
        await endSession().catch(() => undefined);
      },
      reloadUser: loadUser,
    }),
    [state, token, client, loadUser],
  );

  return (
    <AuthContext.Provider value={value}>
      <UrqlProvider value={client}>{children}</UrqlProvider>
    </AuthContext.Provider>
  );
}

export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth outside <AuthProvider>');
  return value;
}

/** The signed-in user; only for pages behind <RequireAuth>. */
export function useUser(): SignedInUser {
  const { state } = useAuth();
  if (state.status !== 'signed-in') throw new Error('useUser on a page without <RequireAuth>');
  return state.user;
}
