import type { JobStatus } from '../../gql/graphql';

/** A job in one of these states changes no more. */
export function isFinal(status: JobStatus | null | undefined): boolean {
  return status === 'SUCCEEDED' || status === 'FAILED' || status === 'CANCELLED';
}
