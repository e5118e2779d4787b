//! What an ended job attempt used, as ledger facts.

use crate::ledger::Usage;
use crate::meters::Meter;
use keynet_domain::entities::jobs::{self, JobKind};
use keynet_domain::ids::OrgId;
use keynet_domain::jobs::billing::AttemptUsage;
use keynet_domain::time::now;

/// Whole seconds, rounded up: a started second is billed.
fn seconds(milliseconds: f64) -> i64 {
    (milliseconds / 1000.0).ceil().max(0.0) as i64
}

/// The facts of one attempt: GPU-seconds (when it asked for GPUs) and CPU-seconds, keyed by
/// job, attempt and meter. `trainer_org` owns the trainer version it ran.
pub fn attempt_facts(usage: &AttemptUsage<'_>, trainer_org: Option<OrgId>) -> Vec<Usage> {
    let job = usage.job;
    let runtime = usage.runtime_ms.max(0) as f64;
    let credit = credit_reason(job, usage.platform_fault.as_deref());
    let fact = |meter: Meter, quantity: i64| Usage {
        org_id: job.org_id,
        meter,
        quantity,
        idempotency_key: format!("job:{}:attempt:{}:{}", job.id, job.attempt, meter.name()),
        occurred_at: job.finished_at.unwrap_or_else(now),
        project_id: Some(job.project_id),
        experiment_id: job.experiment_id,
        job_id: Some(job.id),
        trainer_version_id: Some(job.trainer_version_id),
        trainer_org_id: trainer_org,
        deployment_id: None,
        deployment_key_id: None,
        credit_reason: credit.clone(),
    };
    let mut facts = Vec::with_capacity(2);
    if job.resources.gpus > 0 {
        facts.push(fact(
            Meter::GpuSeconds,
            seconds(runtime * f64::from(job.resources.gpus)),
        ));
    }
    facts.push(fact(
        Meter::CpuSeconds,
        seconds(runtime * job.resources.cpus.max(0.0)),
    ));
    facts
}

/// The one request an inference job stands for, recorded when it is admitted.
pub fn inference_request(job_id: keynet_domain::ids::JobId, org: OrgId) -> Usage {
    Usage {
        org_id: org,
        meter: Meter::InferenceRequests,
        quantity: 1,
        idempotency_key: format!("job:{job_id}:inference_request"),
        occurred_at: now(),
        project_id: None,
        experiment_id: None,
        job_id: Some(job_id),
        trainer_version_id: None,
        trainer_org_id: None,
        deployment_id: None,
        deployment_key_id: None,
        credit_reason: None,
    }
}

fn credit_reason(job: &jobs::Model, platform_fault: Option<&str>) -> Option<String> {
    if job.kind == JobKind::Validation {
        return Some("the marketplace's compliance run".into());
    }
    platform_fault.map(|fault| format!("platform failure ({fault})"))
}

/// Endpoint requests answered for `deployment` through `key` (none: a member's token) in
/// one flush of an API instance's counters: `flush` numbers the instance's flushes, so a
/// retried write of the same flush is stored once.
pub struct EndpointRequests {
    pub org_id: OrgId,
    pub project_id: keynet_domain::ids::ProjectId,
    pub deployment_id: keynet_domain::ids::DeploymentId,
    pub key_id: Option<keynet_domain::ids::DeploymentKeyId>,
    pub instance: uuid::Uuid,
    pub flush: u64,
    pub requests: i64,
}

pub fn endpoint_requests(counted: EndpointRequests) -> Usage {
    let caller = counted
        .key_id
        .map_or_else(|| "member".to_string(), |key| key.to_string());
    Usage {
        org_id: counted.org_id,
        meter: Meter::InferenceRequests,
        quantity: counted.requests,
        idempotency_key: format!(
            "deployment:{}:caller:{caller}:instance:{}:flush:{}",
            counted.deployment_id, counted.instance, counted.flush
        ),
        occurred_at: now(),
        project_id: Some(counted.project_id),
        experiment_id: None,
        job_id: None,
        trainer_version_id: None,
        trainer_org_id: None,
        deployment_id: Some(counted.deployment_id),
        deployment_key_id: counted.key_id,
        credit_reason: None,
    }
}

/// A replica's CPU time since its previous beat: CPUs asked × whole seconds (rounded up),
/// keyed by replica and beat.
pub fn replica_time(
    deployment: &keynet_domain::entities::deployments::Model,
    replica: keynet_domain::ids::ReplicaId,
    beat: u64,
    elapsed_ms: u64,
) -> Usage {
    Usage {
        org_id: deployment.org_id,
        meter: Meter::CpuSeconds,
        quantity: seconds(elapsed_ms as f64 * deployment.resources.cpus.max(0.0)),
        idempotency_key: format!("replica:{replica}:beat:{beat}:cpu_seconds"),
        occurred_at: now(),
        project_id: Some(deployment.project_id),
        experiment_id: None,
        job_id: None,
        trainer_version_id: None,
        trainer_org_id: None,
        deployment_id: Some(deployment.id),
        deployment_key_id: None,
        credit_reason: None,
    }
}
