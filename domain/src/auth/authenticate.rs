//! Turns the bearer credential of a request into a [`Viewer`], once, at the edge.

use super::secrets::API_TOKEN_MARK;
use crate::domain::Domain;
use crate::entities::{memberships, refresh_tokens, users};
use crate::error::{Error, Result};
use crate::ids::{SessionFamilyId, UserId};
use crate::viewer::{Credential, Viewer};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, SelectTwoMany};

impl Domain {
    /// Accepts a JWT access token or an API token (`knt_…`).
    pub async fn authenticate(&self, bearer: &str, client_addr: Option<String>) -> Result<Viewer> {
        if bearer.starts_with(API_TOKEN_MARK) {
            return self.authenticate_api_token(bearer, client_addr).await;
        }
        let claims = self.keys.verify(bearer)?;
        let (user, memberships) = session_user(claims.sub, claims.sid)
            .all(&self.db)
            .await?
            .into_iter()
            .next()
            .ok_or(Error::Unauthenticated)?;
        Ok(Viewer::new(
            user,
            Credential::Session { family: claims.sid },
            memberships.into_iter().map(|m| (m.org_id, m.role)),
            client_addr,
        )
        .expiring(chrono::DateTime::from_timestamp(claims.exp, 0)))
    }

    /// The user and their memberships in one query (an API token's user).
    pub(crate) async fn user_with_memberships(
        &self,
        user: crate::ids::UserId,
    ) -> Result<(users::Model, Vec<memberships::Model>)> {
        users::Entity::find_by_id(user)
            .find_with_related(memberships::Entity)
            .all(&self.db)
            .await?
            .into_iter()
            .next()
            .ok_or(Error::Unauthenticated)
    }
}

/// A session's user and their memberships, in one statement that also checks that the
/// session is alive: signing out, a password change or reset, or a reused refresh token
/// revoke every refresh token of the session, and its access tokens die with them at once.
pub fn session_user(
    user: UserId,
    session: SessionFamilyId,
) -> SelectTwoMany<users::Entity, memberships::Entity> {
    let alive = Query::select()
        .expr(Expr::val(1))
        .from(refresh_tokens::Entity)
        .and_where(refresh_tokens::Column::FamilyId.eq(session))
        .and_where(refresh_tokens::Column::UserId.eq(user))
        .and_where(refresh_tokens::Column::RevokedAt.is_null())
        .to_owned();
    users::Entity::find_by_id(user)
        .filter(Expr::exists(alive))
        .find_with_related(memberships::Entity)
}
