/** Display helpers shared by the screens. */

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function formatDate(iso: string | null | undefined): string {
  return iso ? dateTime.format(new Date(iso)) : '—';
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** `TASK_TYPE` → `Task type`. */
export function humanize(constant: string): string {
  const words = constant.toLowerCase().replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A metrics object (`{"loss": 0.41}`) as `loss 0.41 · accuracy 0.9`, three significant digits. */
export function formatMetrics(metrics: unknown): string {
  if (!metrics || typeof metrics !== 'object') return '—';
  const entries = Object.entries(metrics as Record<string, unknown>).filter((entry): entry is [string, number] => typeof entry[1] === 'number');
  return entries.length === 0 ? '—' : entries.map(([name, value]) => `${name} ${Number(value.toPrecision(3))}`).join(' · ');
}
