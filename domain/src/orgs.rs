//! Organizations and their members. An organization always keeps at least one owner, and
//! nobody grants a role above their own.

use crate::audit::Change;
use crate::domain::{Domain, Tx};
use crate::entities::{memberships, organizations, users};
use crate::error::{Error, Result, conflict_on_unique};
use crate::ids::{MembershipId, OrgId, UserId};
use crate::page::{Page, PageRequest};
use crate::roles::{Permission, Role};
use crate::time::now;
use crate::validate;
use crate::viewer::{Viewer, role_name};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, Order, PaginatorTrait,
    QueryFilter, QuerySelect, Set,
};
use serde_json::json;

const MAX_ORG_NAME: usize = 100;
const SLUG_TAKEN: &str = "an organization with this slug already exists";

/// A membership with its user, loaded in one query.
#[derive(Clone, Debug)]
pub struct Member {
    pub membership: memberships::Model,
    pub user: users::Model,
}

impl Domain {
    pub async fn create_organization(
        &self,
        viewer: &Viewer,
        name: &str,
        slug: &str,
    ) -> Result<organizations::Model> {
        viewer.require_session()?;
        let name = validate::name("name", name, MAX_ORG_NAME)?;
        let slug = validate::slug("slug", slug)?;
        let mut tx = self.begin().await?;
        let at = now();
        let org = organizations::ActiveModel {
            id: Set(OrgId::new()),
            name: Set(name),
            slug: Set(slug),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&*tx)
        .await
        .map_err(|e| conflict_on_unique(e, SLUG_TAKEN))?;
        add_member(&tx, org.id, viewer.user_id, Role::Owner).await?;
        Change::new(org.id, "org.created", "organization", org.id)
            .by(viewer)
            .meta(json!({"name": org.name, "slug": org.slug}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        viewer.set_membership(org.id, Some(Role::Owner));
        Ok(org)
    }

    pub async fn organization(&self, viewer: &Viewer, id: OrgId) -> Result<organizations::Model> {
        viewer.require(id, Permission::ReadOrganization)?;
        org_row(&self.db, id).await
    }

    pub async fn organization_by_slug(
        &self,
        viewer: &Viewer,
        slug: &str,
    ) -> Result<organizations::Model> {
        let org = organizations::Entity::find()
            .filter(organizations::Column::Slug.eq(slug))
            .filter(organizations::Column::Id.is_in(viewer.visible_orgs()))
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound("organization"))?;
        viewer.require(org.id, Permission::ReadOrganization)?;
        Ok(org)
    }

    pub async fn my_organizations(
        &self,
        viewer: &Viewer,
        page: PageRequest,
    ) -> Result<Page<organizations::Model>> {
        let query = organizations::Entity::find()
            .filter(organizations::Column::Id.is_in(viewer.visible_orgs()));
        let rows = page
            .apply(query, organizations::Column::Id, Order::Asc)
            .all(&self.db)
            .await?;
        Ok(page.finish(rows))
    }

    pub async fn update_organization(
        &self,
        viewer: &Viewer,
        id: OrgId,
        name: Option<&str>,
        slug: Option<&str>,
    ) -> Result<organizations::Model> {
        viewer.require(id, Permission::UpdateOrganization)?;
        let name = name
            .map(|n| validate::name("name", n, MAX_ORG_NAME))
            .transpose()?;
        let slug = slug.map(|s| validate::slug("slug", s)).transpose()?;
        let mut tx = self.begin().await?;
        let mut org: organizations::ActiveModel = org_row(&*tx, id).await?.into();
        if let Some(name) = &name {
            org.name = Set(name.clone());
        }
        if let Some(slug) = &slug {
            org.slug = Set(slug.clone());
        }
        org.updated_at = Set(now());
        let org = org
            .update(&*tx)
            .await
            .map_err(|e| conflict_on_unique(e, SLUG_TAKEN))?;
        Change::new(id, "org.updated", "organization", id)
            .by(viewer)
            .meta(json!({"name": name, "slug": slug}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        Ok(org)
    }

    /// Removes the organization and everything it owns.
    pub async fn delete_organization(&self, viewer: &Viewer, id: OrgId) -> Result<()> {
        viewer.require(id, Permission::DeleteOrganization)?;
        let mut tx = self.begin().await?;
        let members: Vec<UserId> = memberships::Entity::find()
            .select_only()
            .column(memberships::Column::UserId)
            .filter(memberships::Column::OrgId.eq(id))
            .into_tuple()
            .all(&*tx)
            .await?;
        organizations::Entity::delete_by_id(id).exec(&*tx).await?;
        for member in members {
            tx.announce_access_changed(member);
        }
        self.commit(tx).await?;
        tracing::info!(org_id = %id, user_id = %viewer.user_id, "organization deleted");
        Ok(())
    }

    pub async fn members(
        &self,
        viewer: &Viewer,
        org: OrgId,
        page: PageRequest,
    ) -> Result<Page<Member>> {
        viewer.require(org, Permission::ReadMembers)?;
        let query = memberships::Entity::find()
            .filter(memberships::Column::OrgId.eq(org))
            .find_also_related(users::Entity);
        let rows = page
            .apply(query, memberships::Column::Id, Order::Asc)
            .all(&self.db)
            .await?;
        page.finish(rows).try_map(|(membership, user)| {
            let user = user.ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("membership {} has no user", membership.id))
            })?;
            Ok(Member { membership, user })
        })
    }

    pub async fn change_member_role(
        &self,
        viewer: &Viewer,
        org: OrgId,
        user: UserId,
        role: Role,
    ) -> Result<Member> {
        let own_role = viewer.require(org, Permission::ManageMembers)?;
        if role > own_role {
            return Err(Error::forbidden(format!(
                "you cannot grant the {} role, which is above your own",
                role_name(role)
            )));
        }
        let mut tx = self.begin().await?;
        lock_org(&tx, org).await?;
        let target = membership_of(&tx, org, user).await?;
        if target.role > own_role {
            return Err(Error::forbidden(
                "you cannot change the role of a member above your own",
            ));
        }
        if target.role == Role::Owner && role != Role::Owner {
            ensure_another_owner(&tx, org).await?;
        }
        let before = target.role;
        let mut changed: memberships::ActiveModel = target.into();
        changed.role = Set(role);
        let membership = changed.update(&*tx).await?;
        tx.announce_access_changed(user);
        Change::new(org, "member.role_changed", "user", user)
            .by(viewer)
            .meta(json!({"from": before, "to": role}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        if user == viewer.user_id {
            viewer.set_membership(org, Some(role));
        }
        let user = self.user(user).await?;
        Ok(Member { membership, user })
    }

    pub async fn remove_member(&self, viewer: &Viewer, org: OrgId, user: UserId) -> Result<()> {
        let own_role = viewer.require(org, Permission::ManageMembers)?;
        let mut tx = self.begin().await?;
        lock_org(&tx, org).await?;
        let target = membership_of(&tx, org, user).await?;
        if target.role > own_role {
            return Err(Error::forbidden(
                "you cannot remove a member above your own role",
            ));
        }
        let change = Change::new(org, "member.removed", "user", user).by(viewer);
        self.drop_membership(&mut tx, target, change).await?;
        self.commit(tx).await?;
        if user == viewer.user_id {
            viewer.set_membership(org, None);
        }
        Ok(())
    }

    pub async fn leave_organization(&self, viewer: &Viewer, org: OrgId) -> Result<()> {
        viewer.require(org, Permission::ReadOrganization)?;
        let mut tx = self.begin().await?;
        lock_org(&tx, org).await?;
        let own = membership_of(&tx, org, viewer.user_id).await?;
        let change = Change::new(org, "member.left", "user", viewer.user_id).by(viewer);
        self.drop_membership(&mut tx, own, change).await?;
        self.commit(tx).await?;
        viewer.set_membership(org, None);
        Ok(())
    }

    /// Makes `user` an owner and the current owner an admin.
    pub async fn transfer_ownership(
        &self,
        viewer: &Viewer,
        org: OrgId,
        user: UserId,
    ) -> Result<()> {
        viewer.require(org, Permission::TransferOwnership)?;
        if user == viewer.user_id {
            return Err(Error::invalid(
                "userId",
                "you already own this organization",
            ));
        }
        let mut tx = self.begin().await?;
        lock_org(&tx, org).await?;
        let target = membership_of(&tx, org, user).await?;
        let own = membership_of(&tx, org, viewer.user_id).await?;
        let mut promoted: memberships::ActiveModel = target.into();
        promoted.role = Set(Role::Owner);
        promoted.update(&*tx).await?;
        let mut demoted: memberships::ActiveModel = own.into();
        demoted.role = Set(Role::Admin);
        demoted.update(&*tx).await?;
        tx.announce_access_changed(viewer.user_id);
        Change::new(org, "org.ownership_transferred", "user", user)
            .by(viewer)
            .meta(json!({"previous_owner": viewer.user_id}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        viewer.set_membership(org, Some(Role::Admin));
        Ok(())
    }

    async fn drop_membership(
        &self,
        tx: &mut Tx,
        membership: memberships::Model,
        change: Change,
    ) -> Result<()> {
        if membership.role == Role::Owner {
            ensure_another_owner(tx, membership.org_id).await?;
        }
        memberships::Entity::delete_by_id(membership.id)
            .exec(&**tx)
            .await?;
        tx.announce_access_changed(membership.user_id);
        change
            .meta(json!({"role": membership.role}))
            .record(tx)
            .await
    }
}

pub async fn org_row(db: &impl ConnectionTrait, id: OrgId) -> Result<organizations::Model> {
    organizations::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(Error::NotFound("organization"))
}

impl Domain {
    /// Bytes of files the organization stores (each distinct file once).
    pub async fn storage_bytes(&self, viewer: &Viewer, org: OrgId) -> Result<i64> {
        viewer.require(org, Permission::ReadOrganization)?;
        stored_bytes(&self.db, org).await
    }
}

/// Bytes of files `org` stores (each distinct file once): what the storage quota counts.
pub async fn stored_bytes(db: &impl ConnectionTrait, org: OrgId) -> Result<i64> {
    use crate::entities::blobs;
    use sea_orm::sea_query::{Alias, Expr, Func};
    let total: Option<Option<i64>> = blobs::Entity::find()
        .select_only()
        // PostgreSQL sums BIGINT into NUMERIC; cast it back.
        .column_as(
            Expr::expr(Func::cast_as(
                Func::sum(Expr::col(blobs::Column::Size)),
                Alias::new("BIGINT"),
            )),
            "total",
        )
        .filter(blobs::Column::OrgId.eq(org))
        .into_tuple()
        .one(db)
        .await?;
    Ok(total.flatten().unwrap_or(0))
}

pub(crate) async fn add_member(tx: &Tx, org: OrgId, user: UserId, role: Role) -> Result<()> {
    memberships::ActiveModel {
        id: Set(MembershipId::new()),
        org_id: Set(org),
        user_id: Set(user),
        role: Set(role),
        created_at: Set(now()),
    }
    .insert(&**tx)
    .await
    .map_err(|e| conflict_on_unique(e, "already a member of this organization"))?;
    Ok(())
}

/// Serializes membership changes of one organization: touching its row takes the row lock
/// on PostgreSQL and the write lock on SQLite, so two owners cannot demote each other at once.
pub(crate) async fn lock_org(tx: &Tx, org: OrgId) -> Result<()> {
    organizations::Entity::update_many()
        .col_expr(
            organizations::Column::UpdatedAt,
            Expr::col(organizations::Column::UpdatedAt).into(),
        )
        .filter(organizations::Column::Id.eq(org))
        .exec(&**tx)
        .await?;
    Ok(())
}

async fn membership_of(tx: &Tx, org: OrgId, user: UserId) -> Result<memberships::Model> {
    memberships::Entity::find()
        .filter(memberships::Column::OrgId.eq(org))
        .filter(memberships::Column::UserId.eq(user))
        .one(&**tx)
        .await?
        .ok_or(Error::NotFound("member"))
}

async fn ensure_another_owner(tx: &Tx, org: OrgId) -> Result<()> {
    let owners = memberships::Entity::find()
        .filter(memberships::Column::OrgId.eq(org))
        .filter(memberships::Column::Role.eq(Role::Owner))
        .count(&**tx)
        .await?;
    if owners < 2 {
        return Err(Error::conflict(
            "an organization needs an owner: make someone else owner first",
        ));
    }
    Ok(())
}
