// The graphile-worker side of keynet-bench's `queue_bench`: the same two measurements as
// the Keynet side, with the same parameters, against a PostgreSQL database of its own.
//
// 1. Throughput: with `concurrency` idle workers listening, N no-op jobs are added in one
//    statement (one transaction, `addJobs`); the clock runs from that commit until the
//    last job was written back as complete (`job:complete`).
// 2. Pickup latency: with the workers idle, one job at a time is added (what `addJob` runs,
//    `graphile_worker.add_job`, in a transaction of its own), `spacing` ms apart; each sample
//    is the time from sending that transaction's COMMIT until the task function starts (the
//    LISTEN/NOTIFY wake-up path; the poll interval stays at its default, 2 s).
//
// Usage: node bench/graphile/bench.mjs --database-url postgres://…/db [--tasks 20000]
//        [--samples 500] [--warmup-samples 20] [--spacing-ms 20] [--concurrency 4]
//        [--measure both|throughput|latency] [--json]
// Prints a Markdown table, or with --json one JSON line (what queue_bench reads). The
// graphile_worker schema is installed in that database if missing; its jobs are left empty.

import { Logger, makeWorkerUtils, run } from "graphile-worker";
import { EventEmitter, once } from "node:events";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";

const TASK = "noop";

const { values: args } = parseArgs({
  options: {
    "database-url": { type: "string", default: process.env.DATABASE_URL },
    tasks: { type: "string", default: "20000" },
    samples: { type: "string", default: "500" },
    "warmup-samples": { type: "string", default: "20" },
    "spacing-ms": { type: "string", default: "20" },
    concurrency: { type: "string", default: "4" },
    measure: { type: "string", default: "both" },
    json: { type: "boolean", default: false },
  },
});

const whole = (name, min) => {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`--${name} takes a whole number ≥ ${min}`);
  }
  return value;
};

const plan = {
  databaseUrl: args["database-url"],
  tasks: whole("tasks", 1),
  samples: whole("samples", 1),
  warmupSamples: whole("warmup-samples", 0),
  spacingMs: whole("spacing-ms", 1),
  concurrency: whole("concurrency", 1),
  measure: args.measure,
};
if (!plan.databaseUrl) {
  throw new Error("--database-url (or DATABASE_URL) names the database to use");
}
if (!["both", "throughput", "latency"].includes(plan.measure)) {
  throw new Error("--measure takes both, throughput or latency");
}

const version = JSON.parse(
  readFileSync(new URL("./node_modules/graphile-worker/package.json", import.meta.url)),
).version;

// graphile-worker logs every job it completes; the measurement must not pay for that.
const silent = new Logger(() => () => {});
const options = {
  connectionString: plan.databaseUrl,
  concurrency: plan.concurrency,
  noHandleSignals: true,
  logger: silent,
  // No crontab file to look for.
  crontab: "",
};

/// Resolves with `null` after `ms`, without keeping the process alive.
const timeout = (ms) =>
  new Promise((resolve) => {
    setTimeout(() => resolve(null), ms).unref();
  });

const progress = (message) => process.stderr.write(`graphile-worker: ${message}\n`);

/// Starts a runner whose no-op task calls `onStart(payload)` and waits until its LISTEN
/// connection is up, so that no notification is missed.
async function startRunner(onStart, onComplete) {
  const events = new EventEmitter();
  const listening = once(events, "pool:listen:success");
  events.on("job:complete", onComplete);
  const runner = await run({
    ...options,
    events,
    taskList: {
      [TASK]: async (payload) => {
        onStart(payload);
      },
    },
  });
  await Promise.race([listening, timeout(10_000)]);
  // The same settling time as the Keynet side.
  await sleep(500);
  return runner;
}

async function measureThroughput(utils) {
  let completed = 0;
  let finished;
  const done = new Promise((resolve) => {
    finished = resolve;
  });
  const runner = await startRunner(
    () => {},
    () => {
      completed += 1;
      if (completed === plan.tasks) {
        finished(performance.now());
      }
    },
  );
  const specs = Array.from({ length: plan.tasks }, (_, i) => ({
    identifier: TASK,
    payload: { i },
  }));
  progress(`adding ${plan.tasks} jobs in one transaction`);
  await utils.addJobs(specs);
  const committed = performance.now();
  const end = await Promise.race([done, timeout(600_000)]);
  await runner.stop();
  if (end === null) {
    throw new Error(`only ${completed} of ${plan.tasks} jobs completed in 10 minutes`);
  }
  const seconds = (end - committed) / 1000;
  progress(`${plan.tasks} jobs in ${seconds.toFixed(2)} s`);
  return { tasks: plan.tasks, seconds, tasks_per_s: plan.tasks / seconds };
}

async function measureLatency(utils) {
  const total = plan.warmupSamples + plan.samples;
  const commitSent = new Array(total).fill(null);
  const commitMs = new Array(total).fill(null);
  const startedAt = new Array(total).fill(null);
  let started = 0;
  const runner = await startRunner(
    (payload) => {
      startedAt[payload.i] = performance.now();
      started += 1;
    },
    () => {},
  );
  progress(`${total} jobs one at a time, ${plan.spacingMs} ms apart`);
  const origin = performance.now();
  for (let i = 0; i < total; i++) {
    const due = origin + i * plan.spacingMs;
    const wait = due - performance.now();
    if (wait > 0) {
      await sleep(wait);
    }
    // What `addJob` runs, in a transaction of its own so that the COMMIT can be timed.
    await utils.withPgClient(async (client) => {
      await client.query("begin");
      await client.query("select graphile_worker.add_job($1, $2::json)", [
        TASK,
        JSON.stringify({ i }),
      ]);
      const sent = performance.now();
      await client.query("commit");
      commitSent[i] = sent;
      commitMs[i] = performance.now() - sent;
    });
  }
  const deadline = performance.now() + 10_000;
  while (started < total && performance.now() < deadline) {
    await sleep(5);
  }
  await runner.stop();
  if (started < total) {
    throw new Error(`only ${started} of ${total} jobs started within 10 s`);
  }
  const samples = [];
  const commits = [];
  for (let i = plan.warmupSamples; i < total; i++) {
    // The task cannot start before COMMIT was sent (it cannot see the job earlier).
    samples.push(Math.max(0, startedAt[i] - commitSent[i]));
    commits.push(commitMs[i]);
  }
  return { samples_ms: samples, commit_ms: commits };
}

/// Nearest rank, as the Rust side computes it.
function percentile(sorted, p) {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

function table(result) {
  const lines = [`### graphile-worker ${result.version}`, ""];
  if (result.throughput) {
    const t = result.throughput;
    lines.push(
      `Throughput (no-op tasks, ${plan.concurrency} workers):`,
      "",
      "| system | tasks | seconds | tasks/s |",
      "|---|--:|--:|--:|",
      `| graphile-worker ${result.version} | ${t.tasks} | ${t.seconds.toFixed(2)} | ${Math.round(t.tasks_per_s)} |`,
      "",
    );
  }
  if (result.latency) {
    const sorted = [...result.latency.samples_ms].sort((a, b) => a - b);
    const commits = [...result.latency.commit_ms].sort((a, b) => a - b);
    const f = (v) => v.toFixed(2);
    lines.push(
      `COMMIT sent → task start (${plan.spacingMs} ms apart, ${plan.concurrency} idle workers):`,
      "",
      "| system | samples | p50 ms | p95 ms | p99 ms | max ms | COMMIT round trip p50 ms |",
      "|---|--:|--:|--:|--:|--:|--:|",
      `| graphile-worker ${result.version} | ${sorted.length} | ${f(percentile(sorted, 50))} | ${f(percentile(sorted, 95))} | ${f(percentile(sorted, 99))} | ${f(sorted[sorted.length - 1])} | ${f(percentile(commits, 50))} |`,
      "",
    );
  }
  return lines.join("\n");
}

const utils = await makeWorkerUtils({ connectionString: plan.databaseUrl, logger: silent });
try {
  await utils.migrate();
  const result = { system: "graphile-worker", version, concurrency: plan.concurrency };
  if (plan.measure !== "latency") {
    result.throughput = await measureThroughput(utils);
  }
  if (plan.measure !== "throughput") {
    result.latency = await measureLatency(utils);
  }
  process.stdout.write(args.json ? `${JSON.stringify(result)}\n` : table(result));
} finally {
  await utils.release();
}
