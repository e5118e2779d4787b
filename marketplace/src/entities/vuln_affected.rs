use sea_orm::entity::prelude::*;

/// An (OSV ecosystem, package name) an advisory affects: what a scan looks up.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "vuln_affected")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub ecosystem: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub advisory_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
