import { describe, expect, it } from 'vitest';
import { CombinedError } from 'urql';
import { GraphQLError } from 'graphql';
import { describeErrors } from './errors';

const error = (message: string, extensions: Record<string, unknown>) => new CombinedError({ graphQLErrors: [new GraphQLError(message, { extensions })] });

describe('describeErrors', () => {
  it('maps a field error to its input', () => {
    expect(describeErrors(error('the slug is taken', { code: 'CONFLICT', field: 'input.slug' }))).toEqual([{ message: 'the slug is taken', field: 'slug' }]);
  });

  it('names the exceeded quota in words', () => {
    expect(describeErrors(error('quota', { code: 'QUOTA_EXCEEDED', quota: 'concurrent_jobs' }))[0]!.message).toMatch(/jobs running at once/);
  });

  it('hides internal details and speaks of the network when it fails', () => {
    expect(describeErrors(error('internal error', { code: 'INTERNAL' }))[0]!.message).toMatch(/on our side/);
    expect(describeErrors(new CombinedError({ networkError: new Error('Failed to fetch') }))[0]!.message).toMatch(/could not be reached/);
  });

  it('says how long to wait when rate limited', () => {
    expect(describeErrors(error('locked', { code: 'RATE_LIMITED', retryAfter: 900 }))[0]!.message).toBe('Too many attempts. Try again in 15 minute(s).');
  });
});
