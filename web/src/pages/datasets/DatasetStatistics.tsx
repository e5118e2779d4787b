import { ClassCountsChart } from '../../charts/ClassCountsChart';
import { formatBytes } from '../../format';

/** The import's figures as the server computes them (datasets/src/stats.rs). */
interface Statistics {
  images?: number;
  classes?: number;
  annotations?: number;
  annotations_per_class?: Record<string, number>;
  width?: { min: number; max: number; mean: number };
  height?: { min: number; max: number; mean: number };
  images_without_labels?: number;
  duplicate_groups?: string[][];
  total_bytes?: number;
}

interface Splits {
  train: number;
  val: number;
  test: number;
}

const pct = (ratio: number) => `${Math.round(ratio * 100)} %`;

export function DatasetStatistics({ statistics, splitConfig }: { statistics: unknown; splitConfig: Splits }) {
  const stats = statistics as Statistics;
  const images = stats.images ?? 0;
  return (
    <section className="card" aria-labelledby="statistics-heading">
      <h2 id="statistics-heading">Statistics</h2>
      <dl className="facts">
        <dt>Images</dt>
        <dd>{images}</dd>
        <dt>Classes</dt>
        <dd>{stats.classes ?? 0}</dd>
        <dt>Annotations</dt>
        <dd>{stats.annotations ?? 0}</dd>
        <dt>Images without labels</dt>
        <dd>{stats.images_without_labels ?? 0}</dd>
        <dt>Duplicate groups</dt>
        <dd>{stats.duplicate_groups?.length ?? 0}</dd>
        <dt>Size</dt>
        <dd>{formatBytes(stats.total_bytes ?? 0)}</dd>
        {stats.width && stats.height && (
          <>
            <dt>Image size</dt>
            <dd>
              {stats.width.min}–{stats.width.max} × {stats.height.min}–{stats.height.max} px (mean {Math.round(stats.width.mean)} ×{' '}
              {Math.round(stats.height.mean)})
            </dd>
          </>
        )}
      </dl>
      <h3>Splits</h3>
      <p>
        Images without a split of their own are divided train {pct(splitConfig.train)} (about {Math.round(images * splitConfig.train)}), validation{' '}
        {pct(splitConfig.val)} (about {Math.round(images * splitConfig.val)}), test {pct(splitConfig.test)} (about{' '}
        {Math.round(images * splitConfig.test)}).
      </p>
      {stats.annotations_per_class && Object.keys(stats.annotations_per_class).length > 0 && (
        <figure className="chart">
          <figcaption>Annotations per class</figcaption>
          <ClassCountsChart counts={stats.annotations_per_class} />
        </figure>
      )}
    </section>
  );
}
