//! Turns the bearer credential of a request into a [`Viewer`], once, at the edge.

use super::secrets::API_TOKEN_MARK;
use crate::domain::Domain;
use crate::entities::{memberships, users};
use crate::error::{Error, Result};
use crate::viewer::{Credential, Viewer};
use sea_orm::EntityTrait;

impl Domain {
    /// Accepts a JWT access token or an API token (`knt_…`).
    pub async fn authenticate(&self, bearer: &str, client_addr: Option<String>) -> Result<Viewer> {
        if bearer.starts_with(API_TOKEN_MARK) {
            return self.authenticate_api_token(bearer, client_addr).await;
        }
        let claims = self.keys.verify(bearer)?;
        let (user, memberships) = self.user_with_memberships(claims.sub).await?;
        Ok(Viewer::new(
            user,
            Credential::Session { family: claims.sid },
            memberships.into_iter().map(|m| (m.org_id, m.role)),
            client_addr,
        ))
    }

    /// The user and their memberships in one query.
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
