//! Who is asking, and the one permission check every operation goes through.

use crate::entities::users;
use crate::error::{Error, Result};
use crate::ids::{ApiTokenId, OrgId, SessionFamilyId, UserId};
use crate::roles::{Permission, Role, ScopeSet};
use crate::time::Timestamp;
use std::collections::HashMap;
use std::sync::RwLock;

#[derive(Clone, Debug)]
pub enum Credential {
    /// Signed in with a password; the family is the refresh-token chain of this sign-in.
    Session { family: SessionFamilyId },
    /// An API token is bound to one organization and limited by its scopes.
    ApiToken {
        id: ApiTokenId,
        org_id: OrgId,
        scopes: ScopeSet,
    },
}

#[derive(Debug)]
pub struct Viewer {
    pub user_id: UserId,
    pub email: String,
    /// The account as it was when the request was authenticated.
    pub user: users::Model,
    pub credential: Credential,
    /// The address the request came from, recorded in the audit log.
    pub client_addr: Option<String>,
    /// When the credential stops being valid (an access token's expiry, an API token's
    /// `expiresAt`); `None` for one that does not expire.
    pub expires_at: Option<Timestamp>,
    /// Loaded when the request is authenticated, and kept current by the operations of this
    /// request that change the viewer's own memberships (creating, joining, leaving).
    memberships: RwLock<HashMap<OrgId, Role>>,
}

/// A copy for what outlives the request (a subscription's live checks).
impl Clone for Viewer {
    fn clone(&self) -> Self {
        Self {
            user_id: self.user_id,
            email: self.email.clone(),
            user: self.user.clone(),
            credential: self.credential.clone(),
            client_addr: self.client_addr.clone(),
            expires_at: self.expires_at,
            memberships: RwLock::new(self.memberships().clone()),
        }
    }
}

impl Viewer {
    pub fn new(
        user: users::Model,
        credential: Credential,
        memberships: impl IntoIterator<Item = (OrgId, Role)>,
        client_addr: Option<String>,
    ) -> Self {
        Self {
            user_id: user.id,
            email: user.email.clone(),
            user,
            credential,
            client_addr,
            expires_at: None,
            memberships: RwLock::new(memberships.into_iter().collect()),
        }
    }

    /// The viewer of a credential that stops being valid at `at`.
    pub fn expiring(mut self, at: Option<Timestamp>) -> Self {
        self.expires_at = at;
        self
    }

    fn memberships(&self) -> std::sync::RwLockReadGuard<'_, HashMap<OrgId, Role>> {
        self.memberships.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a change of the viewer's own membership made by this request.
    pub(crate) fn set_membership(&self, org: OrgId, role: Option<Role>) {
        let mut memberships = self.memberships.write().unwrap_or_else(|e| e.into_inner());
        match role {
            Some(role) => memberships.insert(org, role),
            None => memberships.remove(&org),
        };
    }

    /// The viewer's role in `org`, as far as this credential reaches: an API token sees only
    /// its own organization.
    pub fn role_in(&self, org: OrgId) -> Option<Role> {
        match &self.credential {
            Credential::ApiToken { org_id, .. } if *org_id != org => None,
            _ => self.memberships().get(&org).copied(),
        }
    }

    /// The organizations this credential can see at all.
    pub fn visible_orgs(&self) -> Vec<OrgId> {
        let mut orgs: Vec<OrgId> = self
            .memberships()
            .keys()
            .copied()
            .filter(|org| self.role_in(*org).is_some())
            .collect();
        orgs.sort();
        orgs
    }

    /// The organizations where the viewer holds `permission`.
    pub fn orgs_with(&self, permission: Permission) -> Vec<OrgId> {
        self.visible_orgs()
            .into_iter()
            .filter(|org| self.require(*org, permission).is_ok())
            .collect()
    }

    /// Succeeds with the viewer's role when they may do `permission` in `org`. An
    /// organization the viewer does not belong to is `NotFound`, never `Forbidden`.
    pub fn require(&self, org: OrgId, permission: Permission) -> Result<Role> {
        let role = self.role_in(org).ok_or(Error::NotFound("organization"))?;
        let (min_role, scope) = permission.requirement();
        if role < min_role {
            return Err(Error::forbidden(format!(
                "this needs the {} role or higher",
                role_name(min_role)
            )));
        }
        if let Credential::ApiToken { scopes, .. } = &self.credential
            && !scopes.covers(scope)
        {
            return Err(Error::forbidden(format!(
                "the API token lacks the {scope:?} scope"
            )));
        }
        Ok(role)
    }

    /// Account-level actions (passwords, tokens, signing out) need a password sign-in, not
    /// an API token.
    pub fn require_session(&self) -> Result<SessionFamilyId> {
        match &self.credential {
            Credential::Session { family } => Ok(*family),
            Credential::ApiToken { .. } => Err(Error::forbidden(
                "this needs a signed-in session, not an API token",
            )),
        }
    }
}

pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Viewer => "viewer",
        Role::Member => "member",
        Role::Admin => "admin",
        Role::Owner => "owner",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::Scope;

    fn viewer(credential: Credential, orgs: &[(OrgId, Role)]) -> Viewer {
        let at = crate::time::now();
        let user = users::Model {
            id: UserId::new(),
            email: "a@example.com".into(),
            display_name: "A".into(),
            password_hash: String::new(),
            email_verified_at: None,
            created_at: at,
            updated_at: at,
        };
        Viewer::new(user, credential, orgs.iter().copied(), None)
    }

    #[test]
    fn another_orgs_id_is_not_found() {
        let (mine, theirs) = (OrgId::new(), OrgId::new());
        let v = viewer(
            Credential::Session {
                family: SessionFamilyId::new(),
            },
            &[(mine, Role::Owner)],
        );
        assert!(matches!(
            v.require(theirs, Permission::ReadOrganization),
            Err(Error::NotFound(_))
        ));
        assert!(v.require(mine, Permission::DeleteOrganization).is_ok());
    }

    #[test]
    fn low_role_is_forbidden() {
        let org = OrgId::new();
        let v = viewer(
            Credential::Session {
                family: SessionFamilyId::new(),
            },
            &[(org, Role::Member)],
        );
        assert!(matches!(
            v.require(org, Permission::ManageMembers),
            Err(Error::Forbidden(_))
        ));
    }

    #[test]
    fn api_token_is_bound_to_its_org_and_scopes() {
        let (org, other) = (OrgId::new(), OrgId::new());
        let v = viewer(
            Credential::ApiToken {
                id: ApiTokenId::new(),
                org_id: org,
                scopes: ScopeSet(vec![Scope::Read]),
            },
            &[(org, Role::Owner), (other, Role::Owner)],
        );
        assert_eq!(v.visible_orgs(), vec![org]);
        assert!(v.require(org, Permission::ReadProjects).is_ok());
        assert!(matches!(
            v.require(org, Permission::WriteProjects),
            Err(Error::Forbidden(_))
        ));
        assert!(matches!(
            v.require(other, Permission::ReadProjects),
            Err(Error::NotFound(_))
        ));
        assert!(v.require_session().is_err());
    }
}
