import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { Page } from '../../components/Page';

/** The frame of the signed-out pages: the brand and one narrow card. */
export function AuthCard({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="auth-shell">
      <header className="topbar">
        <Link to="/" className="brand">
          Keynet
        </Link>
      </header>
      <Page title={title}>
        <div className="card narrow">{children}</div>
      </Page>
    </div>
  );
}

/** Where to go after signing in: only a path of this site (never another origin). */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}
