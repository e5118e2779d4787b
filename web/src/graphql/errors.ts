import type { CombinedError } from 'urql';
import { SessionEndpointError } from '../auth/session';

/** An error as the console shows it: a sentence, and the input it is about when the API named one. */
export interface ShownError {
  message: string;
  field?: string;
}

const GENERIC: Record<string, string> = {
  UNAUTHENTICATED: 'You are not signed in, or your session has ended. Sign in again.',
  FORBIDDEN: 'Your role in this organization does not allow this.',
  NOT_FOUND: 'This does not exist, or it belongs to an organization you are not in.',
  CONFLICT: 'This clashes with something that already exists.',
  RATE_LIMITED: 'Too many attempts. Wait a moment and try again.',
  QUOTA_EXCEEDED: "Your organization's plan does not allow more of this right now.",
  INTERNAL: 'Something went wrong on our side. Try again; if it keeps happening, contact your administrator.',
  GRAPHQL_VALIDATION_FAILED: 'The console sent a request the server refused. Reload the page and try again.',
};

const QUOTAS: Record<string, string> = {
  concurrent_jobs: 'jobs running at once',
  gpu_seconds_per_month: 'GPU-seconds this month',
  storage_bytes: 'storage',
  inference_requests_per_minute: 'inference requests per minute',
};

/** The last segment of a dotted API field (`input.email` → `email`, `hyperparameters.lr` stays whole). */
export function fieldName(field: string): string {
  return field.replace(/^input\./, '');
}

/** Turns what the API answered into sentences a person can act on; keeps the server's words when they are specific. */
export function describeErrors(error: CombinedError | Error | null | undefined): ShownError[] {
  if (!error) return [];
  if (error instanceof SessionEndpointError) return [{ message: GENERIC[error.code] ?? error.message }];
  if (!('graphQLErrors' in error)) return [{ message: error.message }];
  if (error.networkError) {
    return [{ message: 'The server could not be reached. Check your connection and try again.' }];
  }
  return error.graphQLErrors.map((graphQLError) => {
    const extensions = graphQLError.extensions as { code?: string; field?: string; quota?: string; retryAfter?: number };
    const code = extensions.code ?? 'INTERNAL';
    switch (code) {
      case 'BAD_USER_INPUT':
      case 'CONFLICT':
      case 'FORBIDDEN':
      case 'NOT_FOUND':
        return { message: graphQLError.message || GENERIC[code]!, field: extensions.field ? fieldName(extensions.field) : undefined };
      case 'QUOTA_EXCEEDED': {
        const quota = extensions.quota ? (QUOTAS[extensions.quota] ?? extensions.quota) : null;
        return {
          message: quota
            ? `Your organization's plan allows no more ${quota} right now. Wait for running jobs to finish or ask an owner to change the plan.`
            : GENERIC.QUOTA_EXCEEDED!,
        };
      }
      case 'RATE_LIMITED':
        return {
          message: extensions.retryAfter ? `Too many attempts. Try again in ${Math.ceil(extensions.retryAfter / 60)} minute(s).` : GENERIC.RATE_LIMITED!,
        };
      case 'UNAUTHENTICATED':
        return { message: graphQLError.message && !/token/i.test(graphQLError.message) ? graphQLError.message : GENERIC.UNAUTHENTICATED! };
      default:
        return { message: GENERIC[code] ?? graphQLError.message };
    }
  });
}

export function hasCode(error: CombinedError | undefined, code: string): boolean {
  return !!error?.graphQLErrors.some((e) => (e.extensions as { code?: string }).code === code);
}
