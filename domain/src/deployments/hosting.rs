//! The worker hosts' side of deployments. Every host reconciles on its own, from the
//! database alone, so hosts need no leader and agree without talking:
//! - a deployment waiting for its export starts once the export exists, or fails with the
//!   export's reason;
//! - how many replicas a deployment wants follows from its settings, the load its replicas
//!   reported and how long it has been idle ([`wanted_replicas`]);
//! - a replica is a slot `0..wanted`; a host claims a free slot by inserting its row (the
//!   unique slot decides between hosts), keeps it alive with heartbeats, and gives back
//!   slots at or above the wanted count. A host that dies stops beating, and its slots are
//!   freed for others once the lease runs out.

use super::{announce, ready_replicas};
use crate::domain::Domain;
use crate::entities::deployment_replicas::{self, ReplicaStatus};
use crate::entities::deployments::{self, DeploymentStatus};
use crate::entities::job_artifacts;
use crate::entities::jobs::{self, JobStatus};
use crate::entities::projects::{self, TaskType};
use crate::error::{Error, Result};
use crate::ids::{DeploymentId, ReplicaId, ServingHostId};
use crate::time::{Timestamp, now};
use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, SqlErr};

/// `last_request_at` is written at most this often per deployment.
const LAST_REQUEST_RESOLUTION_SECS: i64 = 5;

/// How many replicas `deployment` wants now: none when stopped (or idle past its period
/// with a minimum of zero), else enough for the load its replicas reported (a replica
/// takes `max_batch_size` requests at once), between the minimum and the maximum; at least
/// one while it starts or was called within the idle period.
pub fn wanted_replicas(
    deployment: &deployments::Model,
    replicas: &[deployment_replicas::Model],
    at: Timestamp,
) -> i32 {
    if !deployment.status.wants_replicas() || deployment.artifact_id.is_none() {
        return 0;
    }
    if deployment.status == DeploymentStatus::ScaledToZero {
        return deployment.min_replicas;
    }
    let load: u64 = replicas.iter().map(|r| r.load.max(0) as u64).sum();
    let per_replica = deployment.max_batch_size.max(1) as u64;
    let for_load = i32::try_from(load.div_ceil(per_replica)).unwrap_or(i32::MAX);
    let idle = deployment.min_replicas == 0
        && deployment.status == DeploymentStatus::Ready
        && idle_since(deployment)
            <= at - Duration::seconds(i64::from(deployment.idle_seconds_before_scale_to_zero));
    let floor = if idle {
        0
    } else {
        deployment.min_replicas.max(1)
    };
    for_load.max(floor).min(deployment.max_replicas)
}

/// When the deployment was last called, or else became ready.
fn idle_since(deployment: &deployments::Model) -> Timestamp {
    deployment
        .last_request_at
        .unwrap_or(deployment.updated_at)
        .max(deployment.updated_at)
}

impl Domain {
    /// Every deployment a host may have to act on: waiting for an export, or serving.
    pub async fn hosted_deployments(&self) -> Result<Vec<deployments::Model>> {
        Ok(deployments::Entity::find()
            .filter(deployments::Column::Status.is_in([
                DeploymentStatus::Pending,
                DeploymentStatus::Starting,
                DeploymentStatus::Ready,
                DeploymentStatus::ScaledToZero,
            ]))
            .all(&self.db)
            .await?)
    }

    /// The replica rows of one deployment (API instances look for remote replicas).
    pub async fn replicas_of(
        &self,
        deployment: DeploymentId,
    ) -> Result<Vec<deployment_replicas::Model>> {
        Ok(deployment_replicas::Entity::find()
            .filter(deployment_replicas::Column::DeploymentId.eq(deployment))
            .all(&self.db)
            .await?)
    }

    /// Every replica row, of every deployment (hosts read them once per reconciliation).
    pub async fn all_replicas(&self) -> Result<Vec<deployment_replicas::Model>> {
        Ok(deployment_replicas::Entity::find().all(&self.db).await?)
    }

    /// A pending deployment whose export finished starts (or fails, with the export's
    /// reason); one whose export still runs is left as it is.
    pub async fn settle_export(
        &self,
        deployment: deployments::Model,
    ) -> Result<deployments::Model> {
        let Some(export_id) = deployment.export_job_id else {
            return Ok(deployment);
        };
        let export = jobs::Entity::find_by_id(export_id).one(&self.db).await?;
        let Some(export) = export else {
            return self
                .fail_deployment(
                    deployment,
                    "the export job was deleted; create the deployment again",
                )
                .await;
        };
        match export.status {
            JobStatus::Succeeded => match self.onnx_artifact(&export).await? {
                Some(artifact) => {
                    let mut tx = self.begin().await?;
                    let mut changed: deployments::ActiveModel = deployment.into();
                    changed.artifact_id = Set(Some(artifact.id));
                    changed.status = Set(DeploymentStatus::Starting);
                    changed.status_reason = Set(None);
                    changed.updated_at = Set(now());
                    let deployment = changed.update(&*tx).await?;
                    announce(&mut tx, &deployment, 0);
                    self.commit(tx).await?;
                    Ok(deployment)
                }
                None => {
                    self.fail_deployment(
                        deployment,
                        "the export job succeeded but stored no model file; check that the trainer writes its export and reports it",
                    )
                    .await
                }
            },
            JobStatus::Failed | JobStatus::Cancelled => {
                let why = export.error_message.unwrap_or_else(|| {
                    if export.status == JobStatus::Cancelled {
                        "it was cancelled".into()
                    } else {
                        "it failed without a message".into()
                    }
                });
                self.fail_deployment(
                    deployment,
                    &format!("the ONNX export failed: {why}; fix the trainer or the checkpoint and create the deployment again"),
                )
                .await
            }
            _ => Ok(deployment),
        }
    }

    /// The export a deployment serves: its file's key and the metadata the trainer reported.
    pub async fn served_artifact(
        &self,
        deployment: &deployments::Model,
    ) -> Result<job_artifacts::Model> {
        let id = deployment
            .artifact_id
            .ok_or_else(|| Error::conflict("the deployment's export does not exist yet"))?;
        job_artifacts::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound("export"))
    }

    /// The task of the deployment's project: what its model must answer.
    pub async fn served_task(&self, deployment: &deployments::Model) -> Result<TaskType> {
        projects::Entity::find_by_id(deployment.project_id)
            .one(&self.db)
            .await?
            .map(|project| project.task_type)
            .ok_or(Error::NotFound("project"))
    }

    /// Fails a deployment with a reason a person can act on; its replicas go.
    pub async fn fail_deployment(
        &self,
        deployment: deployments::Model,
        reason: &str,
    ) -> Result<deployments::Model> {
        tracing::warn!(deployment = %deployment.id, reason, "deployment failed");
        self.set_status(
            None,
            deployment,
            DeploymentStatus::Failed,
            Some(reason.to_string()),
            "deployment.failed",
        )
        .await
    }

    /// Claims replica `slot` of `deployment` for `host`; `None` when another host has it.
    pub async fn claim_replica(
        &self,
        deployment: &deployments::Model,
        host: ServingHostId,
        address: Option<&str>,
        slot: i32,
    ) -> Result<Option<deployment_replicas::Model>> {
        let at = now();
        let inserted = deployment_replicas::ActiveModel {
            id: Set(ReplicaId::new()),
            org_id: Set(deployment.org_id),
            deployment_id: Set(deployment.id),
            slot: Set(slot),
            host_id: Set(host),
            address: Set(address.map(str::to_string)),
            status: Set(ReplicaStatus::Starting),
            load: Set(0),
            started_at: Set(at),
            ready_at: Set(None),
            heartbeat_at: Set(at),
        }
        .insert(&self.db)
        .await;
        match inserted {
            Ok(replica) => Ok(Some(replica)),
            Err(e) => match e.sql_err() {
                // Another host took the slot first; the foreign key: the deployment is gone.
                Some(SqlErr::UniqueConstraintViolation(_))
                | Some(SqlErr::ForeignKeyConstraintViolation(_)) => Ok(None),
                _ => Err(e.into()),
            },
        }
    }

    /// The replica loaded its model: it takes requests, and its deployment is ready.
    pub async fn replica_ready(&self, replica: ReplicaId) -> Result<()> {
        let mut tx = self.begin().await?;
        let updated = deployment_replicas::Entity::update_many()
            .col_expr(
                deployment_replicas::Column::Status,
                Expr::value(ReplicaStatus::Ready),
            )
            .col_expr(deployment_replicas::Column::ReadyAt, Expr::value(now()))
            .filter(deployment_replicas::Column::Id.eq(replica))
            .exec(&*tx)
            .await?;
        if updated.rows_affected == 0 {
            // Reaped or deleted meanwhile: the host drops it at its next reconciliation.
            return Ok(());
        }
        let Some(row) = deployment_replicas::Entity::find_by_id(replica)
            .one(&*tx)
            .await?
        else {
            return Ok(());
        };
        let Some(deployment) = deployments::Entity::find_by_id(row.deployment_id)
            .one(&*tx)
            .await?
        else {
            return Ok(());
        };
        let deployment = if matches!(
            deployment.status,
            DeploymentStatus::Starting | DeploymentStatus::ScaledToZero
        ) {
            let mut changed: deployments::ActiveModel = deployment.into();
            changed.status = Set(DeploymentStatus::Ready);
            changed.status_reason = Set(None);
            changed.updated_at = Set(now());
            changed.update(&*tx).await?
        } else {
            deployment
        };
        let ready = ready_replicas(&*tx, deployment.id).await?;
        announce(&mut tx, &deployment, ready);
        self.commit(tx).await
    }

    /// Gives a replica's slot back (the host dropped it).
    pub async fn release_replica(&self, replica: &deployment_replicas::Model) -> Result<()> {
        let mut tx = self.begin().await?;
        deployment_replicas::Entity::delete_by_id(replica.id)
            .exec(&*tx)
            .await?;
        if let Some(deployment) = deployments::Entity::find_by_id(replica.deployment_id)
            .one(&*tx)
            .await?
        {
            let ready = ready_replicas(&*tx, deployment.id).await?;
            announce(&mut tx, &deployment, ready);
        }
        self.commit(tx).await
    }

    /// Keeps `host`'s replicas alive, with the load each saw since the last beat.
    pub async fn heartbeat_replicas(
        &self,
        host: ServingHostId,
        loads: &[(ReplicaId, i32)],
    ) -> Result<()> {
        let at = now();
        deployment_replicas::Entity::update_many()
            .col_expr(deployment_replicas::Column::HeartbeatAt, Expr::value(at))
            .filter(deployment_replicas::Column::HostId.eq(host))
            .exec(&self.db)
            .await?;
        for (replica, load) in loads.iter().filter(|(_, load)| *load > 0) {
            deployment_replicas::Entity::update_many()
                .col_expr(deployment_replicas::Column::Load, Expr::value(*load))
                .filter(deployment_replicas::Column::Id.eq(*replica))
                .exec(&self.db)
                .await?;
        }
        // Idle replicas report 0 in one statement.
        let idle: Vec<ReplicaId> = loads
            .iter()
            .filter(|(_, load)| *load <= 0)
            .map(|(replica, _)| *replica)
            .collect();
        if !idle.is_empty() {
            deployment_replicas::Entity::update_many()
                .col_expr(deployment_replicas::Column::Load, Expr::value(0))
                .filter(deployment_replicas::Column::Id.is_in(idle))
                .exec(&self.db)
                .await?;
        }
        Ok(())
    }

    /// Frees the slots of hosts that stopped beating for `lease`; returns how many.
    pub async fn reap_stale_replicas(&self, lease: Duration) -> Result<u64> {
        let stale = deployment_replicas::Entity::find()
            .filter(deployment_replicas::Column::HeartbeatAt.lt(now() - lease))
            .all(&self.db)
            .await?;
        for replica in &stale {
            tracing::warn!(deployment = %replica.deployment_id, host = %replica.host_id, "a replica's host stopped beating; its slot is free again");
            self.release_replica(replica).await?;
        }
        Ok(stale.len() as u64)
    }

    /// A ready deployment that wants no replica (idle, minimum zero) is scaled to zero.
    pub async fn scale_to_zero(
        &self,
        deployment: deployments::Model,
    ) -> Result<deployments::Model> {
        let idle = deployment.idle_seconds_before_scale_to_zero;
        self.set_status(
            None,
            deployment,
            DeploymentStatus::ScaledToZero,
            Some(format!(
                "no request for {idle} s; the next request starts a replica"
            )),
            "deployment.scaled_to_zero",
        )
        .await
    }

    /// A request came: a deployment scaled to zero starts again, and the idle clock is
    /// reset (written at a coarse resolution). Returns the deployment as it is now.
    pub async fn note_request(
        &self,
        deployment: &deployments::Model,
    ) -> Result<deployments::Model> {
        let at = now();
        if deployment.status == DeploymentStatus::ScaledToZero {
            let mut tx = self.begin().await?;
            let woke = deployments::Entity::update_many()
                .col_expr(
                    deployments::Column::Status,
                    Expr::value(DeploymentStatus::Starting),
                )
                .col_expr(
                    deployments::Column::StatusReason,
                    Expr::value(Some("a request came; starting a replica")),
                )
                .col_expr(deployments::Column::LastRequestAt, Expr::value(at))
                .col_expr(deployments::Column::UpdatedAt, Expr::value(at))
                .filter(deployments::Column::Id.eq(deployment.id))
                .filter(deployments::Column::Status.eq(DeploymentStatus::ScaledToZero))
                .exec(&*tx)
                .await?;
            let current = deployments::Entity::find_by_id(deployment.id)
                .one(&*tx)
                .await?
                .ok_or(Error::NotFound("deployment"))?;
            if woke.rows_affected > 0 {
                announce(&mut tx, &current, 0);
            }
            self.commit(tx).await?;
            return Ok(current);
        }
        if deployment
            .last_request_at
            .is_none_or(|last| at - last > Duration::seconds(LAST_REQUEST_RESOLUTION_SECS))
        {
            deployments::Entity::update_many()
                .col_expr(deployments::Column::LastRequestAt, Expr::value(at))
                .filter(deployments::Column::Id.eq(deployment.id))
                .exec(&self.db)
                .await?;
        }
        Ok(deployments::Model {
            last_request_at: Some(at),
            ..deployment.clone()
        })
    }

    /// A deployment by id, for the platform's own use (the endpoint checks the caller).
    pub async fn deployment_by_id(&self, id: DeploymentId) -> Result<Option<deployments::Model>> {
        Ok(deployments::Entity::find_by_id(id).one(&self.db).await?)
    }
}
