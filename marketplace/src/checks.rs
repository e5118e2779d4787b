//! The checks a pushed version goes through, run by a worker task: `VALIDATING` (manifest
//! and config, see [`super::validation`]), then `SCANNING` (layers, see [`super::scanning`]),
//! then `TEST_RUN` (see [`super::compliance`]). Each step's report lines are committed and announced before the next
//! step starts, so a worker that dies resumes at the step it was in, and a subscriber
//! watches the report grow.

use super::validation::{self, ImageFacts};
use crate::entities::{registry_blobs, registry_manifests};
use crate::error::{Error, Result};
use keynet_domain::Error as DomainError;
use keynet_domain::entities::datasets::TaskTypes;
use keynet_domain::entities::trainer_versions::{self, Check, CheckStatus, Checks, VersionStatus};
use keynet_domain::entities::trainers::Names;
use keynet_domain::events::{Event, trainer_version_topic};
use keynet_domain::ids::TrainerVersionId;
use keynet_domain::time::now;
use oci_spec::image::{Arch, ImageIndex, ImageManifest, Os};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use tokio::io::AsyncReadExt as _;
use {crate::Marketplace, keynet_domain::Tx};

pub const CHECK_TRAINER_VERSION: &str = "trainer_version.check";

/// Image configs are small; a larger one is refused rather than read whole.
const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// Tells the version's subscribers, once the transaction commits.
pub(crate) fn announce_version(tx: &mut Tx, version: &trainer_versions::Model) {
    tx.announce(
        trainer_version_topic(version.id),
        Event::TrainerVersionUpdated(Box::new(version.clone())),
    );
}

/// What one step decided.
pub(crate) struct StepOutcome {
    pub checks: Vec<Check>,
    pub next: VersionStatus,
    /// Fields the step learned (reference, labels, scan report).
    pub apply: Box<dyn FnOnce(&mut trainer_versions::ActiveModel) + Send>,
}

impl StepOutcome {
    /// `next` when no check failed, else `REJECTED`.
    pub(crate) fn decide(
        checks: Vec<Check>,
        next: VersionStatus,
        apply: Box<dyn FnOnce(&mut trainer_versions::ActiveModel) + Send>,
    ) -> Self {
        let failed = checks.iter().any(|c| c.status == CheckStatus::Failed);
        Self {
            checks,
            next: if failed {
                VersionStatus::Rejected
            } else {
                next
            },
            apply,
        }
    }
}

impl Marketplace {
    /// Runs the version's remaining steps. A version deleted meanwhile, or already past the
    /// steps this worker runs, is left as it is.
    pub async fn check_trainer_version(&self, id: TrainerVersionId) -> Result<()> {
        loop {
            let Some(version) = trainer_versions::Entity::find_by_id(id)
                .one(&self.db)
                .await?
            else {
                return Ok(());
            };
            let outcome = match version.status {
                VersionStatus::Validating => self.validate_version(&version).await?,
                VersionStatus::Scanning => self.scan_version(&version).await?,
                VersionStatus::TestRun => match self.compliance_step(&version).await? {
                    Some(outcome) => outcome,
                    // A compliance job runs; its end queues this check again.
                    None => return Ok(()),
                },
                _ => return Ok(()),
            };
            self.advance(version, outcome).await?;
        }
    }

    async fn advance(&self, version: trainer_versions::Model, outcome: StepOutcome) -> Result<()> {
        let mut checks = version.checks.0.clone();
        checks.extend(outcome.checks);
        let mut active = version.into_active_model();
        active.checks = Set(Checks(checks));
        active.status = Set(outcome.next);
        active.updated_at = Set(Some(now()));
        (outcome.apply)(&mut active);
        let mut tx = self.begin().await?;
        let version = active.update(&*tx).await?;
        announce_version(&mut tx, &version);
        Ok(self.commit(tx).await?)
    }

    async fn validate_version(&self, version: &trainer_versions::Model) -> Result<StepOutcome> {
        let (manifest, config) = match self.pushed_image(version).await? {
            Ok(image) => image,
            Err(check) => {
                return Ok(StepOutcome::decide(
                    vec![check],
                    VersionStatus::Rejected,
                    Box::new(|_| {}),
                ));
            }
        };
        let validation = validation::validate(&manifest, &config, &version.hyperparameters);
        let apply: Box<dyn FnOnce(&mut trainer_versions::ActiveModel) + Send> =
            match validation.facts {
                Some(facts) => Box::new(move |active| apply_facts(active, facts)),
                None => Box::new(|_| {}),
            };
        Ok(StepOutcome::decide(
            validation.checks,
            VersionStatus::Scanning,
            apply,
        ))
    }

    /// The image manifest the version is pinned to (for an index, its linux/amd64 or else
    /// linux/arm64 image) and its config blob; a failed `manifest` check when either is
    /// missing or malformed.
    pub(crate) async fn pushed_image(
        &self,
        version: &trainer_versions::Model,
    ) -> Result<std::result::Result<(ImageManifest, Vec<u8>), Check>> {
        let fail = |message: String| {
            Err(Check {
                name: "manifest".into(),
                status: CheckStatus::Failed,
                message,
            })
        };
        let Some(digest) = version.manifest_digest.clone() else {
            return Ok(fail("the version has no pushed manifest".into()));
        };
        let Some(mut row) =
            registry_manifests::Entity::find_by_id((version.trainer_id, digest.clone()))
                .one(&self.db)
                .await?
        else {
            return Ok(fail(format!(
                "the manifest {digest} is no longer in the registry"
            )));
        };
        if row.media_type.contains("index") || row.media_type.contains("list") {
            let index = match ImageIndex::from_reader(row.content.as_bytes()) {
                Ok(index) => index,
                Err(e) => return Ok(fail(format!("the index does not parse: {e}"))),
            };
            let child = [Arch::Amd64, Arch::ARM64].iter().find_map(|arch| {
                index.manifests().iter().find(|m| {
                    m.platform()
                        .as_ref()
                        .is_some_and(|p| *p.os() == Os::Linux && p.architecture() == arch)
                })
            });
            let Some(child) = child else {
                return Ok(fail(
                    "the index has no linux/amd64 or linux/arm64 image".into(),
                ));
            };
            let child_digest = child.digest().to_string();
            match registry_manifests::Entity::find_by_id((version.trainer_id, child_digest.clone()))
                .one(&self.db)
                .await?
            {
                Some(child) => row = child,
                None => return Ok(fail(format!("the index's image {child_digest} is missing"))),
            }
        }
        let manifest = match ImageManifest::from_reader(row.content.as_bytes()) {
            Ok(manifest) => manifest,
            Err(e) => return Ok(fail(format!("the manifest does not parse: {e}"))),
        };
        let config_digest = manifest.config().digest().to_string();
        if manifest.config().size() > MAX_CONFIG_BYTES {
            return Ok(fail(format!(
                "the image config has {} bytes; at most {MAX_CONFIG_BYTES}",
                manifest.config().size()
            )));
        }
        let Some(blob) = registry_blobs::Entity::find_by_id(config_digest.clone())
            .one(&self.db)
            .await?
        else {
            return Ok(fail(format!("the config blob {config_digest} is missing")));
        };
        let mut config = Vec::new();
        self.blobs
            .open(&blob.key)
            .await
            .map_err(DomainError::storage)?
            .take(MAX_CONFIG_BYTES)
            .read_to_end(&mut config)
            .await
            .map_err(Error::internal)?;
        Ok(Ok((manifest, config)))
    }
}

fn apply_facts(active: &mut trainer_versions::ActiveModel, facts: ImageFacts) {
    active.reference = Set(facts.config_digest);
    active.task_types = Set(TaskTypes(facts.task_types));
    active.framework = Set(facts.frameworks.join(","));
    active.export_formats = Set(Names(facts.export_formats));
    if let Some(schema) = facts.hyperparameters {
        active.hyperparameters = Set(schema);
    }
}
