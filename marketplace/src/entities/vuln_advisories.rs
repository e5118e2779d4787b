use sea_orm::entity::prelude::*;

/// One OSV record as imported (`keynet vulndb import`); a newer `modified` replaces it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "vuln_advisories")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// As the record gives it (RFC 3339), compared to skip unchanged records on re-import.
    pub modified: String,
    #[sea_orm(column_type = "Text")]
    pub record: String,
    pub imported_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
