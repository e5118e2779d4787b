import { useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../../gql';
import type { LogLevel } from '../../gql/graphql';
import { useLiveSubscription } from '../../graphql/useLiveSubscription';
import { describeErrors } from '../../graphql/errors';
import { Field } from '../../components/Field';
import { FormErrors } from '../../components/FormErrors';

const JobLogsDocument = graphql(`
  query JobLogs($id: ID!, $level: LogLevel, $after: String) {
    job(id: $id) {
      id
      logs(level: $level, first: 100, after: $after) {
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          id
          level
          source
          message
          ts
        }
      }
    }
  }
`);

const JobLogsLiveDocument = graphql(`
  subscription JobLogsLive($jobId: ID!, $minLevel: LogLevel) {
    jobLogs(jobId: $jobId, minLevel: $minLevel) {
      id
      level
      source
      message
      ts
    }
  }
`);

const LEVELS: LogLevel[] = ['DEBUG', 'INFO', 'WARNING', 'ERROR'];

interface Line {
  id: string;
  level: LogLevel;
  source: string;
  message: string;
  ts: string;
}

/** The stored log, then its new lines as they are written, at the chosen level and above. */
export function JobLogs({ jobId }: { jobId: string }) {
  const [level, setLevel] = useState<LogLevel>('INFO');
  // Stored lines come 100 at a time, oldest first; earlier pages are kept as later ones load.
  const [pages, setPages] = useState<{ level: LogLevel; after: string | null; earlier: Line[] }>({ level, after: null, earlier: [] });
  const page = pages.level === level ? pages : { level, after: null, earlier: [] };
  const [{ data, error }] = useQuery({ query: JobLogsDocument, variables: { id: jobId, level, after: page.after } });
  const [live, setLive] = useState<{ level: LogLevel; lines: Line[] }>({ level, lines: [] });

  useLiveSubscription(
    JobLogsLiveDocument,
    `${jobId}:${level}`,
    () => ({ jobId, minLevel: level }),
    ({ jobLogs: line }) => setLive((current) => (current.level === level ? { level, lines: [...current.lines, line] } : { level, lines: [line] })),
  );

  const stored = [...page.earlier, ...(data?.job.logs.nodes ?? [])];
  const more = data?.job.logs.pageInfo;
  const seen = new Set(stored.map((line) => line.id));
  const lines = [...stored, ...(live.level === level ? live.lines.filter((line) => !seen.has(line.id)) : [])];

  return (
    <section className="card" aria-labelledby="logs-heading">
      <h2 id="logs-heading">Logs</h2>
      <Field label="Lowest level shown">
        {(control) => (
          <select {...control} value={level} onChange={(event) => setLevel(event.target.value as LogLevel)}>
            {LEVELS.map((option) => (
              <option key={option} value={option}>
                {option}
              </option>
            ))}
          </select>
        )}
      </Field>
      <FormErrors errors={describeErrors(error)} />
      {more?.hasNextPage && (
        <button type="button" onClick={() => setPages({ level, after: more.endCursor ?? null, earlier: stored })}>
          Show later stored lines
        </button>
      )}
      <pre className="logs" role="log" tabIndex={0} aria-label="Job log">
        {lines.length === 0
          ? 'No log lines yet.'
          : lines.map((line) => (
              <div key={line.id} className={`level-${line.level}`}>
                {line.ts.slice(11, 19)} {line.level.padEnd(7)} [{line.source.toLowerCase()}] {line.message}
              </div>
            ))}
      </pre>
    </section>
  );
}
