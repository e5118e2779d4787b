/**
 * The console's session: the access token lives in this module's memory only; the refresh
 * token lives in an HttpOnly, SameSite=Strict cookie scoped to /console/session, which only
 * the server reads. Nothing is ever written to localStorage or sessionStorage.
 */

export interface AccessToken {
  token: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

export class SessionEndpointError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const CONSOLE_HEADERS = { 'X-Keynet-Console': '1' };
const LOCK_NAME = 'keynet-session-refresh';
const CHANNEL_NAME = 'keynet-session';
/** Renew this long before the access token expires. */
const RENEW_AHEAD_MS = 60_000;
/** A token with at least this much life left was just renewed (by us or another tab). */
const FRESH_ENOUGH_MS = 2 * RENEW_AHEAD_MS;
/** When the server could not be reached, try again after this long (the token may still be valid). */
const RETRY_MS = 10_000;

type Message = { type: 'token'; token: AccessToken } | { type: 'signed-out' };
type Listener = (token: AccessToken | null) => void;

let current: AccessToken | null = null;
let renewTimer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<Listener>();
const channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(CHANNEL_NAME);

channel?.addEventListener('message', (event: MessageEvent<Message>) => {
  const message = event.data;
  if (message.type === 'token') {
    if (!current || message.token.expiresAt > current.expiresAt) setCurrent(message.token);
  } else {
    setCurrent(null);
  }
});

function setCurrent(token: AccessToken | null) {
  current = token;
  clearTimeout(renewTimer);
  if (token) {
    const delay = Math.max(0, token.expiresAt - Date.now() - RENEW_AHEAD_MS);
    renewTimer = setTimeout(() => void refreshSession().catch(() => undefined), delay);
  }
  for (const listener of listeners) listener(token);
}

export function accessToken(): string | null {
  return current?.token ?? null;
}

export function onAccessTokenChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

async function call(method: string, path: string, body?: unknown): Promise<Response> {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? CONSOLE_HEADERS : { ...CONSOLE_HEADERS, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    // The server's HTTP errors have GraphQL's shape: {"errors": [{message, extensions: {code}}]}.
    type Answer = { errors?: { message?: string; extensions?: { code?: string } }[] };
    const error = ((await response.json().catch(() => null)) as Answer | null)?.errors?.[0];
    throw new SessionEndpointError(
      response.status,
      error?.extensions?.code ?? 'INTERNAL',
      error?.message ?? `The session service answered ${response.status}.`,
    );
  }
  return response;
}

/**
 * Starts the session after `login` or `signup`: the refresh token goes to the server, which
 * keeps it in the cookie; the caller drops it afterwards.
 */
export async function startSession(refreshToken: string, token: AccessToken): Promise<void> {
  await call('POST', '/console/session', { refreshToken });
  setCurrent(token);
  channel?.postMessage({ type: 'token', token } satisfies Message);
}

async function renewUnderLock(replacing: string | undefined): Promise<AccessToken | null> {
  // Another tab may have renewed while we waited for the lock (and told us over the channel):
  // calling again would only rotate the cookie once more for nothing. A token the server just
  // refused is never fresh enough, however long it has left.
  if (current && current.token !== replacing && current.expiresAt - Date.now() > FRESH_ENOUGH_MS) return current;
  try {
    const response = await call('POST', '/console/session/refresh');
    const answer = (await response.json()) as { accessToken: string; expiresAt: string };
    const token = { token: answer.accessToken, expiresAt: Date.parse(answer.expiresAt) };
    setCurrent(token);
    channel?.postMessage({ type: 'token', token } satisfies Message);
    return token;
  } catch (error) {
    if (error instanceof SessionEndpointError && error.status === 401) {
      setCurrent(null);
      return null;
    }
    clearTimeout(renewTimer);
    renewTimer = setTimeout(() => void refreshSession().catch(() => undefined), RETRY_MS);
    throw error;
  }
}

/**
 * Trades the cookie for a fresh access token. Refresh tokens rotate and a reused one ends the
 * whole session, so tabs take turns through a Web Lock and never refresh at the same time.
 * `replacing` is the token the server refused, when that is why we renew.
 */
export function refreshSession(replacing?: string): Promise<AccessToken | null> {
  if (typeof navigator !== 'undefined' && navigator.locks) {
    // (The DOM typings wrap the callback's promise once more; `then` unwraps it.)
    return navigator.locks.request(LOCK_NAME, () => renewUnderLock(replacing)).then((token) => token);
  }
  return renewUnderLock(replacing);
}

/** Ends the cookie half of the session (the caller signs the access token out first). */
export async function endSession(): Promise<void> {
  try {
    await call('DELETE', '/console/session');
  } finally {
    setCurrent(null);
    channel?.postMessage({ type: 'signed-out' } satisfies Message);
  }
}
