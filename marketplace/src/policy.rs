//! Each organization's scan policy: read by the scan of its versions, changed by its
//! admins. A policy that does not parse is refused naming the field
//! (`allowlist[1].expires_at`), so what is stored always applies.

use crate::Marketplace;
use crate::entities::scan_policies;
use crate::error::{Error, Result};
use keynet_domain::Error as DomainError;
use keynet_domain::audit::Change;
use keynet_domain::ids::OrgId;
use keynet_domain::roles::Permission;
use keynet_domain::time::now;
use keynet_domain::viewer::Viewer;
use keynet_scan::vuln::policy::Policy;
use sea_orm::sea_query::OnConflict;
use sea_orm::{EntityTrait, Set};
use serde_json::{Value, json};

impl Marketplace {
    /// The policy the organization's scans apply (the default until an admin sets one).
    pub async fn scan_policy(&self, viewer: &Viewer, org: OrgId) -> Result<Policy> {
        viewer.require(org, Permission::ReadProjects)?;
        self.policy_of(org).await
    }

    pub(crate) async fn policy_of(&self, org: OrgId) -> Result<Policy> {
        let stored = scan_policies::Entity::find_by_id(org).one(&self.db).await?;
        match stored {
            Some(row) => serde_json::from_value(row.policy).map_err(Error::internal),
            None => Ok(Policy::default()),
        }
    }

    /// Admins: replaces the organization's policy. Versions already checked keep their
    /// decision; the policy applies to scans from now on.
    pub async fn set_scan_policy(
        &self,
        viewer: &Viewer,
        org: OrgId,
        policy: &Value,
    ) -> Result<Policy> {
        viewer.require(org, Permission::ManageTrainers)?;
        let policy = Policy::from_json(&policy.to_string()).map_err(|e| match e {
            keynet_scan::Error::InvalidPolicy { field, why } => {
                DomainError::invalid(format!("policy.{field}"), why)
            }
            other => DomainError::invalid("policy", other.to_string()),
        })?;
        let stored = serde_json::to_value(&policy).map_err(Error::internal)?;
        let mut tx = self.begin().await?;
        scan_policies::Entity::insert(scan_policies::ActiveModel {
            org_id: Set(org),
            policy: Set(stored.clone()),
            updated_by: Set(Some(viewer.user_id)),
            updated_at: Set(now()),
        })
        .on_conflict(
            OnConflict::column(scan_policies::Column::OrgId)
                .update_columns([
                    scan_policies::Column::Policy,
                    scan_policies::Column::UpdatedBy,
                    scan_policies::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&*tx)
        .await?;
        Change::new(org, "scan_policy.updated", "organization", org)
            .by(viewer)
            .meta(json!({"policy": stored}))
            .record(&mut tx)
            .await?;
        self.commit(tx).await?;
        Ok(policy)
    }
}
