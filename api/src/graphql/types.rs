//! GraphQL output types: thin views over domain rows. Fields that reach other rows go
//! through the domain (with the viewer) or a DataLoader.

use super::connection::{Conn, connection, list_complexity};
use super::context::{domain, page, viewer};
use super::enums::{InvitationStatus, Role, Scope, TaskType};
use super::loaders::UserLoader;
use crate::error::{ApiError, ApiResult};
use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use keynet_domain::entities::{api_tokens, audit_log, invitations, organizations, projects, users};
use keynet_domain::ids::UserId;
use keynet_domain::invitations::status;
use keynet_domain::orgs::Member as DomainMember;
use keynet_domain::time::now;

fn id(value: impl ToString) -> ID {
    ID(value.to_string())
}

async fn load_user(ctx: &Context<'_>, user: Option<UserId>) -> ApiResult<Option<User>> {
    let Some(user) = user else { return Ok(None) };
    let loader = ctx.data_unchecked::<DataLoader<UserLoader>>();
    loader
        .load_one(user)
        .await
        .map(|found| found.map(User))
        .map_err(|e| ApiError::from(keynet_domain::Error::Internal(anyhow::anyhow!("{e}"))))
}

pub struct User(pub users::Model);

#[Object]
impl User {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    async fn email_verified(&self) -> bool {
        self.0.email_verified_at.is_some()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub struct Organization(pub organizations::Model);

#[Object]
impl Organization {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The signed-in user's role here.
    async fn viewer_role(&self, ctx: &Context<'_>) -> ApiResult<Option<Role>> {
        Ok(viewer(ctx)?.role_in(self.0.id).map(Role::from))
    }
    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<Member>> {
        let members = domain(ctx)
            .members(viewer(ctx)?, self.0.id, page(first, after)?)
            .await?;
        Ok(connection(members, |m| m.membership.id.0, Member))
    }
}

pub struct Member(pub DomainMember);

#[Object]
impl Member {
    async fn user(&self) -> User {
        User(self.0.user.clone())
    }
    async fn role(&self) -> Role {
        self.0.membership.role.into()
    }
    async fn joined_at(&self) -> DateTime<Utc> {
        self.0.membership.created_at
    }
}

pub struct Invitation(pub invitations::Model);

#[Object]
impl Invitation {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    async fn status(&self) -> InvitationStatus {
        status(&self.0, now()).into()
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    async fn last_sent_at(&self) -> DateTime<Utc> {
        self.0.last_sent_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn invited_by(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        load_user(ctx, self.0.invited_by).await
    }
}

/// What an invitee sees of the organization before joining it.
#[derive(SimpleObject)]
pub struct InvitedOrganization {
    pub name: String,
    pub slug: String,
}

#[derive(SimpleObject)]
pub struct InvitationPreview {
    pub organization: InvitedOrganization,
    pub email: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

pub struct ApiToken(pub api_tokens::Model);

#[Object]
impl ApiToken {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The token's first characters, to recognise it; the secret is never shown again.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    async fn org_id(&self) -> ID {
        id(self.0.org_id)
    }
    async fn user_id(&self) -> ID {
        id(self.0.user_id)
    }
    async fn scopes(&self) -> Vec<Scope> {
        self.0.scopes.0.iter().copied().map(Scope::from).collect()
    }
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(SimpleObject)]
pub struct CreatedApiToken {
    pub token: ApiToken,
    /// Shown once: store it now.
    pub secret: String,
}

pub struct Project(pub projects::Model);

#[Object]
impl Project {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn org_id(&self) -> ID {
        id(self.0.org_id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn summary(&self) -> &str {
        &self.0.summary
    }
    async fn task_type(&self) -> TaskType {
        self.0.task_type.into()
    }
    async fn archived(&self) -> bool {
        self.0.archived_at.is_some()
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.0.archived_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

pub struct AuditEntry(pub audit_log::Model);

#[Object]
impl AuditEntry {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn org_id(&self) -> ID {
        id(self.0.org_id)
    }
    /// e.g. `member.role_changed`, `api_token.created`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    async fn actor(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        load_user(ctx, self.0.actor_id).await
    }
    async fn target_type(&self) -> &str {
        &self.0.target_type
    }
    async fn target_id(&self) -> Option<&str> {
        self.0.target_id.as_deref()
    }
    async fn metadata(&self) -> Json<serde_json::Value> {
        Json(self.0.metadata.clone())
    }
    async fn client_address(&self) -> Option<&str> {
        self.0.client_addr.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(SimpleObject)]
pub struct AuthPayload {
    pub access_token: String,
    pub refresh_token: String,
    /// When the access token expires; refresh before then.
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

impl From<keynet_domain::auth::Session> for AuthPayload {
    fn from(session: keynet_domain::auth::Session) -> Self {
        Self {
            access_token: session.access_token,
            refresh_token: session.refresh_token,
            expires_at: session.expires_at,
            user: User(session.user),
        }
    }
}
