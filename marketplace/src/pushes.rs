//! A push becomes a version. A manifest pushed to a tag with an upload key turns the key's
//! waiting version into a pushed one; a manifest pushed to a tag with an API token (plain
//! `docker push`) is a new version, unless the trainer already has one pinned to the same
//! digest. Either way the version is pinned to the digest and its checks are queued in the
//! same transaction as the manifest.

use super::checks::{CHECK_TRAINER_VERSION, announce_version};
use crate::entities::trainer_upload_keys;
use crate::error::Result;
use crate::registry::{Digest, RegistryCode, RepositoryAccess, refuse};
use keynet_domain::audit::Change;
use keynet_domain::entities::trainer_versions::{self, Runtime, VersionStatus};
use keynet_domain::entities::trainers::Names;
use keynet_domain::jobs::trainers::{NewVersion, insert_version};
use keynet_domain::tasks;
use keynet_domain::time::now;
use keynet_hyperparameters::HyperParameterSchema;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde_json::json;
use {crate::Marketplace, keynet_domain::Tx};

impl Marketplace {
    /// Called by `put_manifest` inside its transaction. `tag` is `None` for a push by digest
    /// (an index's per-platform manifests), which is not a version of its own.
    pub(crate) async fn record_push(
        &self,
        tx: &mut Tx,
        access: &RepositoryAccess,
        tag: Option<&str>,
        digest: &Digest,
    ) -> Result<()> {
        let version = match (access.upload_key, tag) {
            (Some(key), Some(tag)) => self.use_upload_key(tx, access, key, tag, digest).await?,
            // An upload key pushes what an index needs by digest, and only its own tag.
            (Some(_), None) | (None, None) => return Ok(()),
            (None, Some(_)) => match self.new_pushed_version(tx, access, digest).await? {
                Some(version) => version,
                None => return Ok(()),
            },
        };
        tasks::enqueue(
            &**tx,
            CHECK_TRAINER_VERSION,
            json!({"version_id": version.id}),
        )
        .await?;
        let mut change = Change::new(
            version.org_id,
            "trainer.version_pushed",
            "trainer_version",
            version.id,
        )
        .meta(json!({"trainer": access.name, "version": version.version, "digest": digest.as_str(), "tag": tag}));
        if let Some(user) = access.user {
            change = change.by_user(user, None);
        }
        change.record(tx).await?;
        announce_version(tx, &version);
        Ok(())
    }

    async fn use_upload_key(
        &self,
        tx: &mut Tx,
        access: &RepositoryAccess,
        key: keynet_domain::ids::UploadKeyId,
        tag: &str,
        digest: &Digest,
    ) -> Result<trainer_versions::Model> {
        let at = now();
        // One conditional update: of two pushes racing with one key, one wins.
        let used = trainer_upload_keys::Entity::update_many()
            .col_expr(trainer_upload_keys::Column::UsedAt, Expr::value(at))
            .filter(trainer_upload_keys::Column::Id.eq(key))
            .filter(trainer_upload_keys::Column::Tag.eq(tag))
            .filter(trainer_upload_keys::Column::UsedAt.is_null())
            .filter(trainer_upload_keys::Column::ExpiresAt.gt(at))
            .exec(&**tx)
            .await?;
        let key = trainer_upload_keys::Entity::find_by_id(key)
            .one(&**tx)
            .await?;
        let key = match key {
            Some(key) if used.rows_affected == 1 => key,
            Some(key) if key.tag != tag => {
                return Err(refuse(
                    RegistryCode::Denied,
                    format!("this upload key pushes only the tag {}, not {tag}", key.tag),
                ));
            }
            _ => {
                return Err(refuse(
                    RegistryCode::Denied,
                    "this upload key was used or has expired; request a new one",
                ));
            }
        };
        let version = trainer_versions::Entity::find_by_id(key.version_id)
            .one(&**tx)
            .await?
            .filter(|version| version.trainer_id == access.trainer.id)
            .ok_or_else(|| {
                refuse(
                    RegistryCode::Denied,
                    "the version this upload key was issued for no longer exists",
                )
            })?;
        let mut active = version.into_active_model();
        active.status = Set(VersionStatus::Validating);
        active.manifest_digest = Set(Some(digest.to_string()));
        active.image = Set(format!("{}@{digest}", access.name));
        active.updated_at = Set(Some(at));
        Ok(active.update(&**tx).await?)
    }

    /// A new version for a plain push, or `None` when this digest is a version already.
    async fn new_pushed_version(
        &self,
        tx: &mut Tx,
        access: &RepositoryAccess,
        digest: &Digest,
    ) -> Result<Option<trainer_versions::Model>> {
        let existing = trainer_versions::Entity::find()
            .filter(trainer_versions::Column::TrainerId.eq(access.trainer.id))
            .filter(trainer_versions::Column::ManifestDigest.eq(digest.as_str()))
            .one(&**tx)
            .await?;
        if existing.is_some() {
            return Ok(None);
        }
        let at = now();
        let new = NewVersion {
            image: format!("{}@{digest}", access.name),
            runtime: Runtime::Image,
            reference: String::new(),
            status: VersionStatus::Validating,
            framework: String::new(),
            // Declared by the image's labels; read by the validation.
            hyperparameters: HyperParameterSchema::default(),
            task_types: access.trainer.task_types.clone(),
            export_formats: Names::default(),
            manifest_digest: Some(digest.to_string()),
            created_by: access.user,
            at,
        };
        let race = "another version of this trainer was pushed at the same time; push again";
        let version = insert_version(tx, &access.trainer, new, race).await?;
        Ok(Some(version))
    }
}
