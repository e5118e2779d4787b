import type { ReactNode } from 'react';

/** A polite live region: progress and status changes are read out without moving focus. */
export function LiveStatus({ children, className }: { children: ReactNode; className?: string }) {
  return (
    <div role="status" aria-live="polite" className={className}>
      {children}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return <LiveStatus className="muted">Loading {what}…</LiveStatus>;
}
