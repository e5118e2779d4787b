//! Loading a tenant-owned row by id, filtered by the viewer's organizations in the query
//! itself: a row of another organization is never loaded, and answers `NotFound`.

use crate::error::{Error, Result};
use crate::viewer::Viewer;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Value};

pub async fn find_scoped<E: EntityTrait>(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    (id_column, id): (E::Column, impl Into<Value>),
    org_column: E::Column,
    what: &'static str,
) -> Result<E::Model> {
    E::find()
        .filter(id_column.eq(id))
        .filter(org_column.is_in(viewer.visible_orgs()))
        .one(db)
        .await?
        .ok_or(Error::NotFound(what))
}
