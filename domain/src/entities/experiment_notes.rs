use crate::ids::{ExperimentId, ExperimentNoteId, OrgId, UserId};
use sea_orm::entity::prelude::*;

/// A Markdown note on an experiment; its author may edit or delete it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "experiment_notes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ExperimentNoteId,
    pub org_id: OrgId,
    pub experiment_id: ExperimentId,
    pub author_id: Option<UserId>,
    pub body: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
