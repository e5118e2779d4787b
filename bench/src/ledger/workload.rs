//! What the writers send: distinct usage facts shaped like the platform's (an attempt's
//! GPU-seconds and CPU-seconds, an inference request), split among the writers, and each
//! writer's statements for the two modes: with re-sent facts for the ledger, without them
//! for the plain inserts.
//!
//! Re-sends are of two kinds, alternating: a writer re-sending one of its own facts from an
//! earlier statement (a retried task: the row is committed by then), and a writer re-sending
//! facts of another writer's statement of the same rank (two workers reporting the same
//! fact), which with writers running abreast is usually in flight at that moment.
//!
//! The second kind is arranged so that the ledger cannot deadlock: PostgreSQL makes a
//! statement wait for any uncommitted row with the same key, and two multi-row statements
//! that each hold a key the other wants would wait for each other. Copies keep the order
//! they have in their source statement, and the copying pattern has no ring (writer w
//! copies from writer w − 1's statement of the same rank; writer 0 from the last writer's
//! previous statement), so no wait can close a cycle.

use keynet_billing::ledger::Usage;
use keynet_billing::metering::inference_request;
use keynet_billing::meters::Meter;
use keynet_domain::ids::{JobId, OrgId, ProjectId, TrainerVersionId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The same seed every run: every run draws the same quantities and re-sends (the ids, UUID
/// v7 as the platform's, are new each time).
const SEED: u64 = 0x6c65_6467_6572;

/// How far back a retry reaches, in statements.
const RETRY_WINDOW: usize = 20;

/// One statement's facts, as indices into [`Workload::facts`].
#[derive(Clone, Debug)]
pub struct Batch {
    pub facts: Vec<usize>,
    /// How many of them are the writer's own facts, sent for the first time (the others are
    /// re-sends).
    pub originals: usize,
}

pub struct Workload {
    /// The distinct facts; writer w owns `w * per_writer .. (w + 1) * per_writer`.
    pub facts: Vec<Usage>,
    /// Per writer, the statements of the ledger mode, re-sends included.
    pub dedup: Vec<Vec<Batch>>,
    /// Per writer, its own facts once each, in statements of the same size.
    pub plain: Vec<Vec<Batch>>,
    /// Re-sends of a writer's own earlier facts.
    pub resent_by_same: usize,
    /// Re-sends of another writer's facts.
    pub resent_by_other: usize,
}

impl Workload {
    pub fn offered(&self) -> usize {
        self.facts.len() + self.resent_by_same + self.resent_by_other
    }

    pub fn quantity_sum(&self) -> i64 {
        self.facts.iter().map(|f| f.quantity).sum()
    }
}

/// Facts in groups of three: a training attempt's GPU-seconds and CPU-seconds (keys as
/// `metering::attempt_facts` makes them), then an inference request (made by
/// `metering::inference_request` itself), spread over `orgs`.
pub fn facts(count: usize, orgs: &[OrgId]) -> Vec<Usage> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let start = chrono::DateTime::UNIX_EPOCH + chrono::Duration::days(20_000);
    let mut facts = Vec::with_capacity(count);
    let mut group = 0usize;
    while facts.len() < count {
        let org = orgs[group % orgs.len()];
        let author = orgs[(group * 7 + 3) % orgs.len()];
        let at = start + chrono::Duration::milliseconds(group as i64);
        let job = JobId::new();
        let project = ProjectId::new();
        let trainer = TrainerVersionId::new();
        let runtime: i64 = rng.gen_range(30..36_000);
        for (meter, quantity) in [
            (Meter::GpuSeconds, runtime * rng.gen_range(1..=8)),
            (Meter::CpuSeconds, runtime * rng.gen_range(1..=16)),
        ] {
            facts.push(Usage {
                org_id: org,
                meter,
                quantity,
                idempotency_key: format!("job:{job}:attempt:1:{}", meter.name()),
                occurred_at: at,
                project_id: Some(project),
                experiment_id: None,
                job_id: Some(job),
                trainer_version_id: Some(trainer),
                trainer_org_id: Some(author),
                deployment_id: None,
                deployment_key_id: None,
                credit_reason: None,
            });
        }
        let mut request = inference_request(JobId::new(), org);
        request.project_id = Some(project);
        facts.push(request);
        group += 1;
    }
    facts.truncate(count);
    facts
}

/// Splits `facts` among `writers` (a multiple of them) and lays out their statements of
/// `batch` facts; `resent_percent` (at most 100) of each writer's facts are sent twice.
pub fn workload(
    facts: Vec<Usage>,
    writers: usize,
    batch: usize,
    resent_percent: usize,
) -> Workload {
    let per_writer = facts.len() / writers;
    let ranks = layout(per_writer, per_writer * resent_percent / 100, batch);
    // Where each statement's originals start among its writer's facts.
    let starts: Vec<usize> = ranks
        .iter()
        .scan(0, |next, rank| {
            let start = *next;
            *next += rank.originals;
            Some(start)
        })
        .collect();
    let mut rng = StdRng::seed_from_u64(SEED);
    // Per writer and statement, how many of its originals the next writer copied: copies
    // are taken in order, so they keep the order of their source.
    let mut copied = vec![vec![0; ranks.len()]; writers];
    let mut dedup = Vec::with_capacity(writers);
    let (mut resent_by_same, mut resent_by_other) = (0, 0);
    for w in 0..writers {
        let mut statements = Vec::with_capacity(ranks.len());
        for (rank, shape) in ranks.iter().enumerate() {
            let own = w * per_writer;
            // Own facts of statements already committed.
            let earlier = starts[rank.saturating_sub(RETRY_WINDOW)]..starts[rank];
            let mut sent = Vec::with_capacity(shape.slots.len());
            let mut next_original = own + starts[rank];
            for slot in &shape.slots {
                let copy = match slot {
                    Slot::Original => {
                        sent.push(next_original);
                        next_original += 1;
                        continue;
                    }
                    Slot::Retry if !earlier.is_empty() => None,
                    // The first statement has nothing of its writer's to retry: it copies.
                    Slot::Retry | Slot::Copy => {
                        copy_source(&ranks, &starts, &mut copied, per_writer, w, rank)
                    }
                };
                match copy {
                    Some(fact) => {
                        resent_by_other += 1;
                        sent.push(fact);
                    }
                    // A retry, or a copy whose source has no original left (statements of a
                    // few facts).
                    None if !earlier.is_empty() => {
                        resent_by_same += 1;
                        sent.push(own + rng.gen_range(earlier.clone()));
                    }
                    None => {}
                }
            }
            statements.push(Batch {
                facts: sent,
                originals: shape.originals,
            });
        }
        dedup.push(statements);
    }
    let plain = (0..writers)
        .map(|w| {
            (w * per_writer..(w + 1) * per_writer)
                .collect::<Vec<_>>()
                .chunks(batch)
                .map(|c| Batch {
                    facts: c.to_vec(),
                    originals: c.len(),
                })
                .collect()
        })
        .collect();
    Workload {
        facts,
        dedup,
        plain,
        resent_by_same,
        resent_by_other,
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Slot {
    Original,
    /// A re-send of one of the writer's own earlier facts.
    Retry,
    /// A re-send of a fact another writer sends at about the same time.
    Copy,
}

/// The shape of the statements of one rank, the same for every writer.
struct Shape {
    slots: Vec<Slot>,
    originals: usize,
}

/// `originals + resends` slots in statements of `batch`, the re-sends spread evenly (never
/// two in a row, as there are at most as many as originals) and alternating in kind.
fn layout(originals: usize, resends: usize, batch: usize) -> Vec<Shape> {
    let total = originals + resends;
    let mut slots = Vec::with_capacity(total);
    let mut resent = 0;
    for p in 0..total {
        if (p + 1) * resends / total > p * resends / total {
            slots.push(if resent % 2 == 0 {
                Slot::Copy
            } else {
                Slot::Retry
            });
            resent += 1;
        } else {
            slots.push(Slot::Original);
        }
    }
    slots
        .chunks(batch)
        .map(|chunk| Shape {
            slots: chunk.to_vec(),
            originals: chunk.iter().filter(|s| **s == Slot::Original).count(),
        })
        .collect()
}

/// The next fact for writer `w`'s statement of rank `rank` to copy: from the previous
/// writer's statement of the same rank, or for writer 0 from the last writer's previous
/// statement (its last for rank 0), so the copying never closes a ring. A statement of a
/// single fact that has no original (batch 1) copies the nearest earlier one that has.
fn copy_source(
    ranks: &[Shape],
    starts: &[usize],
    copied: &mut [Vec<usize>],
    per_writer: usize,
    w: usize,
    rank: usize,
) -> Option<usize> {
    let writers = copied.len();
    let source = (w + writers - 1) % writers;
    let mut from = match (w, rank) {
        (0, 0) => ranks.len() - 1,
        (0, _) => rank - 1,
        _ => rank,
    };
    while ranks[from].originals == 0 {
        from = from.checked_sub(1)?;
    }
    let taken = &mut copied[source][from];
    if *taken == ranks[from].originals {
        return None;
    }
    *taken += 1;
    Some(source * per_writer + starts[from] + *taken - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn sample(writers: usize, per_writer: usize, batch: usize) -> Workload {
        let orgs: Vec<OrgId> = (0..5).map(|_| OrgId::new()).collect();
        workload(facts(writers * per_writer, &orgs), writers, batch, 10)
    }

    #[test]
    fn facts_are_distinct_and_shaped_like_the_platforms() {
        let orgs = [OrgId::new(), OrgId::new()];
        let facts = facts(10, &orgs);
        assert_eq!(facts.len(), 10);
        let keys: HashSet<&str> = facts.iter().map(|f| f.idempotency_key.as_str()).collect();
        assert_eq!(keys.len(), 10);
        assert!(facts[0].idempotency_key.ends_with(":attempt:1:gpu_seconds"));
        assert!(facts[1].idempotency_key.ends_with(":attempt:1:cpu_seconds"));
        assert!(facts[2].idempotency_key.ends_with(":inference_request"));
    }

    #[test]
    fn every_fact_is_sent_once_by_its_writer_and_ten_percent_again() {
        for batch in [1, 2, 3, 7, 100] {
            let w = sample(4, 1000, batch);
            assert_eq!(
                w.resent_by_same + w.resent_by_other,
                4 * 100,
                "batch {batch}"
            );
            assert!(w.resent_by_other >= w.resent_by_same, "batch {batch}");
            for (writer, statements) in w.dedup.iter().enumerate() {
                let own = writer * 1000..(writer + 1) * 1000;
                let mut originals: Vec<usize> = statements
                    .iter()
                    .flat_map(|s| s.facts.iter().copied().filter(|f| own.contains(f)))
                    .collect();
                originals.sort_unstable();
                originals.dedup();
                assert_eq!(originals, own.clone().collect::<Vec<_>>(), "batch {batch}");
                assert!(statements.iter().all(|s| s.facts.len() <= batch));
            }
            let sent: usize = w.dedup.iter().flatten().map(|s| s.facts.len()).sum();
            assert_eq!(sent, w.offered());
            let plain: Vec<usize> = w
                .plain
                .iter()
                .flatten()
                .flat_map(|s| s.facts.clone())
                .collect();
            assert_eq!(plain, (0..4000).collect::<Vec<_>>());
        }
    }

    /// Facts of another writer come from the statement of the same rank of the previous
    /// writer (writer 0: the last writer's previous one), in their order there: two
    /// statements in flight never wait for each other.
    #[test]
    fn copies_keep_their_order_and_form_no_ring() {
        let (writers, per_writer) = (4, 1000);
        let w = sample(writers, per_writer, 100);
        let ranks = w.dedup[0].len();
        for (writer, statements) in w.dedup.iter().enumerate() {
            let source = (writer + writers - 1) % writers;
            for (rank, statement) in statements.iter().enumerate() {
                let copies: Vec<usize> = statement
                    .facts
                    .iter()
                    .copied()
                    .filter(|f| f / per_writer != writer)
                    .collect();
                let from = match (writer, rank) {
                    (0, 0) => ranks - 1,
                    (0, _) => rank - 1,
                    _ => rank,
                };
                let there = &w.dedup[source][from].facts;
                assert!(copies.iter().all(|f| there.contains(f)));
                assert!(copies.windows(2).all(|p| p[0] < p[1]));
                let positions: Vec<usize> = copies
                    .iter()
                    .map(|f| there.iter().position(|g| g == f).unwrap_or(usize::MAX))
                    .collect();
                assert!(positions.windows(2).all(|p| p[0] < p[1]));
            }
        }
    }
}
