/** A trainer event as `jobEvents` streams it. */
export interface TrainerEvent {
  seq: number;
  kind: string;
  body: unknown;
}

/** Every metric by epoch: one shared, sorted epoch axis and one array per metric, null where an epoch lacks it. */
export interface MetricTable {
  epochs: number[];
  metrics: { name: string; values: (number | null)[] }[];
}

interface ProgressBody {
  epoch?: unknown;
  metrics?: unknown;
}

/**
 * Keeps each event once (by `seq`), whatever order or how many times they arrive (a
 * resubscription replays from the last seq seen, a reconnect may repeat one).
 */
export function mergeEvents(known: Map<number, TrainerEvent>, incoming: TrainerEvent[]): Map<number, TrainerEvent> {
  if (incoming.every((event) => known.has(event.seq))) return known;
  const merged = new Map(known);
  for (const event of incoming) merged.set(event.seq, event);
  return merged;
}

/**
 * The `progress` events' metrics by epoch, for the charts. Events are applied in `seq` order,
 * so when an epoch is reported twice the later report wins; epochs are sorted; a metric
 * missing from an epoch is null there (uPlot leaves a gap), and every metric the trainer
 * sends gets its series.
 */
export function metricTable(events: Iterable<TrainerEvent>): MetricTable {
  const byEpoch = new Map<number, Map<string, number>>();
  const names = new Set<string>();
  const ordered = [...events].sort((a, b) => a.seq - b.seq);
  for (const event of ordered) {
    if (event.kind !== 'progress') continue;
    const body = event.body as ProgressBody;
    if (typeof body.epoch !== 'number' || typeof body.metrics !== 'object' || body.metrics === null) continue;
    const row = byEpoch.get(body.epoch) ?? new Map<string, number>();
    for (const [name, value] of Object.entries(body.metrics as Record<string, unknown>)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      row.set(name, value);
      names.add(name);
    }
    byEpoch.set(body.epoch, row);
  }
  const epochs = [...byEpoch.keys()].sort((a, b) => a - b);
  const metrics = [...names].sort().map((name) => ({ name, values: epochs.map((epoch) => byEpoch.get(epoch)?.get(name) ?? null) }));
  return { epochs, metrics };
}

/** One metric as uPlot's aligned data: [x = epochs, y = values]. */
export function alignedFor(table: MetricTable, name: string): [number[], (number | null)[]] {
  const metric = table.metrics.find((candidate) => candidate.name === name);
  return [table.epochs, metric ? metric.values : table.epochs.map(() => null)];
}

/** The number of points a metric's chart plots (its non-null values). */
export function plottedPoints(values: (number | null)[]): number {
  return values.filter((value) => value !== null).length;
}

/** Axis labels with as few significant digits as keep neighbouring ticks apart (3 at least). */
export function tickLabels(ticks: number[]): string[] {
  for (let digits = 3; digits < 12; digits += 1) {
    const labels = ticks.map((tick) => String(Number(tick.toPrecision(digits))));
    if (new Set(labels).size === labels.length) return labels;
  }
  return ticks.map(String);
}
