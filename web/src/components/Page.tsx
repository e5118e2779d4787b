import { useEffect, type ReactNode } from 'react';

/** A page's <main> landmark with its one <h1>; the tab's title follows it. */
export function Page({ title, actions, children }: { title: string; actions?: ReactNode; children: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · Keynet`;
  }, [title]);
  return (
    <main id="main" className="page">
      <div className="page-heading">
        <h1>{title}</h1>
        {actions}
      </div>
      {children}
    </main>
  );
}
