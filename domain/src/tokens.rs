//! API tokens for the CLI, SDKs and CI: `knt_…`, shown once, stored as a hash with a lookup
//! prefix, bound to one organization, scoped, expiring and revocable.

use crate::audit::Change;
use crate::auth::secrets;
use crate::domain::Domain;
use crate::entities::api_tokens;
use crate::error::{Error, Result};
use crate::ids::{ApiTokenId, OrgId};
use crate::page::{Page, PageRequest};
use crate::roles::{Permission, Scope, ScopeSet};
use crate::scoped::find_scoped;
use crate::time::{Timestamp, now};
use crate::validate;
use crate::viewer::{Credential, Viewer, role_name};
use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, Order, QueryFilter, Set};
use serde_json::json;

/// `last_used_at` is written at most this often per token, not on every request.
const LAST_USED_RESOLUTION_SECS: i64 = 60;

pub struct NewApiToken {
    pub org_id: OrgId,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub expires_at: Option<Timestamp>,
}

pub struct CreatedApiToken {
    pub token: api_tokens::Model,
    /// The only time the secret is ever shown.
    pub secret: String,
}

impl Domain {
    pub async fn create_api_token(
        &self,
        viewer: &Viewer,
        input: NewApiToken,
    ) -> Result<CreatedApiToken> {
        viewer.require_session()?;
        let role = viewer.require(input.org_id, Permission::UseApiTokens)?;
        let name = validate::name("name", &input.name, 100)?;
        let mut scopes = input.scopes;
        scopes.dedup();
        if scopes.is_empty() {
            return Err(Error::invalid(
                "scopes",
                "give the token at least one scope",
            ));
        }
        // A scope above the role is a refusal of the role, like any other permission.
        if let Some(scope) = scopes.iter().find(|s| s.min_role() > role) {
            return Err(Error::forbidden(format!(
                "the {scope:?} scope needs the {} role, and yours is {}",
                role_name(scope.min_role()),
                role_name(role)
            )));
        }
        let at = now();
        let expires_at = input
            .expires_at
            .unwrap_or(at + self.config.api_token_default_ttl);
        if expires_at <= at + Duration::minutes(1) {
            return Err(Error::invalid("expiresAt", "must be in the future"));
        }
        if expires_at > at + self.config.api_token_max_ttl {
            return Err(Error::invalid(
                "expiresAt",
                format!(
                    "may be at most {} days ahead",
                    self.config.api_token_max_ttl.num_days()
                ),
            ));
        }
        let secret = secrets::new_prefixed_secret(secrets::API_TOKEN_MARK);
        let mut tx = self.begin().await?;
        let token = api_tokens::ActiveModel {
            id: Set(ApiTokenId::new()),
            org_id: Set(input.org_id),
            user_id: Set(viewer.user_id),
            name: Set(name),
            prefix: Set(secret.prefix),
            token_hash: Set(secrets::hash(&secret.token)),
            scopes: Set(ScopeSet(scopes)),
            expires_at: Set(Some(expires_at)),
            last_used_at: Set(None),
            revoked_at: Set(None),
            created_at: Set(at),
        }
        .insert(&*tx)
        .await?;
        Change::new(input.org_id, "api_token.created", "api_token", token.id)
            .by(viewer)
            .meta(json!({"name": token.name, "scopes": token.scopes.0, "prefix": token.prefix}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        Ok(CreatedApiToken {
            token,
            secret: secret.token,
        })
    }

    /// The viewer's own tokens in `org`; admins see every member's.
    pub async fn api_tokens(
        &self,
        viewer: &Viewer,
        org: OrgId,
        page: PageRequest,
    ) -> Result<Page<api_tokens::Model>> {
        viewer.require(org, Permission::UseApiTokens)?;
        let mut query = api_tokens::Entity::find().filter(api_tokens::Column::OrgId.eq(org));
        if viewer.require(org, Permission::ManageOrgApiTokens).is_err() {
            query = query.filter(api_tokens::Column::UserId.eq(viewer.user_id));
        }
        let rows = page
            .apply(query, api_tokens::Column::Id, Order::Asc)
            .all(&self.db)
            .await?;
        Ok(page.finish(rows))
    }

    pub async fn revoke_api_token(
        &self,
        viewer: &Viewer,
        id: ApiTokenId,
    ) -> Result<api_tokens::Model> {
        viewer.require_session()?;
        let token = find_scoped::<api_tokens::Entity>(
            &self.db,
            viewer,
            (api_tokens::Column::Id, id),
            api_tokens::Column::OrgId,
            "API token",
        )
        .await?;
        let needed = if token.user_id == viewer.user_id {
            Permission::UseApiTokens
        } else {
            Permission::ManageOrgApiTokens
        };
        viewer.require(token.org_id, needed)?;
        if token.revoked_at.is_some() {
            return Ok(token);
        }
        let mut tx = self.begin().await?;
        let mut revoked: api_tokens::ActiveModel = token.into();
        revoked.revoked_at = Set(Some(now()));
        let token = revoked.update(&*tx).await?;
        tx.announce_access_changed(token.user_id);
        Change::new(token.org_id, "api_token.revoked", "api_token", token.id)
            .by(viewer)
            .meta(json!({"name": token.name, "prefix": token.prefix}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        Ok(token)
    }

    pub async fn authenticate_api_token(
        &self,
        presented: &str,
        client_addr: Option<String>,
    ) -> Result<Viewer> {
        let prefix = secrets::lookup_prefix(secrets::API_TOKEN_MARK, presented)
            .ok_or(Error::Unauthenticated)?;
        let at = now();
        let token = api_tokens::Entity::find()
            .filter(api_tokens::Column::Prefix.eq(prefix))
            .one(&self.db)
            .await?
            .filter(|t| secrets::hashes_match(&t.token_hash, &secrets::hash(presented)))
            .filter(|t| t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > at))
            .ok_or(Error::Unauthenticated)?;
        if token
            .last_used_at
            .is_none_or(|used| at - used > Duration::seconds(LAST_USED_RESOLUTION_SECS))
        {
            api_tokens::Entity::update_many()
                .col_expr(api_tokens::Column::LastUsedAt, Expr::value(at))
                .filter(api_tokens::Column::Id.eq(token.id))
                .exec(&self.db)
                .await?;
        }
        let (user, memberships) = self.user_with_memberships(token.user_id).await?;
        Ok(Viewer::new(
            user,
            Credential::ApiToken {
                id: token.id,
                org_id: token.org_id,
                scopes: token.scopes,
            },
            memberships.into_iter().map(|m| (m.org_id, m.role)),
            client_addr,
        )
        .expiring(token.expires_at))
    }
}
