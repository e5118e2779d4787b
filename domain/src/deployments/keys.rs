//! Deployment keys (`kdk_…`): shown once, stored as a hash with a lookup prefix, expiring,
//! revocable, each with its own rate limit; two valid at once make a rotation. And who may
//! call a deployment: one of its keys, or a member's session or API token with the
//! `inference` scope in the deployment's organization.

use crate::audit::Change;
use crate::auth::secrets;
use crate::domain::Domain;
use crate::entities::{deployment_keys, deployments};
use crate::error::{Error, Result};
use crate::ids::{DeploymentId, DeploymentKeyId};
use crate::page::{Page, PageRequest};
use crate::roles::Permission;
use crate::scoped::find_scoped;
use crate::time::{Timestamp, now};
use crate::validate;
use crate::viewer::Viewer;
use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, Order, QueryFilter, Set};
use serde_json::json;

/// `last_used_at` is written at most this often per key, not on every request.
const LAST_USED_RESOLUTION_SECS: i64 = 60;
pub const MAX_REQUESTS_PER_SECOND: i32 = 100_000;

pub struct NewDeploymentKey {
    pub deployment_id: DeploymentId,
    pub name: String,
    pub expires_at: Option<Timestamp>,
    pub requests_per_second: Option<i32>,
}

pub struct CreatedDeploymentKey {
    pub key: deployment_keys::Model,
    /// The only time the secret is ever shown.
    pub secret: String,
}

/// Who is calling a deployment.
#[derive(Clone, Debug)]
pub enum Caller {
    /// A deployment key: it may call its own deployment only.
    Key(deployment_keys::Model),
    /// A member's session, or an API token with the `inference` scope.
    Member(Box<Viewer>),
}

impl Caller {
    /// Whether this caller may call `deployment`; a deployment it cannot see is `NotFound`
    /// (as if it did not exist), another deployment of a key's organization `Forbidden`.
    pub fn may_call(&self, deployment: &deployments::Model) -> Result<()> {
        match self {
            Caller::Key(key) if key.deployment_id == deployment.id => Ok(()),
            Caller::Key(key) if key.org_id == deployment.org_id => Err(Error::forbidden(
                "this key calls another deployment; create a key for this one",
            )),
            Caller::Key(_) => Err(Error::NotFound("deployment")),
            Caller::Member(viewer) => viewer
                .require(deployment.org_id, Permission::CallDeployments)
                .map(|_| ())
                .map_err(|error| match error {
                    Error::NotFound(_) => Error::NotFound("deployment"),
                    other => other,
                }),
        }
    }
}

impl Domain {
    pub async fn create_deployment_key(
        &self,
        viewer: &Viewer,
        input: NewDeploymentKey,
    ) -> Result<CreatedDeploymentKey> {
        let deployment = self.managed_deployment(viewer, input.deployment_id).await?;
        let name = validate::name("name", &input.name, 100)?;
        let at = now();
        if input
            .expires_at
            .is_some_and(|expires| expires <= at + Duration::minutes(1))
        {
            return Err(Error::invalid("expiresAt", "must be in the future"));
        }
        if let Some(rate) = input.requests_per_second
            && !(1..=MAX_REQUESTS_PER_SECOND).contains(&rate)
        {
            return Err(Error::invalid(
                "requestsPerSecond",
                format!("must be between 1 and {MAX_REQUESTS_PER_SECOND}"),
            ));
        }
        let secret = secrets::new_prefixed_secret(secrets::DEPLOYMENT_KEY_MARK);
        let mut tx = self.begin().await?;
        let key = deployment_keys::ActiveModel {
            id: Set(DeploymentKeyId::new()),
            org_id: Set(deployment.org_id),
            deployment_id: Set(deployment.id),
            name: Set(name),
            prefix: Set(secret.prefix),
            key_hash: Set(secrets::hash(&secret.token)),
            requests_per_second: Set(input.requests_per_second),
            expires_at: Set(input.expires_at),
            last_used_at: Set(None),
            revoked_at: Set(None),
            created_by: Set(Some(viewer.user_id)),
            created_at: Set(at),
        }
        .insert(&*tx)
        .await?;
        Change::new(
            deployment.org_id,
            "deployment_key.created",
            "deployment_key",
            key.id,
        )
        .by(viewer)
        .meta(json!({"name": key.name, "prefix": key.prefix, "deployment_id": deployment.id}))
        .record(&mut tx)
        .await?;
        self.commit(tx).await?;
        Ok(CreatedDeploymentKey {
            key,
            secret: secret.token,
        })
    }

    pub async fn deployment_keys(
        &self,
        viewer: &Viewer,
        deployment: DeploymentId,
        page: PageRequest,
    ) -> Result<Page<deployment_keys::Model>> {
        let deployment = self.managed_deployment(viewer, deployment).await?;
        let query = deployment_keys::Entity::find()
            .filter(deployment_keys::Column::DeploymentId.eq(deployment.id));
        let rows = page
            .apply(query, deployment_keys::Column::Id, Order::Asc)
            .all(&self.db)
            .await?;
        Ok(page.finish(rows))
    }

    pub async fn revoke_deployment_key(
        &self,
        viewer: &Viewer,
        id: DeploymentKeyId,
    ) -> Result<deployment_keys::Model> {
        let key = find_scoped::<deployment_keys::Entity>(
            &self.db,
            viewer,
            (deployment_keys::Column::Id, id),
            deployment_keys::Column::OrgId,
            "deployment key",
        )
        .await?;
        viewer.require(key.org_id, Permission::ManageDeployments)?;
        if key.revoked_at.is_some() {
            return Ok(key);
        }
        let mut tx = self.begin().await?;
        let mut revoked: deployment_keys::ActiveModel = key.into();
        revoked.revoked_at = Set(Some(now()));
        let key = revoked.update(&*tx).await?;
        Change::new(
            key.org_id,
            "deployment_key.revoked",
            "deployment_key",
            key.id,
        )
        .by(viewer)
        .meta(json!({"name": key.name, "prefix": key.prefix}))
        .record(&mut tx)
        .await?;
        self.commit(tx).await?;
        Ok(key)
    }

    /// The caller behind a bearer credential: a deployment key, an API token or a session.
    /// Anything unknown, revoked or expired is `Unauthenticated`.
    pub async fn authenticate_caller(
        &self,
        presented: &str,
        client_addr: Option<String>,
    ) -> Result<Caller> {
        if !presented.starts_with(secrets::DEPLOYMENT_KEY_MARK) {
            let viewer = self.authenticate(presented, client_addr).await?;
            return Ok(Caller::Member(Box::new(viewer)));
        }
        let prefix = secrets::lookup_prefix(secrets::DEPLOYMENT_KEY_MARK, presented)
            .ok_or(Error::Unauthenticated)?;
        let at = now();
        let key = deployment_keys::Entity::find()
            .filter(deployment_keys::Column::Prefix.eq(prefix))
            .one(&self.db)
            .await?
            .filter(|k| secrets::hashes_match(&k.key_hash, &secrets::hash(presented)))
            .filter(|k| k.revoked_at.is_none() && k.expires_at.is_none_or(|e| e > at))
            .ok_or(Error::Unauthenticated)?;
        if key
            .last_used_at
            .is_none_or(|used| at - used > Duration::seconds(LAST_USED_RESOLUTION_SECS))
        {
            deployment_keys::Entity::update_many()
                .col_expr(deployment_keys::Column::LastUsedAt, Expr::value(at))
                .filter(deployment_keys::Column::Id.eq(key.id))
                .exec(&self.db)
                .await?;
        }
        Ok(Caller::Key(key))
    }
}
