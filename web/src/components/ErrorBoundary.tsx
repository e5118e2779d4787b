import { Component, type ReactNode } from 'react';

/**
 * A screen that fails to render says so instead of leaving a blank page; moving to another
 * address (`resetKey`) tries again.
 */
export class ErrorBoundary extends Component<{ resetKey: string; children: ReactNode }, { failed: boolean }> {
  state = { failed: false };

  static getDerivedStateFromError() {
    return { failed: true };
  }

  componentDidUpdate(previous: { resetKey: string }) {
    if (this.state.failed && previous.resetKey !== this.props.resetKey) this.setState({ failed: false });
  }

  render() {
    if (!this.state.failed) return this.props.children;
    return (
      <main id="main" className="page">
        <h1>This page could not be shown</h1>
        <p role="alert">Something went wrong while showing this page. Reload it; if it keeps happening, tell your administrator.</p>
        <button type="button" onClick={() => window.location.reload()}>
          Reload the page
        </button>
      </main>
    );
  }
}
