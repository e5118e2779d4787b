use keynet_domain::ids::{OrgId, RegistryUploadId, TrainerId};
use sea_orm::FromJsonQueryResult;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One request's worth of an upload, stored as it arrived.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadPart {
    pub key: String,
    pub size: i64,
    /// `sha256:<hex>` of this part alone: an upload sent in one part needs no second read.
    pub digest: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize, FromJsonQueryResult)]
pub struct UploadParts(pub Vec<UploadPart>);

/// A blob upload in progress (`POST …/blobs/uploads/`), resumable until it is finished with
/// its digest or cancelled.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "registry_uploads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: RegistryUploadId,
    pub org_id: OrgId,
    pub trainer_id: TrainerId,
    #[sea_orm(column_type = "JsonBinary")]
    pub parts: UploadParts,
    /// Bytes received so far: the next chunk starts here.
    pub size: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
