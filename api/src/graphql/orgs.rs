//! Organizations and their members.

use super::connection::{Conn, connection, list_complexity};
use super::context::{domain, page, parse_id, viewer};
use super::enums::Role;
use super::types::{Member, Organization};
use crate::error::ApiResult;
use async_graphql::{Context, ID, InputObject, Object};
use keynet_domain::ids::{OrgId, UserId};

#[derive(InputObject)]
pub struct CreateOrganizationInput {
    pub name: String,
    pub slug: String,
}

#[derive(InputObject)]
pub struct UpdateOrganizationInput {
    pub org_id: ID,
    pub name: Option<String>,
    pub slug: Option<String>,
}

#[derive(Default)]
pub struct OrgQuery;

#[Object]
impl OrgQuery {
    async fn organization(&self, ctx: &Context<'_>, slug: String) -> ApiResult<Organization> {
        let org = domain(ctx)
            .organization_by_slug(viewer(ctx)?, &slug)
            .await?;
        Ok(Organization(org))
    }

    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    async fn my_organizations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<Organization>> {
        let orgs = domain(ctx)
            .my_organizations(viewer(ctx)?, page(first, after)?)
            .await?;
        Ok(connection(orgs, |o| o.id.0, Organization))
    }

    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<Member>> {
        let org: OrgId = parse_id(&org_id, "orgId")?;
        let members = domain(ctx)
            .members(viewer(ctx)?, org, page(first, after)?)
            .await?;
        Ok(connection(members, |m| m.membership.id.0, Member))
    }
}

#[derive(Default)]
pub struct OrgMutation;

#[Object]
impl OrgMutation {
    /// The creator becomes the owner.
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationInput,
    ) -> ApiResult<Organization> {
        let org = domain(ctx)
            .create_organization(viewer(ctx)?, &input.name, &input.slug)
            .await?;
        Ok(Organization(org))
    }

    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        input: UpdateOrganizationInput,
    ) -> ApiResult<Organization> {
        let org: OrgId = parse_id(&input.org_id, "orgId")?;
        let org = domain(ctx)
            .update_organization(
                viewer(ctx)?,
                org,
                input.name.as_deref(),
                input.slug.as_deref(),
            )
            .await?;
        Ok(Organization(org))
    }

    /// Owner only; removes the organization and everything in it.
    async fn delete_organization(&self, ctx: &Context<'_>, org_id: ID) -> ApiResult<bool> {
        let org: OrgId = parse_id(&org_id, "orgId")?;
        domain(ctx).delete_organization(viewer(ctx)?, org).await?;
        Ok(true)
    }

    async fn change_member_role(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        user_id: ID,
        role: Role,
    ) -> ApiResult<Member> {
        let org: OrgId = parse_id(&org_id, "orgId")?;
        let user: UserId = parse_id(&user_id, "userId")?;
        let member = domain(ctx)
            .change_member_role(viewer(ctx)?, org, user, role.into())
            .await?;
        Ok(Member(member))
    }

    async fn remove_member(&self, ctx: &Context<'_>, org_id: ID, user_id: ID) -> ApiResult<bool> {
        let org: OrgId = parse_id(&org_id, "orgId")?;
        let user: UserId = parse_id(&user_id, "userId")?;
        domain(ctx).remove_member(viewer(ctx)?, org, user).await?;
        Ok(true)
    }

    async fn leave_organization(&self, ctx: &Context<'_>, org_id: ID) -> ApiResult<bool> {
        let org: OrgId = parse_id(&org_id, "orgId")?;
        domain(ctx).leave_organization(viewer(ctx)?, org).await?;
        Ok(true)
    }

    /// Makes another member the owner; the current owner becomes an admin.
    async fn transfer_ownership(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        user_id: ID,
    ) -> ApiResult<bool> {
        let org: OrgId = parse_id(&org_id, "orgId")?;
        let user: UserId = parse_id(&user_id, "userId")?;
        domain(ctx)
            .transfer_ownership(viewer(ctx)?, org, user)
            .await?;
        Ok(true)
    }
}
