import { useQuery } from 'urql';
import { graphql } from '../../gql';
import { ClassCountsChart } from '../../charts/ClassCountsChart';
import { formatBytes } from '../../format';

const SplitSizesDocument = graphql(`
  query SplitSizes($id: ID!) {
    dataset(id: $id) {
      id
      train: samples(split: TRAIN, first: 1) {
        total
      }
      val: samples(split: VAL, first: 1) {
        total
      }
      test: samples(split: TEST, first: 1) {
        total
      }
    }
  }
`);

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
  seed: number;
}

const pct = (ratio: number) => `${Math.round(ratio * 100)} %`;

export function DatasetStatistics({ datasetId, statistics, splitConfig }: { datasetId: string; statistics: unknown; splitConfig: Splits }) {
  const stats = statistics as Statistics;
  const [{ data }] = useQuery({ query: SplitSizesDocument, variables: { id: datasetId }, requestPolicy: 'cache-and-network' });
  const sizes = data?.dataset;
  return (
    <section className="card" aria-labelledby="statistics-heading">
      <h2 id="statistics-heading">Statistics</h2>
      <dl className="facts">
        <dt>Images</dt>
        <dd>{stats.images ?? 0}</dd>
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
      {sizes && (
        <dl className="facts">
          <dt>Train</dt>
          <dd>{sizes.train.total} images</dd>
          <dt>Validation</dt>
          <dd>{sizes.val.total} images</dd>
          <dt>Test</dt>
          <dd>{sizes.test.total} images</dd>
        </dl>
      )}
      <p className="muted">
        Images without a split of their own are divided train {pct(splitConfig.train)}, validation {pct(splitConfig.val)}, test {pct(splitConfig.test)} (seed{' '}
        {splitConfig.seed}).
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
