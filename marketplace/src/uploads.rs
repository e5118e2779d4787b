//! Upload keys: what `keynet-train push` asks for before it builds. A key names the version
//! it will become (with the hyperparameters the CLI extracted) and lets its holder push
//! exactly one image to exactly one tag of the trainer's repository; it is used up by
//! that push and expires unused after a day.

use crate::Marketplace;
use crate::entities::trainer_upload_keys;
use crate::error::Result;
use chrono::Duration;
use keynet_domain::Error as DomainError;
use keynet_domain::audit::Change;
use keynet_domain::auth::secrets;
use keynet_domain::entities::datasets::TaskTypes;
use keynet_domain::entities::projects;
use keynet_domain::entities::trainer_versions::{self, Runtime, VersionStatus};
use keynet_domain::entities::trainers::{self, Names};
use keynet_domain::ids::{ProjectId, UploadKeyId};
use keynet_domain::jobs::trainers::{NewVersion, insert_version, trainer_named};
use keynet_domain::orgs::org_row;
use keynet_domain::roles::Permission;
use keynet_domain::scoped::find_scoped;
use keynet_domain::time::{Timestamp, now};
use keynet_domain::validate;
use keynet_domain::viewer::Viewer;
use keynet_hyperparameters::{HyperParameter, HyperParameterSchema};
use rand::Rng;
use rand::distributions::Alphanumeric;
use rand::rngs::OsRng;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

/// Upload keys start with this, so `/v2/token` tells them from API tokens.
pub const UPLOAD_KEY_MARK: &str = "kup_";
/// 40 alphanumeric characters: 238 bits.
const UPLOAD_KEY_SECRET_LEN: usize = 40;
const UPLOAD_KEY_TTL_HOURS: i64 = 24;

pub struct UploadRequest {
    pub project_id: ProjectId,
    pub model_name: String,
    pub hyperparameters: Vec<HyperParameter>,
}

/// What the author needs to push: the key (shown once), where and how to push.
pub struct UploadTicket {
    pub version: trainer_versions::Model,
    pub trainer: trainers::Model,
    pub upload_key: String,
    /// `<registry host>/<org>/<trainer>`.
    pub repository: String,
    /// The `docker push` that uploads the image once it is tagged.
    pub command: String,
    pub expires_at: Timestamp,
}

/// A valid, unused upload key and the repository it is for.
pub(crate) struct UploadGrant {
    pub key: trainer_upload_keys::Model,
    pub trainer: trainers::Model,
}

impl Marketplace {
    /// Issues an upload key for the next version of the trainer called `model_name` in the
    /// project's organization, creating the trainer (for the project's task type) on first
    /// use. The version waits in `AWAITING_UPLOAD` until the image is pushed.
    pub async fn request_trainer_upload(
        &self,
        viewer: &Viewer,
        input: UploadRequest,
    ) -> Result<UploadTicket> {
        let project = find_scoped::<projects::Entity>(
            &self.db,
            viewer,
            (projects::Column::Id, input.project_id),
            projects::Column::OrgId,
            "project",
        )
        .await?;
        viewer.require(project.org_id, Permission::PushTrainers)?;
        let name = validate::name("modelName", &input.model_name, 100)?;
        let slug = validate::slugify(&name);
        if slug.is_empty() {
            return Err(
                DomainError::invalid("modelName", "needs at least one letter or digit").into(),
            );
        }
        let schema = HyperParameterSchema::checked(input.hyperparameters)?;
        let org = org_row(&self.db, project.org_id).await?;

        let mut tx = self.begin().await?;
        let trainer = trainer_named(
            &tx,
            viewer,
            project.org_id,
            name,
            TaskTypes(vec![project.task_type]),
            Names::default(),
        )
        .await?;
        let at = now();
        let secret = new_upload_key();
        let repository = format!("{}/{}/{}", self.registry_host(), org.slug, trainer.slug);
        let new = NewVersion {
            image: format!("{repository}:{secret}"),
            runtime: Runtime::Image,
            reference: String::new(),
            status: VersionStatus::AwaitingUpload,
            framework: String::new(),
            hyperparameters: schema,
            task_types: trainer.task_types.clone(),
            export_formats: Names::default(),
            manifest_digest: None,
            created_by: Some(viewer.user_id),
            at,
        };
        let race = "another version of this trainer was requested at the same time; try again";
        let version = insert_version(&tx, &trainer, new, race).await?;
        let expires_at = at + Duration::hours(UPLOAD_KEY_TTL_HOURS);
        let key = trainer_upload_keys::ActiveModel {
            id: Set(UploadKeyId::new()),
            org_id: Set(trainer.org_id),
            trainer_id: Set(trainer.id),
            version_id: Set(version.id),
            project_id: Set(project.id),
            key_hash: Set(secrets::hash(&secret)),
            tag: Set(secret.clone()),
            expires_at: Set(expires_at),
            used_at: Set(None),
            created_by: Set(Some(viewer.user_id)),
            created_at: Set(at),
        }
        .insert(&*tx)
        .await?;
        Change::new(trainer.org_id, "trainer.upload_requested", "trainer_version", version.id)
            .by(viewer)
            .meta(json!({"trainer": trainer.name, "version": version.version, "project": project.id, "upload_key": key.id}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        Ok(UploadTicket {
            command: format!("docker push {repository}:{secret}"),
            repository,
            upload_key: secret,
            version,
            trainer,
            expires_at,
        })
    }

    /// The unexpired, unused key `secret` is, with its repository.
    pub(crate) async fn upload_grant(&self, secret: &str) -> Result<Option<UploadGrant>> {
        let Some(key) = trainer_upload_keys::Entity::find()
            .filter(trainer_upload_keys::Column::KeyHash.eq(secrets::hash(secret)))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        if key.used_at.is_some() || key.expires_at <= now() {
            return Ok(None);
        }
        let trainer = trainers::Entity::find_by_id(key.trainer_id)
            .one(&self.db)
            .await?;
        Ok(trainer.map(|trainer| UploadGrant { key, trainer }))
    }

    /// Moves the versions whose upload key expired unused from `AWAITING_UPLOAD` to
    /// `EXPIRED` (run periodically by the workers; idempotent); returns how many.
    pub async fn expire_unused_upload_keys(&self) -> Result<usize> {
        let at = now();
        let keys = trainer_upload_keys::Entity::find()
            .filter(trainer_upload_keys::Column::UsedAt.is_null())
            .filter(trainer_upload_keys::Column::ExpiresAt.lte(at))
            .filter(
                trainer_upload_keys::Column::VersionId.in_subquery(
                    Query::select()
                        .column(trainer_versions::Column::Id)
                        .from(trainer_versions::Entity)
                        .and_where(
                            Expr::col(trainer_versions::Column::Status)
                                .eq(VersionStatus::AwaitingUpload),
                        )
                        .to_owned(),
                ),
            )
            .all(&self.db)
            .await?;
        let mut expired = 0;
        for key in keys {
            let mut tx = self.begin().await?;
            // Only while it still waits: a push that used the key meanwhile wins.
            let updated = trainer_versions::Entity::update_many()
                .col_expr(
                    trainer_versions::Column::Status,
                    Expr::value(VersionStatus::Expired),
                )
                .col_expr(trainer_versions::Column::UpdatedAt, Expr::value(Some(at)))
                .filter(trainer_versions::Column::Id.eq(key.version_id))
                .filter(trainer_versions::Column::Status.eq(VersionStatus::AwaitingUpload))
                .exec(&*tx)
                .await?;
            if updated.rows_affected == 0 {
                continue;
            }
            Change::new(
                key.org_id,
                "trainer.upload_expired",
                "trainer_version",
                key.version_id,
            )
            .meta(json!({"upload_key": key.id, "expired_at": key.expires_at}))
            .record(&mut tx)
            .await?;
            self.commit(tx).await?;
            expired += 1;
        }
        Ok(expired)
    }

    /// The version the upload key `secret` was issued for, used or expired as well (what
    /// `keynet-train status` follows), to members of its organization only: a key of
    /// another organization is not found, like one that never existed.
    pub async fn version_of_upload_key(
        &self,
        viewer: &Viewer,
        secret: &str,
    ) -> Result<trainer_versions::Model> {
        let key = trainer_upload_keys::Entity::find()
            .filter(trainer_upload_keys::Column::KeyHash.eq(secrets::hash(secret)))
            .one(&self.db)
            .await?
            .ok_or(DomainError::NotFound("upload key"))?;
        if viewer
            .require(key.org_id, Permission::ReadProjects)
            .is_err()
        {
            return Err(DomainError::NotFound("upload key").into());
        }
        Ok(self.domain.trainer_version(viewer, key.version_id).await?)
    }

    /// The registry's `host[:port]`, as clients name it in image references.
    pub fn registry_host(&self) -> &str {
        let url = self.domain.config().public_url.as_str();
        let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        without_scheme.split('/').next().unwrap_or(without_scheme)
    }
}

fn new_upload_key() -> String {
    let body: String = OsRng
        .sample_iter(&Alphanumeric)
        .take(UPLOAD_KEY_SECRET_LEN)
        .map(char::from)
        .collect();
    format!("{UPLOAD_KEY_MARK}{body}")
}
