import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/** A Web Lock stand-in: one holder at a time, in order, as navigator.locks guarantees across tabs. */
function fakeLocks() {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    request: (_name: string, callback: () => Promise<unknown>) => {
      const run = tail.then(callback);
      tail = run.catch(() => undefined);
      return run;
    },
  };
}

const inFifteenMinutes = () => new Date(Date.now() + 15 * 60_000).toISOString();

describe('the session', () => {
  let calls: { method: string; url: string; headers: Record<string, string> }[];
  let answer: () => Response;

  beforeEach(() => {
    vi.resetModules();
    calls = [];
    let issued = 0;
    answer = () => new Response(JSON.stringify({ accessToken: `access-${++issued}`, expiresAt: inFifteenMinutes() }), { status: 200 });
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      calls.push({ method: init.method ?? 'GET', url, headers: init.headers as Record<string, string> });
      return answer();
    });
    Object.defineProperty(navigator, 'locks', { value: fakeLocks(), configurable: true });
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('refreshes once when several callers ask at the same time, with the console header', async () => {
    const session = await import('./session');
    const [a, b, c] = await Promise.all([session.refreshSession(), session.refreshSession(), session.refreshSession()]);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ method: 'POST', url: '/console/session/refresh' });
    expect(calls[0]!.headers['X-Keynet-Console']).toBe('1');
    expect(a?.token).toBe('access-1');
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(session.accessToken()).toBe('access-1');
  });

  it('renews a token the server refused even though it has time left', async () => {
    const session = await import('./session');
    await session.refreshSession();
    await session.refreshSession('access-1');
    expect(calls).toHaveLength(2);
    expect(session.accessToken()).toBe('access-2');
  });

  it('signs out when the cookie is refused, telling the listeners', async () => {
    const session = await import('./session');
    await session.refreshSession();
    const seen: (string | null)[] = [];
    session.onAccessTokenChange((token) => seen.push(token?.token ?? null));
    answer = () => new Response(JSON.stringify({ errors: [{ message: 'no session', extensions: { code: 'UNAUTHENTICATED' } }] }), { status: 401 });
    expect(await session.refreshSession('access-1')).toBeNull();
    expect(session.accessToken()).toBeNull();
    expect(seen).toEqual([null]);
  });

  it("passes on the server's code and words when renewing fails otherwise", async () => {
    const session = await import('./session');
    answer = () =>
      new Response(JSON.stringify({ errors: [{ message: 'the session could not be renewed; try again', extensions: { code: 'INTERNAL' } }] }), {
        status: 500,
      });
    await expect(session.refreshSession()).rejects.toMatchObject({
      status: 500,
      code: 'INTERNAL',
      message: 'the session could not be renewed; try again',
    });
    answer = () => new Response(JSON.stringify({ errors: [{ message: 'needs the header', extensions: { code: 'FORBIDDEN' } }] }), { status: 403 });
    await expect(session.refreshSession()).rejects.toMatchObject({ status: 403, code: 'FORBIDDEN', message: 'needs the header' });
  });

  it('hands the refresh token to the cookie endpoint and keeps only the access token', async () => {
    const session = await import('./session');
    answer = () => new Response(null, { status: 204 });
    await session.startSession('refresh-secret', { token: 'access-x', expiresAt: Date.now() + 900_000 });
    expect(calls).toEqual([expect.objectContaining({ method: 'POST', url: '/console/session' })]);
    expect(session.accessToken()).toBe('access-x');
    expect(JSON.stringify(localStorage)).not.toContain('refresh-secret');
    expect(JSON.stringify(sessionStorage)).not.toContain('refresh-secret');
  });
});
