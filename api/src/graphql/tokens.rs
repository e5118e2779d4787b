//! API tokens.

use super::connection::{Conn, connection, list_complexity};
use super::context::{domain, page, parse_id, viewer};
use super::enums::Scope;
use super::types::{ApiToken, CreatedApiToken};
use crate::error::ApiResult;
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use keynet_domain::ids::{ApiTokenId, OrgId};
use keynet_domain::tokens::NewApiToken;

#[derive(InputObject)]
pub struct CreateApiTokenInput {
    pub name: String,
    pub org_id: ID,
    pub scopes: Vec<Scope>,
    /// Defaults to 90 days from now; at most a year.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct TokenQuery;

#[Object]
impl TokenQuery {
    /// Your tokens in the organization; admins see everyone's.
    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    async fn api_tokens(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<ApiToken>> {
        let org: OrgId = parse_id(&org_id, "orgId")?;
        let tokens = domain(ctx)
            .api_tokens(viewer(ctx)?, org, page(first, after)?)
            .await?;
        Ok(connection(tokens, |t| t.id.0, ApiToken))
    }
}

#[derive(Default)]
pub struct TokenMutation;

#[Object]
impl TokenMutation {
    /// The secret is in the answer and nowhere else, ever.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        input: CreateApiTokenInput,
    ) -> ApiResult<CreatedApiToken> {
        let org: OrgId = parse_id(&input.org_id, "orgId")?;
        let created = domain(ctx)
            .create_api_token(
                viewer(ctx)?,
                NewApiToken {
                    org_id: org,
                    name: input.name,
                    scopes: input.scopes.into_iter().map(Into::into).collect(),
                    expires_at: input.expires_at,
                },
            )
            .await?;
        Ok(CreatedApiToken {
            token: ApiToken(created.token),
            secret: created.secret,
        })
    }

    async fn revoke_api_token(&self, ctx: &Context<'_>, token_id: ID) -> ApiResult<ApiToken> {
        let id: ApiTokenId = parse_id(&token_id, "tokenId")?;
        Ok(ApiToken(
            domain(ctx).revoke_api_token(viewer(ctx)?, id).await?,
        ))
    }
}
