//! Roles, permissions and API-token scopes, and the one table that relates them.

use sea_orm::entity::prelude::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter, FromJsonQueryResult};
use serde::{Deserialize, Serialize};

/// Declared from least to most powerful: the derived `Ord` is the role hierarchy.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[sea_orm(string_value = "viewer")]
    Viewer,
    #[sea_orm(string_value = "member")]
    Member,
    #[sea_orm(string_value = "admin")]
    Admin,
    #[sea_orm(string_value = "owner")]
    Owner,
}

/// What an API token may be used for. A session has every scope its role allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Read,
    Write,
    TrainerPush,
    /// Calling the organization's deployments (`POST /v1/infer/…`, the Open Inference
    /// Protocol), and nothing else.
    Inference,
    Admin,
}

impl Scope {
    /// Whether a token holding `self` may be used for work that needs `needed`.
    pub fn covers(self, needed: Scope) -> bool {
        match self {
            Scope::Admin => true,
            Scope::Write => matches!(needed, Scope::Read | Scope::Write),
            Scope::TrainerPush => matches!(needed, Scope::Read | Scope::TrainerPush),
            Scope::Read => needed == Scope::Read,
            Scope::Inference => needed == Scope::Inference,
        }
    }

    /// The least role that may hold a token with this scope.
    pub fn min_role(self) -> Role {
        match self {
            Scope::Read => Role::Viewer,
            Scope::Write | Scope::TrainerPush | Scope::Inference => Role::Member,
            Scope::Admin => Role::Admin,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct ScopeSet(pub Vec<Scope>);

impl ScopeSet {
    pub fn covers(&self, needed: Scope) -> bool {
        self.0.iter().any(|held| held.covers(needed))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    ReadOrganization,
    UpdateOrganization,
    DeleteOrganization,
    ReadMembers,
    ManageMembers,
    TransferOwnership,
    ManageInvitations,
    UseApiTokens,
    ManageOrgApiTokens,
    ReadProjects,
    WriteProjects,
    ArchiveProjects,
    DeleteDatasets,
    PushTrainers,
    RunJobs,
    ManageTrainers,
    ReadAuditLog,
    /// Usage, invoices, the billing account and its portal; the author's earnings.
    ManageBilling,
    ChangePlan,
    /// Create, change, stop and delete deployments, and their keys.
    ManageDeployments,
    /// Call a deployment's endpoint (each request is billed).
    CallDeployments,
}

impl Permission {
    /// The least role, and the token scope, each permission needs. This table is the only
    /// place that says who may do what.
    pub fn requirement(self) -> (Role, Scope) {
        use Permission::*;
        match self {
            ReadOrganization | ReadMembers | ReadProjects => (Role::Viewer, Scope::Read),
            UseApiTokens => (Role::Viewer, Scope::Admin),
            WriteProjects | RunJobs | ManageDeployments => (Role::Member, Scope::Write),
            CallDeployments => (Role::Member, Scope::Inference),
            PushTrainers => (Role::Member, Scope::TrainerPush),
            ArchiveProjects | DeleteDatasets => (Role::Admin, Scope::Write),
            UpdateOrganization | ManageMembers | ManageInvitations | ManageOrgApiTokens
            | ManageTrainers | ReadAuditLog | ManageBilling => (Role::Admin, Scope::Admin),
            DeleteOrganization | TransferOwnership | ChangePlan => (Role::Owner, Scope::Admin),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(Role::Owner > Role::Admin);
        assert!(Role::Admin > Role::Member);
        assert!(Role::Member > Role::Viewer);
    }

    #[test]
    fn scopes_cover_only_what_they_name() {
        assert!(Scope::Admin.covers(Scope::TrainerPush));
        assert!(Scope::Write.covers(Scope::Read));
        assert!(!Scope::Write.covers(Scope::TrainerPush));
        assert!(!Scope::Read.covers(Scope::Write));
        assert!(!Scope::TrainerPush.covers(Scope::Write));
        assert!(Scope::Admin.covers(Scope::Inference));
        assert!(!Scope::Write.covers(Scope::Inference));
        assert!(!Scope::Inference.covers(Scope::Read));
    }
}
