//! The baseline: the statements the GraphQL path runs for each read, run directly on a pool
//! of their own. They are built with the same sea-orm calls as the domain, so the SQL text is
//! identical (the N+1 section checks it). JWT verification is left out on purpose: it is part
//! of what the GraphQL path adds.

use crate::probe::SqlProbe;
use anyhow::{Context, Result};
use keynet_api::platform::connect_options;
use keynet_domain::auth::session_user;
use keynet_domain::entities::{memberships, organizations, users};
use keynet_domain::ids::{OrgId, SessionFamilyId, UserId};
use keynet_domain::page::PageRequest;
use sea_orm::{ColumnTrait, Database, DatabaseConnection, EntityTrait, Order, QueryFilter};
use std::sync::Arc;

/// The page size the GraphQL query asks for (`members(first: 20)`).
pub const MEMBERS_PAGE: i32 = 20;

pub struct DirectSql {
    pub db: DatabaseConnection,
    pub probe: Arc<SqlProbe>,
}

impl DirectSql {
    /// A pool of `size` connections, opened with the options the platform uses.
    pub async fn connect(url: &str, size: u32) -> Result<Self> {
        let mut db = Database::connect(connect_options(url.to_string(), size))
            .await
            .context("cannot connect the direct-SQL pool")?;
        let probe = SqlProbe::install(&mut db);
        Ok(Self { db, probe })
    }
}

/// Whose requests the bench sends: a user and the session their access token names.
#[derive(Clone, Copy, Debug)]
pub struct Session {
    pub user: UserId,
    pub family: SessionFamilyId,
}

/// What `Domain::authenticate` reads for a session token once the JWT is verified: the user
/// and their memberships, if the session is alive, in one statement (`session_user`).
async fn authenticate(
    db: &DatabaseConnection,
    session: Session,
) -> Result<(users::Model, Vec<memberships::Model>)> {
    session_user(session.user, session.family)
        .all(db)
        .await?
        .into_iter()
        .next()
        .context("the bench user or session is gone")
}

/// What authentication read before access tokens were checked against their session: the
/// user and memberships alone (still how an API token's user is read). The bench times it
/// beside [`me`] to show what the session check costs.
pub async fn me_without_session_check(
    db: &DatabaseConnection,
    session: Session,
) -> Result<users::Model> {
    users::Entity::find_by_id(session.user)
        .find_with_related(memberships::Entity)
        .all(db)
        .await?
        .into_iter()
        .next()
        .map(|(user, _)| user)
        .context("the bench user is gone")
}

/// `query { me { … } }`: authentication alone (the viewer carries the user row).
pub async fn me(db: &DatabaseConnection, session: Session) -> Result<users::Model> {
    Ok(authenticate(db, session).await?.0)
}

/// `organization(slug) { members(first: 20) }`: authentication, `Domain::organization_by_slug`
/// (limited to the viewer's organizations), then `Domain::members` (memberships joined with
/// users, one page plus the probe row).
pub async fn org_members(db: &DatabaseConnection, session: Session, slug: &str) -> Result<usize> {
    let (_, memberships) = authenticate(db, session).await?;
    let mut visible: Vec<OrgId> = memberships.iter().map(|m| m.org_id).collect();
    visible.sort();
    let org = organizations::Entity::find()
        .filter(organizations::Column::Slug.eq(slug))
        .filter(organizations::Column::Id.is_in(visible))
        .one(db)
        .await?
        .context("the bench organization is gone")?;
    let page = PageRequest::new(Some(MEMBERS_PAGE), None)?;
    let query = memberships::Entity::find()
        .filter(memberships::Column::OrgId.eq(org.id))
        .find_also_related(users::Entity);
    let rows = page
        .apply(query, memberships::Column::Id, Order::Asc)
        .all(db)
        .await?;
    Ok(page.finish(rows).items.len())
}
