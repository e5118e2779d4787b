import { Link, useParams, useSearchParams } from 'react-router';
import { useQuery } from 'urql';
import { graphql } from '../../gql';
import { useOrg } from '../../layout/OrgLayout';
import { Page } from '../../components/Page';
import { Unloaded } from '../../components/Unloaded';
import { MetricChart } from '../../charts/MetricChart';
import { configRows } from './configDiff';

const CompareRunsDocument = graphql(`
  query CompareRuns($jobIds: [ID!]!, $metrics: [String!]!) {
    compareRuns(jobIds: $jobIds, metrics: $metrics) {
      epochs
      runs {
        job {
          id
          modelName
          createdAt
          config {
            epochs
            batchSize
            learningRate
            imgsz
            device
          }
          hyperparameters
        }
        metrics {
          name
          values
        }
      }
    }
  }
`);

/** Runs side by side: each metric's curves overlaid in one chart, and the settings that differ. */
export default function CompareRuns() {
  const { projectId = '' } = useParams();
  const [params] = useSearchParams();
  const org = useOrg();
  const jobIds = (params.get('jobs') ?? '').split(',').filter(Boolean);
  const metrics = (params.get('metrics') ?? '').split(',').filter(Boolean);
  const [{ data, error }] = useQuery({ query: CompareRunsDocument, variables: { jobIds, metrics }, pause: jobIds.length === 0 });

  if (!data) return <Unloaded title="Compare runs" what="the runs" error={error} />;
  const { epochs, runs } = data.compareRuns;
  const label = (index: number) => `${runs[index]!.job.modelName} #${index + 1}`;
  const rows = configRows(runs.map((run) => ({ ...run.job.config, ...(run.job.hyperparameters as Record<string, unknown>) })));

  return (
    <Page title="Compare runs">
      <p>
        <Link to={`/o/${org.slug}/projects/${projectId}`}>Back to the project</Link>
      </p>
      <section className="card" aria-labelledby="curves-heading">
        <h2 id="curves-heading">Metrics</h2>
        <div className="charts">
          {metrics.map((metric) => (
            <MetricChart
              key={metric}
              title={metric}
              epochs={epochs}
              series={runs.map((run, index) => ({
                label: label(index),
                values: run.metrics.find((series) => series.name === metric)?.values ?? epochs.map(() => null),
              }))}
            />
          ))}
        </div>
      </section>
      <section className="card" aria-labelledby="config-heading">
        <h2 id="config-heading">Configuration</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Setting</th>
              {runs.map((run, index) => (
                <th scope="col" key={run.job.id}>
                  <Link to={`/o/${org.slug}/jobs/${run.job.id}`}>{label(index)}</Link>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.name} className={row.differs ? 'differs' : undefined}>
                <th scope="row">
                  {row.name}
                  {row.differs && <span className="visually-hidden"> (differs)</span>}
                </th>
                {row.values.map((value, index) => (
                  <td key={index}>{value}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </Page>
  );
}
