use crate::ids::{JobEventId, JobId, OrgId};
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A trainer event as received: `seq` numbers the job's events across attempts,
/// `trainer_seq` is the trainer's own number within its attempt.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "job_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: JobEventId,
    pub org_id: OrgId,
    pub job_id: JobId,
    pub seq: i64,
    pub attempt: i32,
    pub trainer_seq: i64,
    pub kind: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub body: Json,
    pub ts: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
