//! Docker token auth. `/v2/token` checks Basic credentials once and signs a short token
//! listing what its bearer may do in which repository (the `access` claim of the Docker
//! token spec); registry calls verify that token and nothing else, so a request costs no
//! password or API-token lookup.

use super::names::RepositoryName;
use super::{RegistryCode, refuse};
use crate::Marketplace;
use crate::error::Result;
use crate::{UPLOAD_KEY_MARK, UploadGrant};
use chrono::Duration;
use keynet_domain::Error as DomainError;
use keynet_domain::auth::secrets::API_TOKEN_MARK;
use keynet_domain::entities::{organizations, trainers};
use keynet_domain::ids::{UploadKeyId, UserId};
use keynet_domain::orgs::org_row;
use keynet_domain::roles::Permission;
use keynet_domain::time::{Timestamp, now};
use keynet_domain::viewer::Viewer;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

/// Registry tokens are short: a revoked API token stops pushing within this time.
const TOKEN_TTL_SECS: i64 = 300;

/// Registry tokens carry their own audience: they open the registry and nothing else, and
/// no other token opens it.
const REGISTRY_PURPOSE: &str = "registry";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Pull,
    Push,
    /// Deleting manifests and blobs: organization admins only.
    Delete,
}

impl Action {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "pull" => Some(Self::Pull),
            "push" => Some(Self::Push),
            "delete" => Some(Self::Delete),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Pull => "pull",
            Self::Push => "push",
            Self::Delete => "delete",
        }
    }
}

/// One entry of the token's `access` claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct AccessEntry {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    actions: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct RegistryClaims {
    /// `user:<id>`: who asked (for an upload key, who requested the key).
    sub: String,
    /// The upload key the token was issued for: its pushes may only tag the key's tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    upload: Option<UploadKeyId>,
    access: Vec<AccessEntry>,
    iss: String,
    aud: String,
    iat: i64,
    nbf: i64,
    exp: i64,
}

pub struct IssuedRegistryToken {
    pub token: String,
    pub expires_in: i64,
    pub issued_at: Timestamp,
}

/// A verified right to act on one repository.
#[derive(Clone, Debug)]
pub struct RepositoryAccess {
    pub trainer: trainers::Model,
    pub name: String,
    actions: Vec<Action>,
    /// Who pushes, when known.
    pub user: Option<UserId>,
    /// Set when the token came from an upload key: the key whose tag alone may be pushed.
    pub upload_key: Option<UploadKeyId>,
}

impl RepositoryAccess {
    pub fn allows(&self, action: Action) -> bool {
        self.actions.contains(&action)
    }
}

impl Marketplace {
    /// Answers `/v2/token`: `username` is the user's email, `password` an API token of
    /// theirs. Each requested scope (`repository:<org>/<trainer>:pull,push`) is granted as
    /// far as the token's role and scopes allow; what is not allowed is left out, as the
    /// Docker token spec says, and the registry call then answers why.
    pub async fn issue_registry_token(
        &self,
        username: &str,
        password: &str,
        scopes: &[String],
        client_addr: Option<String>,
    ) -> Result<IssuedRegistryToken> {
        let requested: Vec<&str> = scopes.iter().flat_map(|s| s.split(' ')).collect();
        let (user, access, upload) = if password.starts_with(UPLOAD_KEY_MARK) {
            let grant = self
                .upload_grant(password)
                .await?
                .ok_or(DomainError::BadCredentials)?;
            let access = self.grant_upload(&grant, &requested).await?;
            (grant.key.created_by, access, Some(grant.key.id))
        } else if password.starts_with(API_TOKEN_MARK) {
            let viewer = self
                .domain
                .authenticate_api_token(password, client_addr)
                .await
                .map_err(|_| DomainError::BadCredentials)?;
            if !viewer.email.eq_ignore_ascii_case(username.trim()) {
                return Err(DomainError::BadCredentials.into());
            }
            let mut access = Vec::new();
            for scope in &requested {
                if let Some(entry) = self.grant(&viewer, scope).await? {
                    access.push(entry);
                }
            }
            (Some(viewer.user_id), access, None)
        } else {
            return Err(DomainError::BadCredentials.into());
        };
        let issued_at = now();
        let claims = RegistryClaims {
            sub: user.map(|id| format!("user:{id}")).unwrap_or_default(),
            upload,
            access,
            iss: self.domain.keys().issuer().to_string(),
            aud: self.domain.keys().purpose_audience(REGISTRY_PURPOSE),
            iat: issued_at.timestamp(),
            nbf: issued_at.timestamp(),
            exp: (issued_at + Duration::seconds(TOKEN_TTL_SECS)).timestamp(),
        };
        Ok(IssuedRegistryToken {
            token: self.domain.keys().sign_claims(&claims)?,
            expires_in: TOKEN_TTL_SECS,
            issued_at,
        })
    }

    /// The push rights an upload key gives, for pushes that do not go through `/v2/token`
    /// (the archive upload), with the one tag the key may push.
    pub(crate) async fn upload_key_access(
        &self,
        secret: &str,
    ) -> Result<(RepositoryAccess, String)> {
        let grant = self.upload_grant(secret).await?.ok_or_else(|| {
            DomainError::forbidden("the upload key is unknown, used or expired; request a new one")
        })?;
        let org = org_row(&self.db, grant.trainer.org_id).await?;
        let access = RepositoryAccess {
            name: format!("{}/{}", org.slug, grant.trainer.slug),
            trainer: grant.trainer,
            actions: vec![Action::Pull, Action::Push],
            user: grant.key.created_by,
            upload_key: Some(grant.key.id),
        };
        Ok((access, grant.key.tag))
    }

    /// An upload key grants pull and push on its own repository, and nothing else.
    async fn grant_upload(&self, grant: &UploadGrant, scopes: &[&str]) -> Result<Vec<AccessEntry>> {
        let org = org_row(&self.db, grant.trainer.org_id).await?;
        let own = format!("{}/{}", org.slug, grant.trainer.slug);
        Ok(scopes
            .iter()
            .filter_map(|scope| {
                let mut parts = scope.splitn(3, ':');
                let (Some("repository"), Some(name), Some(actions)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return None;
                };
                let granted: Vec<String> = actions
                    .split(',')
                    .filter_map(Action::parse)
                    .filter(|action| matches!(action, Action::Pull | Action::Push))
                    .map(|action| action.as_str().to_string())
                    .collect();
                (name == own && !granted.is_empty()).then(|| AccessEntry {
                    kind: "repository".into(),
                    name: own.clone(),
                    actions: granted,
                })
            })
            .collect())
    }

    async fn grant(&self, viewer: &Viewer, scope: &str) -> Result<Option<AccessEntry>> {
        let mut parts = scope.splitn(3, ':');
        let (Some("repository"), Some(name), Some(actions)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Ok(None);
        };
        let Ok(repository) = RepositoryName::parse(name) else {
            return Ok(None);
        };
        let Some(trainer) = self.find_repository(&repository).await? else {
            return Ok(None);
        };
        let granted: Vec<String> = actions
            .split(',')
            .filter_map(Action::parse)
            .filter(|action| {
                let needs = match action {
                    Action::Pull => Permission::ReadProjects,
                    Action::Push => Permission::PushTrainers,
                    Action::Delete => Permission::ManageTrainers,
                };
                viewer.require(trainer.org_id, needs).is_ok()
            })
            .map(|action| action.as_str().to_string())
            .collect();
        Ok((!granted.is_empty()).then(|| AccessEntry {
            kind: "repository".into(),
            name: repository.to_string(),
            actions: granted,
        }))
    }

    /// The trainer a repository name stands for.
    pub(crate) async fn find_repository(
        &self,
        name: &RepositoryName,
    ) -> Result<Option<trainers::Model>> {
        let Some(org) = organizations::Entity::find()
            .filter(organizations::Column::Slug.eq(name.org.as_str()))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        Ok(trainers::Entity::find()
            .filter(trainers::Column::OrgId.eq(org.id))
            .filter(trainers::Column::Slug.eq(name.trainer.as_str()))
            .one(&self.db)
            .await?)
    }

    /// `GET /v2/`: any valid registry token is a successful login.
    pub fn verify_registry_token(&self, bearer: Option<&str>) -> Result<()> {
        self.registry_claims(bearer).map(|_| ())
    }

    fn registry_claims(&self, bearer: Option<&str>) -> Result<RegistryClaims> {
        let token =
            bearer.ok_or_else(|| refuse(RegistryCode::Unauthorized, "authentication required"))?;
        self.domain
            .keys()
            .verify_for_audience(
                token,
                &self.domain.keys().purpose_audience(REGISTRY_PURPOSE),
            )
            .map_err(|_| {
                refuse(
                    RegistryCode::Unauthorized,
                    "the registry token is invalid or expired",
                )
            })
    }

    /// Checks a registry call: `bearer` must be a registry token granting `action` on
    /// `repository`. No token, or a token without that right, is `UNAUTHORIZED` (the API
    /// answers with the challenge telling the client which scope to ask for); a repository
    /// that no longer exists is `NAME_UNKNOWN`.
    pub async fn registry_access(
        &self,
        bearer: Option<&str>,
        repository: &str,
        action: Action,
    ) -> Result<RepositoryAccess> {
        let name = RepositoryName::parse(repository)?;
        let claims = self.registry_claims(bearer)?;
        let actions: Vec<Action> = claims
            .access
            .iter()
            .filter(|entry| entry.kind == "repository" && entry.name == repository)
            .flat_map(|entry| entry.actions.iter().filter_map(|a| Action::parse(a)))
            .collect();
        if !actions.contains(&action) {
            return Err(refuse(
                RegistryCode::Denied,
                format!(
                    "no {} access to {repository}: it does not exist, or your role or API token does not allow it",
                    action.as_str()
                ),
            ));
        }
        let trainer = self.find_repository(&name).await?.ok_or_else(|| {
            refuse(
                RegistryCode::NameUnknown,
                format!("repository {repository} does not exist"),
            )
        })?;
        let user = claims.sub.strip_prefix("user:").and_then(UserId::parse);
        Ok(RepositoryAccess {
            trainer,
            name: repository.to_string(),
            actions,
            user,
            upload_key: claims.upload,
        })
    }
}
