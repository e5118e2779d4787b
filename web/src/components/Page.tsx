import { useEffect, useRef, type ReactNode } from 'react';

/** The first page of a visit keeps the browser's own focus; later ones take it (see below). */
let firstPage = true;

/**
 * A page's <main> landmark with its one <h1>; the tab's title follows it. After a client-side
 * navigation the h1 takes focus, so keyboard and screen-reader users start at the new page
 * instead of on a link of the old one.
 */
export function Page({ title, actions, children }: { title: string; actions?: ReactNode; children: ReactNode }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Keynet`;
  }, [title]);
  useEffect(() => {
    if (firstPage) firstPage = false;
    else heading.current?.focus({ preventScroll: true });
  }, []);
  return (
    <main id="main" className="page">
      <div className="page-heading">
        <h1 ref={heading} tabIndex={-1}>
          {title}
        </h1>
        {actions}
      </div>
      {children}
    </main>
  );
}
