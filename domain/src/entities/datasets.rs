use crate::entities::dataset_uploads::UploadStatus;
use crate::entities::projects::TaskType;
use crate::ids::{DatasetId, DatasetUploadId, OrgId, ProjectId, UserId};
use sea_orm::FromJsonQueryResult;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// How the latest import stands (not whether the dataset has content: see
/// [`Model::has_content`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ImportStatus {
    /// Nothing imported yet.
    #[sea_orm(string_value = "empty")]
    Empty,
    #[sea_orm(string_value = "queued")]
    Queued,
    #[sea_orm(string_value = "importing")]
    Importing,
    #[sea_orm(string_value = "ready")]
    Ready,
    /// The last import failed; the dataset keeps what it had before.
    #[sea_orm(string_value = "failed")]
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct TaskTypes(pub Vec<TaskType>);

/// How images without a given split are divided: ratios (summing to 1) and a seed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct SplitConfig {
    pub train: f64,
    pub val: f64,
    pub test: f64,
    pub seed: u64,
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self {
            train: 0.8,
            val: 0.1,
            test: 0.1,
            seed: 42,
        }
    }
}

impl Eq for SplitConfig {}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "datasets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: DatasetId,
    pub org_id: OrgId,
    pub project_id: ProjectId,
    pub name: String,
    pub description: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub task_types: TaskTypes,
    #[sea_orm(column_type = "JsonBinary")]
    pub split_config: SplitConfig,
    pub import_status: ImportStatus,
    /// The detected format of the last successful import.
    pub format: Option<String>,
    /// The blob holding the current content (images by hash, annotations, splits).
    pub manifest_key: Option<String>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub statistics: Option<Json>,
    /// The upload of the latest import, when it reached `import_status`, and why it was
    /// refused.
    pub last_import_upload_id: Option<DatasetUploadId>,
    pub last_import_at: Option<DateTimeUtc>,
    pub last_import_error: Option<String>,
    pub created_by: Option<UserId>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The latest import of a dataset, as its upload's status.
#[derive(Clone, Debug, PartialEq)]
pub struct LastImport {
    pub upload_id: DatasetUploadId,
    pub status: UploadStatus,
    /// Why it was refused: the first problem and how many more there were.
    pub error: Option<String>,
    /// When it reached `status`.
    pub at: DateTimeUtc,
}

impl Model {
    /// Whether an import succeeded: the dataset has content to snapshot and train on. A
    /// later import that runs or is refused does not change it.
    pub fn has_content(&self) -> bool {
        self.manifest_key.is_some()
    }

    /// How the latest import went, or stands while it runs; `None` before the first.
    pub fn last_import(&self) -> Option<LastImport> {
        let status = match self.import_status {
            ImportStatus::Empty => return None,
            ImportStatus::Queued => UploadStatus::Queued,
            ImportStatus::Importing => UploadStatus::Importing,
            ImportStatus::Ready => UploadStatus::Succeeded,
            ImportStatus::Failed => UploadStatus::Failed,
        };
        Some(LastImport {
            upload_id: self.last_import_upload_id?,
            status,
            error: self.last_import_error.clone(),
            at: self.last_import_at.unwrap_or(self.updated_at),
        })
    }
}
