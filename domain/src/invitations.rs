//! Inviting people by email. The link carries a single-use token (stored hashed, valid for
//! seven days); the invitee accepts signed in as the invited address, or signs up through it.

use crate::audit::Change;
use crate::auth::secrets;
use crate::domain::{Domain, Tx};
use crate::email;
use crate::entities::{invitations, memberships, organizations, users};
use crate::error::{Error, Result};
use crate::identity::mark_verified;
use crate::ids::{InvitationId, OrgId};
use crate::orgs::{add_member, lock_org, org_row};
use crate::page::{Page, PageRequest};
use crate::roles::{Permission, Role};
use crate::scoped::find_scoped;
use crate::time::{Timestamp, now};
use crate::validate;
use crate::viewer::{Viewer, role_name};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, Order, PaginatorTrait,
    QueryFilter, Set,
};
use serde_json::json;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

pub fn status(invitation: &invitations::Model, at: Timestamp) -> InvitationStatus {
    if invitation.accepted_at.is_some() {
        InvitationStatus::Accepted
    } else if invitation.revoked_at.is_some() {
        InvitationStatus::Revoked
    } else if invitation.expires_at <= at {
        InvitationStatus::Expired
    } else {
        InvitationStatus::Pending
    }
}

/// What the invitee sees before accepting.
pub struct InvitationPreview {
    pub invitation: invitations::Model,
    pub organization: organizations::Model,
}

impl Domain {
    pub async fn invite_member(
        &self,
        viewer: &Viewer,
        org: OrgId,
        email: &str,
        role: Role,
    ) -> Result<invitations::Model> {
        let own_role = viewer.require(org, Permission::ManageInvitations)?;
        let email = validate::email("email", email)?;
        if role > own_role {
            return Err(Error::forbidden(format!(
                "you cannot invite as {}, which is above your own role",
                role_name(role)
            )));
        }
        let mut tx = self.begin().await?;
        lock_org(&tx, org).await?;
        let already_member = memberships::Entity::find()
            .inner_join(users::Entity)
            .filter(memberships::Column::OrgId.eq(org))
            .filter(users::Column::Email.eq(&email))
            .count(&*tx)
            .await?
            > 0;
        if already_member {
            return Err(Error::conflict("this person is already a member"));
        }
        let at = now();
        let pending = invitations::Entity::find()
            .filter(invitations::Column::OrgId.eq(org))
            .filter(invitations::Column::Email.eq(&email))
            .filter(invitations::Column::AcceptedAt.is_null())
            .filter(invitations::Column::RevokedAt.is_null())
            .filter(invitations::Column::ExpiresAt.gt(at))
            .count(&*tx)
            .await?
            > 0;
        if pending {
            return Err(Error::conflict(
                "an invitation to this address is pending: resend it instead",
            ));
        }
        let token = secrets::random_token();
        let invitation = invitations::ActiveModel {
            id: Set(InvitationId::new()),
            org_id: Set(org),
            email: Set(email),
            role: Set(role),
            token_hash: Set(secrets::hash(&token)),
            invited_by: Set(Some(viewer.user_id)),
            expires_at: Set(at + self.config.invitation_ttl),
            accepted_at: Set(None),
            accepted_by: Set(None),
            revoked_at: Set(None),
            last_sent_at: Set(at),
            created_at: Set(at),
        }
        .insert(&*tx)
        .await?;
        self.send_invitation(&tx, viewer, &invitation, &token)
            .await?;
        Change::new(org, "invitation.created", "invitation", invitation.id)
            .by(viewer)
            .meta(json!({"email": invitation.email, "role": role}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        Ok(invitation)
    }

    /// Needs no sign-in: the token is the credential.
    pub async fn invitation_preview(&self, token: &str) -> Result<InvitationPreview> {
        let invitation = self.pending_invitation(&self.db, token).await?;
        let organization = org_row(&self.db, invitation.org_id).await?;
        Ok(InvitationPreview {
            invitation,
            organization,
        })
    }

    pub async fn accept_invitation(
        &self,
        viewer: &Viewer,
        token: &str,
    ) -> Result<organizations::Model> {
        viewer.require_session()?;
        let invitation = self.pending_invitation(&self.db, token).await?;
        if invitation.email != viewer.email {
            return Err(Error::forbidden(
                "this invitation was sent to another email address",
            ));
        }
        let user = self.user(viewer.user_id).await?;
        let (org, role) = (invitation.org_id, invitation.role);
        let mut tx = self.begin().await?;
        self.join_by_invitation(&mut tx, invitation, &user, viewer.client_addr.clone())
            .await?;
        self.commit(tx).await?;
        viewer.set_membership(org, Some(role));
        org_row(&self.db, org).await
    }

    pub async fn revoke_invitation(
        &self,
        viewer: &Viewer,
        id: InvitationId,
    ) -> Result<invitations::Model> {
        let invitation = self.managed_invitation(viewer, id).await?;
        if status(&invitation, now()) == InvitationStatus::Accepted {
            return Err(Error::conflict("the invitation was already accepted"));
        }
        let mut tx = self.begin().await?;
        let mut revoked: invitations::ActiveModel = invitation.into();
        revoked.revoked_at = Set(Some(now()));
        let invitation = revoked.update(&*tx).await?;
        Change::new(invitation.org_id, "invitation.revoked", "invitation", id)
            .by(viewer)
            .meta(json!({"email": invitation.email}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        Ok(invitation)
    }

    /// Sends a fresh link (the old one stops working) and restarts the seven days.
    pub async fn resend_invitation(
        &self,
        viewer: &Viewer,
        id: InvitationId,
    ) -> Result<invitations::Model> {
        let invitation = self.managed_invitation(viewer, id).await?;
        match status(&invitation, now()) {
            InvitationStatus::Accepted => {
                return Err(Error::conflict("the invitation was already accepted"));
            }
            InvitationStatus::Revoked => {
                return Err(Error::conflict("the invitation was revoked"));
            }
            InvitationStatus::Pending | InvitationStatus::Expired => {}
        }
        let mut tx = self.begin().await?;
        let token = secrets::random_token();
        let at = now();
        let mut renewed: invitations::ActiveModel = invitation.into();
        renewed.token_hash = Set(secrets::hash(&token));
        renewed.expires_at = Set(at + self.config.invitation_ttl);
        renewed.last_sent_at = Set(at);
        let invitation = renewed.update(&*tx).await?;
        self.send_invitation(&tx, viewer, &invitation, &token)
            .await?;
        Change::new(invitation.org_id, "invitation.resent", "invitation", id)
            .by(viewer)
            .meta(json!({"email": invitation.email}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        Ok(invitation)
    }

    pub async fn invitations(
        &self,
        viewer: &Viewer,
        org: OrgId,
        page: PageRequest,
    ) -> Result<Page<invitations::Model>> {
        viewer.require(org, Permission::ManageInvitations)?;
        let query = invitations::Entity::find().filter(invitations::Column::OrgId.eq(org));
        let rows = page
            .apply(query, invitations::Column::Id, Order::Asc)
            .all(&self.db)
            .await?;
        Ok(page.finish(rows))
    }

    /// Adds `user` to the invitation's organization; the invitation is used up. Shared by
    /// accepting and by signing up through an invitation.
    pub(crate) async fn join_by_invitation(
        &self,
        tx: &mut Tx,
        invitation: invitations::Model,
        user: &users::Model,
        client_addr: Option<String>,
    ) -> Result<()> {
        let at = now();
        let used = invitations::Entity::update_many()
            .col_expr(invitations::Column::AcceptedAt, Expr::value(at))
            .col_expr(invitations::Column::AcceptedBy, Expr::value(user.id))
            .filter(invitations::Column::Id.eq(invitation.id))
            .filter(invitations::Column::AcceptedAt.is_null())
            .filter(invitations::Column::RevokedAt.is_null())
            .exec(&**tx)
            .await?;
        if used.rows_affected == 0 {
            return Err(Error::NotFound("invitation"));
        }
        lock_org(tx, invitation.org_id).await?;
        add_member(tx, invitation.org_id, user.id, invitation.role).await?;
        // The token arrived by email at this address: that proves the address.
        mark_verified(&**tx, user.id).await?;
        Change::new(
            invitation.org_id,
            "invitation.accepted",
            "invitation",
            invitation.id,
        )
        .by_user(user.id, client_addr)
        .meta(json!({"email": invitation.email, "role": invitation.role}))
        .record(tx)
        .await
    }

    /// A pending invitation by its token; a used, revoked, expired or unknown one is
    /// `NotFound` alike.
    pub(crate) async fn pending_invitation(
        &self,
        db: &impl ConnectionTrait,
        token: &str,
    ) -> Result<invitations::Model> {
        invitations::Entity::find()
            .filter(invitations::Column::TokenHash.eq(secrets::hash(token)))
            .one(db)
            .await?
            .filter(|inv| status(inv, now()) == InvitationStatus::Pending)
            .ok_or(Error::NotFound("invitation"))
    }

    async fn managed_invitation(
        &self,
        viewer: &Viewer,
        id: InvitationId,
    ) -> Result<invitations::Model> {
        let invitation = find_scoped::<invitations::Entity>(
            &self.db,
            viewer,
            (invitations::Column::Id, id),
            invitations::Column::OrgId,
            "invitation",
        )
        .await?;
        viewer.require(invitation.org_id, Permission::ManageInvitations)?;
        Ok(invitation)
    }

    async fn send_invitation(
        &self,
        tx: &Tx,
        viewer: &Viewer,
        invitation: &invitations::Model,
        token: &str,
    ) -> Result<()> {
        let org = org_row(&**tx, invitation.org_id).await?;
        let inviter = users::Entity::find_by_id(viewer.user_id)
            .one(&**tx)
            .await?
            .map(|u| u.display_name)
            .unwrap_or_else(|| viewer.email.clone());
        let link = format!(
            "{}/invitations/accept?token={token}",
            self.config.public_url
        );
        email::invitation(
            &invitation.email,
            &inviter,
            &org.name,
            role_name(invitation.role),
            &link,
        )
        .enqueue(&**tx)
        .await
    }
}
