use crate::ids::{JobId, JobMetricId, OrgId};
use sea_orm::entity::prelude::*;

/// One point of a metric series: a `progress` event's metric at an epoch.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "job_metrics")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: JobMetricId,
    pub org_id: OrgId,
    pub job_id: JobId,
    pub attempt: i32,
    pub epoch: i32,
    pub step: Option<i64>,
    pub name: String,
    pub value: f64,
    pub ts: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
