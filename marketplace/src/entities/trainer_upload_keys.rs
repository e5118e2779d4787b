use keynet_domain::ids::{OrgId, ProjectId, TrainerId, TrainerVersionId, UploadKeyId, UserId};
use sea_orm::entity::prelude::*;

/// A short-lived credential that lets its holder push one image to one tag of one
/// repository; the push becomes the version it was issued for. Only its hash is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "trainer_upload_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: UploadKeyId,
    pub org_id: OrgId,
    pub trainer_id: TrainerId,
    pub version_id: TrainerVersionId,
    pub project_id: ProjectId,
    pub key_hash: String,
    /// The only tag the key may push.
    pub tag: String,
    pub expires_at: DateTimeUtc,
    /// When the image was pushed with it; a used key grants nothing more.
    pub used_at: Option<DateTimeUtc>,
    pub created_by: Option<UserId>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
