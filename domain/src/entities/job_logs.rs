use crate::ids::{JobId, JobLogId, OrgId};
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    #[sea_orm(string_value = "DEBUG")]
    Debug,
    #[sea_orm(string_value = "INFO")]
    Info,
    #[sea_orm(string_value = "WARNING")]
    Warning,
    #[sea_orm(string_value = "ERROR")]
    Error,
}

impl LogLevel {
    /// This level and the more severe ones, for "at least" filters.
    pub fn and_above(self) -> Vec<LogLevel> {
        use sea_orm::Iterable;
        LogLevel::iter().filter(|level| *level >= self).collect()
    }
}

/// Where a line came from: the trainer's `log` events, or the workload's raw output.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "lowercase")]
pub enum LogSource {
    #[sea_orm(string_value = "trainer")]
    Trainer,
    #[sea_orm(string_value = "stdout")]
    Stdout,
    #[sea_orm(string_value = "stderr")]
    Stderr,
    #[sea_orm(string_value = "platform")]
    Platform,
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "job_logs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: JobLogId,
    pub org_id: OrgId,
    pub job_id: JobId,
    pub attempt: i32,
    pub source: LogSource,
    pub level: LogLevel,
    pub message: String,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub metadata: Option<Json>,
    pub ts: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
