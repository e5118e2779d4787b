import { useQuery } from 'urql';
import { graphql } from '../../gql';
import { humanize } from '../../format';

const QuotaDocument = graphql(`
  query Quota($orgId: ID!) {
    billingAccount(orgId: $orgId) {
      effectivePlan
      quotas {
        concurrentJobs
        gpuSecondsPerMonth
      }
      used {
        concurrentJobs
        gpuSecondsPerMonth
      }
    }
  }
`);

const limit = (value: number | null | undefined) => (value == null ? 'unlimited' : value.toLocaleString());

/** What the plan allows and what is used, shown before a job is started (admins and owners only). */
export function QuotaSummary({ orgId }: { orgId: string }) {
  const [{ data }] = useQuery({ query: QuotaDocument, variables: { orgId }, requestPolicy: 'cache-and-network' });
  if (!data) return null;
  const { effectivePlan, quotas, used } = data.billingAccount;
  return (
    <section className="quota" aria-label="Plan quota">
      <h2>Quota ({humanize(effectivePlan)} plan)</h2>
      <ul>
        <li>
          Jobs running or queued: {used.concurrentJobs} of {limit(quotas.concurrentJobs)}
        </li>
        <li>
          GPU-seconds this month: {used.gpuSecondsPerMonth.toLocaleString()} of {limit(quotas.gpuSecondsPerMonth)}
        </li>
      </ul>
    </section>
  );
}
