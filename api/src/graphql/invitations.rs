//! Invitations by email.

use super::connection::{Conn, connection, list_complexity};
use super::context::{domain, page, parse_id, viewer};
use super::enums::Role;
use super::types::{Invitation, InvitationPreview, InvitedOrganization, Organization};
use crate::error::ApiResult;
use async_graphql::{Context, ID, InputObject, Object};
use keynet_domain::ids::{InvitationId, OrgId};

#[derive(InputObject)]
pub struct InviteMemberInput {
    pub org_id: ID,
    pub email: String,
    pub role: Role,
}

#[derive(Default)]
pub struct InvitationQuery;

#[Object]
impl InvitationQuery {
    /// What an invitation link offers; needs no sign-in.
    async fn invitation(&self, ctx: &Context<'_>, token: String) -> ApiResult<InvitationPreview> {
        let preview = domain(ctx).invitation_preview(&token).await?;
        Ok(InvitationPreview {
            organization: InvitedOrganization {
                name: preview.organization.name,
                slug: preview.organization.slug,
            },
            email: preview.invitation.email,
            role: preview.invitation.role.into(),
            expires_at: preview.invitation.expires_at,
        })
    }

    #[graphql(complexity = "list_complexity(child_complexity, first)")]
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<Invitation>> {
        let org: OrgId = parse_id(&org_id, "orgId")?;
        let invitations = domain(ctx)
            .invitations(viewer(ctx)?, org, page(first, after)?)
            .await?;
        Ok(connection(invitations, |i| i.id.0, Invitation))
    }
}

#[derive(Default)]
pub struct InvitationMutation;

#[Object]
impl InvitationMutation {
    async fn invite_member(
        &self,
        ctx: &Context<'_>,
        input: InviteMemberInput,
    ) -> ApiResult<Invitation> {
        let org: OrgId = parse_id(&input.org_id, "orgId")?;
        let invitation = domain(ctx)
            .invite_member(viewer(ctx)?, org, &input.email, input.role.into())
            .await?;
        Ok(Invitation(invitation))
    }

    /// Joins the organization; the signed-in user's email must be the invited one.
    async fn accept_invitation(&self, ctx: &Context<'_>, token: String) -> ApiResult<Organization> {
        let org = domain(ctx).accept_invitation(viewer(ctx)?, &token).await?;
        Ok(Organization(org))
    }

    async fn revoke_invitation(
        &self,
        ctx: &Context<'_>,
        invitation_id: ID,
    ) -> ApiResult<Invitation> {
        let id: InvitationId = parse_id(&invitation_id, "invitationId")?;
        Ok(Invitation(
            domain(ctx).revoke_invitation(viewer(ctx)?, id).await?,
        ))
    }

    /// Sends a new link; the previous one stops working.
    async fn resend_invitation(
        &self,
        ctx: &Context<'_>,
        invitation_id: ID,
    ) -> ApiResult<Invitation> {
        let id: InvitationId = parse_id(&invitation_id, "invitationId")?;
        Ok(Invitation(
            domain(ctx).resend_invitation(viewer(ctx)?, id).await?,
        ))
    }
}
