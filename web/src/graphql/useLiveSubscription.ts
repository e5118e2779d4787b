import { useEffect, useRef } from 'react';
import { useClient, type AnyVariables, type CombinedError, type TypedDocumentNode } from 'urql';
import { useAuth } from '../auth/AuthProvider';
import { refreshSession } from '../auth/session';
import { hasCode } from './errors';

/**
 * Subscribes while the component is mounted, and again on every renewed access token (each
 * token gets its own WebSocket connection, whose subscriptions end when the token expires).
 * `variables` is called at each (re)subscription, so a stream such as `jobEvents` can resume
 * after the last item it saw. `key` says when the subscription is about something else.
 */
export function useLiveSubscription<Data, Variables extends AnyVariables>(
  document: TypedDocumentNode<Data, Variables>,
  key: string | null,
  variables: () => Variables,
  onData: (data: Data) => void,
  onError?: (error: CombinedError) => void,
): void {
  const client = useClient();
  const { token } = useAuth();
  const latest = useRef({ variables, onData, onError });
  latest.current = { variables, onData, onError };

  useEffect(() => {
    if (key === null || token === null) return;
    const { unsubscribe } = client.subscription(document, latest.current.variables()).subscribe((result) => {
      if (result.data) latest.current.onData(result.data);
      if (result.error) {
        // The token ran out before its renewal (a sleeping laptop): renew, which resubscribes.
        if (hasCode(result.error, 'UNAUTHENTICATED')) void refreshSession(token).catch(() => undefined);
        else latest.current.onError?.(result.error);
      }
    });
    return unsubscribe;
  }, [client, document, key, token]);
}
