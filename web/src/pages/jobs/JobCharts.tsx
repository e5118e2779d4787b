import { useMemo, useRef, useState } from 'react';
import { graphql } from '../../gql';
import { useLiveSubscription } from '../../graphql/useLiveSubscription';
import { MetricChart } from '../../charts/MetricChart';
import { mergeEvents, metricTable, type TrainerEvent } from '../../charts/metrics';

const JobEventsDocument = graphql(`
  subscription JobEvents($jobId: ID!, $afterSeq: Int!) {
    jobEvents(jobId: $jobId, afterSeq: $afterSeq) {
      seq
      kind
      body
    }
  }
`);

/**
 * One chart per metric the trainer reports, growing as `progress` events arrive. After a
 * renewed token the stream resumes after the last `seq` seen, so nothing is missed or counted twice.
 */
export function JobCharts({ jobId, onCheckpoint }: { jobId: string; onCheckpoint: () => void }) {
  const [events, setEvents] = useState<Map<number, TrainerEvent>>(() => new Map());
  const lastSeq = useRef(0);

  useLiveSubscription(
    JobEventsDocument,
    jobId,
    () => ({ jobId, afterSeq: lastSeq.current }),
    ({ jobEvents: event }) => {
      lastSeq.current = Math.max(lastSeq.current, event.seq);
      setEvents((known) => mergeEvents(known, [event]));
      if (event.kind === 'checkpoint' || event.kind === 'completed') onCheckpoint();
    },
  );

  const table = useMemo(() => metricTable(events.values()), [events]);
  return (
    <section className="card" aria-labelledby="metrics-heading">
      <h2 id="metrics-heading">Metrics by epoch</h2>
      {table.metrics.length === 0 ? (
        <p className="muted">No metrics reported yet.</p>
      ) : (
        <div className="charts">
          {table.metrics.map((metric) => (
            <MetricChart key={metric.name} title={metric.name} epochs={table.epochs} series={[{ label: metric.name, values: metric.values }]} />
          ))}
        </div>
      )}
    </section>
  );
}
