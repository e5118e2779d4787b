//! The audit log: every membership, role, invitation, token, project and organization
//! change, with actor, target, time and client address.

use crate::domain::{Domain, Tx};
use crate::entities::audit_log;
use crate::error::Result;
use crate::events::{Event, org_audit_topic};
use crate::ids::{AuditEntryId, OrgId, UserId};
use crate::page::{Page, PageRequest};
use crate::roles::Permission;
use crate::time::now;
use crate::viewer::Viewer;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, Order, QueryFilter, Set};

/// What happened to what, by whom and from where; `record` adds when.
pub struct Change {
    org_id: OrgId,
    action: &'static str,
    target_type: &'static str,
    target_id: Option<String>,
    metadata: serde_json::Value,
    actor_id: Option<UserId>,
    client_addr: Option<String>,
}

impl Change {
    pub fn new(
        org_id: OrgId,
        action: &'static str,
        target_type: &'static str,
        target_id: impl ToString,
    ) -> Self {
        Self {
            org_id,
            action,
            target_type,
            target_id: Some(target_id.to_string()),
            metadata: serde_json::Value::Object(Default::default()),
            actor_id: None,
            client_addr: None,
        }
    }

    pub fn by(self, viewer: &Viewer) -> Self {
        self.by_user(viewer.user_id, viewer.client_addr.clone())
    }

    pub fn by_user(mut self, user: UserId, client_addr: Option<String>) -> Self {
        self.actor_id = Some(user);
        self.client_addr = client_addr;
        self
    }

    pub fn meta(mut self, metadata: serde_json::Value) -> Self {
        self.metadata = metadata;
        self
    }

    pub async fn record(self, tx: &mut Tx) -> Result<()> {
        let entry = audit_log::ActiveModel {
            id: Set(AuditEntryId::new()),
            org_id: Set(self.org_id),
            actor_id: Set(self.actor_id),
            action: Set(self.action.to_string()),
            target_type: Set(self.target_type.to_string()),
            target_id: Set(self.target_id),
            metadata: Set(self.metadata),
            client_addr: Set(self.client_addr),
            created_at: Set(now()),
        }
        .insert(&**tx)
        .await?;
        tx.announce(org_audit_topic(self.org_id), Event::AuditEntryAdded(entry));
        Ok(())
    }
}

impl Domain {
    /// Newest first, optionally only one action (e.g. `member.role_changed`).
    pub async fn audit_log(
        &self,
        viewer: &Viewer,
        org_id: OrgId,
        action: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<audit_log::Model>> {
        viewer.require(org_id, Permission::ReadAuditLog)?;
        let mut query = audit_log::Entity::find().filter(audit_log::Column::OrgId.eq(org_id));
        if let Some(action) = action {
            query = query.filter(audit_log::Column::Action.eq(action));
        }
        let rows = page
            .apply(query, audit_log::Column::Id, Order::Desc)
            .all(&self.db)
            .await?;
        Ok(page.finish(rows))
    }
}
