//! Column shorthands shared by the migrations, so every table spells ids, timestamps and
//! foreign keys the same way.

use sea_orm_migration::prelude::*;

pub fn id<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).uuid().not_null().primary_key().take()
}

pub fn uuid<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).uuid().not_null().take()
}

pub fn uuid_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).uuid().null().take()
}

pub fn text<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).string().not_null().take()
}

pub fn text_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).string().null().take()
}

pub fn time<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .take()
}

pub fn time_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .null()
        .take()
}

pub fn int<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).integer().not_null().default(0).take()
}

pub fn big<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .big_integer()
        .not_null()
        .default(0)
        .take()
}

pub fn json_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).json_binary().null().take()
}

pub fn json<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).json_binary().not_null().take()
}

/// A foreign key that removes the child rows with the parent (tenant-owned rows go with
/// their organization).
pub fn cascade<T: IntoIden + 'static, C: IntoIden, P: IntoIden + 'static>(
    table: T,
    column: C,
    parent: P,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from_tbl(table)
        .from_col(column)
        .to_tbl(parent)
        .to_col(Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

/// A foreign key that keeps the child row (e.g. an audit entry) when the parent goes.
pub fn set_null<T: IntoIden + 'static, C: IntoIden, P: IntoIden + 'static>(
    table: T,
    column: C,
    parent: P,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from_tbl(table)
        .from_col(column)
        .to_tbl(parent)
        .to_col(Alias::new("id"))
        .on_delete(ForeignKeyAction::SetNull)
        .take()
}

/// An index on `columns` (by column name) of `table`.
pub fn index(
    name: &str,
    table: impl IntoIden + 'static,
    columns: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(Alias::new(*column));
    }
    if unique {
        index.unique();
    }
    index.take()
}

pub fn int_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).integer().null().take()
}

pub fn double_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).double().null().take()
}

pub fn double<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).double().not_null().take()
}

pub fn flag<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .boolean()
        .not_null()
        .default(false)
        .take()
}
