use crate::entities::datasets::TaskTypes;
use crate::entities::trainers::Names;
use crate::ids::{OrgId, TrainerId, TrainerVersionId, UserId};
use keynet_hyperparameters::HyperParameterSchema;
use sea_orm::FromJsonQueryResult;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// How a version's workload is started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    /// A container image, run by the Docker executor; `reference` is its image id.
    #[sea_orm(string_value = "image")]
    Image,
    /// A program on the worker host, run by the process executor; `reference` is its path.
    #[sea_orm(string_value = "local")]
    Local,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "lowercase")]
pub enum VersionStatus {
    /// An upload key was issued; the image has not been pushed yet.
    #[sea_orm(string_value = "awaiting_upload")]
    AwaitingUpload,
    /// Pushed; the manifest, config, labels and sizes are being checked.
    #[sea_orm(string_value = "validating")]
    Validating,
    /// The layers are being scanned (inventory, vulnerabilities, secrets, misconfiguration).
    #[sea_orm(string_value = "scanning")]
    Scanning,
    /// The compliance run: a validation job on a tiny dataset under the sandbox.
    #[sea_orm(string_value = "test_run")]
    TestRun,
    /// Usable by jobs. Registered private images are ready at once; pushed ones get here
    /// through the marketplace's checks.
    #[sea_orm(string_value = "ready")]
    Ready,
    #[sea_orm(string_value = "rejected")]
    Rejected,
    /// Its upload key expired unused: nothing was pushed, nothing can be any more. Its
    /// version number stays taken (numbers are never reused).
    #[sea_orm(string_value = "expired")]
    Expired,
}

impl VersionStatus {
    /// Ready, rejected and expired versions never change again.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Ready | Self::Rejected | Self::Expired)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Passed,
    /// Reported, not blocking.
    Warning,
    /// Blocks the version: it is rejected.
    Failed,
}

/// One line of a version's check report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// What was checked, e.g. `platform`, `labels`, `scan.vulnerabilities`.
    pub name: String,
    pub status: CheckStatus,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize, FromJsonQueryResult)]
pub struct Checks(pub Vec<Check>);

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "trainer_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: TrainerVersionId,
    pub org_id: OrgId,
    pub trainer_id: TrainerId,
    pub version: i32,
    /// The image (or program) as the user named it.
    pub image: String,
    pub runtime: Runtime,
    /// What executors run: the image id (`sha256:…`), never a movable tag; or a path.
    pub reference: String,
    pub status: VersionStatus,
    pub framework: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub hyperparameters: HyperParameterSchema,
    #[sea_orm(column_type = "JsonBinary")]
    pub task_types: TaskTypes,
    #[sea_orm(column_type = "JsonBinary")]
    pub export_formats: Names,
    /// The manifest (or index) digest a pushed version is pinned to.
    pub manifest_digest: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub checks: Checks,
    /// The scan report (the marketplace's `ScanReport`), once scanned.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub scan: Option<Json>,
    pub created_by: Option<UserId>,
    pub created_at: DateTimeUtc,
    pub updated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
