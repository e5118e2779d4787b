import { Client, cacheExchange, fetchExchange, mapExchange, subscriptionExchange } from 'urql';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { accessToken, refreshSession } from '../auth/session';
import { hasCode } from './errors';

/**
 * One graphql-ws connection per access token: a connection's subscriptions end with
 * UNAUTHENTICATED once the token it was opened with expires, so a renewed token gets a new
 * connection and live views subscribe again on it (see useLiveSubscription). The old one is
 * lazy and closes once its last subscription is dropped.
 */
let ws: { token: string | null; client: WsClient } | null = null;

function wsClientForCurrentToken(): WsClient {
  const token = accessToken();
  if (!ws || ws.token !== token) {
    const url = new URL('/graphql/ws', window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    ws = {
      token,
      client: createWsClient({
        url: url.href,
        connectionParams: token ? { token } : {},
        // Kept open a while after the last subscription ends, so moving between pages reuses it
        // instead of racing a closing socket.
        lazyCloseTimeout: 30_000,
        // Reconnect soon (0.25 s, doubling to 8 s): the library's default waits seconds even the first time.
        retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(8000, 250 * 2 ** retries))),
      }),
    };
  }
  return ws.client;
}

/** The console's only GraphQL client: HTTP for queries and mutations, WebSocket for subscriptions. */
export function createGraphqlClient(): Client {
  return new Client({
    url: '/graphql',
    // Always POST: the API's documented transport (GET /graphql is GraphiQL).
    preferGetMethod: false,
    fetchOptions: (): RequestInit => {
      const token = accessToken();
      const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
      return { headers };
    },
    exchanges: [
      // A session ended elsewhere (signed out, password changed) answers UNAUTHENTICATED while
      // we still hold a token: ask the cookie, which either renews it or signs this tab out.
      mapExchange({
        onError(error) {
          const token = accessToken();
          if (token && hasCode(error, 'UNAUTHENTICATED')) void refreshSession(token).catch(() => undefined);
        },
      }),
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              const unsubscribe = wsClientForCurrentToken().subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
}
