//! Signing in and out: a short JWT access token plus an opaque refresh token, stored hashed
//! and rotated on every use. Presenting a refresh token a second time means it was copied:
//! the whole session (its family) is revoked.

use super::{passwords, secrets, throttle};
use crate::domain::{Domain, Tx};
use crate::entities::{refresh_tokens, users};
use crate::error::{Error, Result};
use crate::ids::{RefreshTokenId, SessionFamilyId, UserId};
use crate::time::{Timestamp, now};
use crate::validate;
use crate::viewer::Viewer;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    /// When the access token expires.
    pub expires_at: Timestamp,
    pub user: users::Model,
}

impl Domain {
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        client_addr: Option<&str>,
    ) -> Result<Session> {
        let email = validate::email("email", email)?;
        let config = &self.config.throttle;
        let keys = throttle::keys(&email, client_addr);
        let failures = throttle::check(&self.db, config, &keys).await?;
        tokio::time::sleep(throttle::delay(config, failures)).await;

        let user = users::Entity::find()
            .filter(users::Column::Email.eq(&email))
            .one(&self.db)
            .await?;
        let stored = match &user {
            Some(user) => user.password_hash.clone(),
            None => passwords::DECOY_HASH.to_string(),
        };
        let matches = passwords::verify(password.to_string(), stored).await?;
        let Some(user) = user.filter(|_| matches) else {
            throttle::record_failure(&self.db, config, &keys).await?;
            tracing::info!(client_addr, "failed sign-in");
            return Err(Error::BadCredentials);
        };
        throttle::clear(&self.db, &throttle::account_key(&email)).await?;
        let user = upgrade_outdated_hash(&self.db, user, password).await;
        self.start_session(&self.db, user, SessionFamilyId::new())
            .await
    }

    pub async fn refresh_session(&self, refresh_token: &str) -> Result<Session> {
        let mut tx = self.begin().await?;
        let at = now();
        let presented = refresh_tokens::Entity::find()
            .filter(refresh_tokens::Column::TokenHash.eq(secrets::hash(refresh_token)))
            .one(&*tx)
            .await?
            .filter(|row| row.revoked_at.is_none() && row.expires_at > at)
            .ok_or(Error::Unauthenticated)?;
        // Only one request may use a refresh token; the conditional update decides which.
        let claimed = refresh_tokens::Entity::update_many()
            .col_expr(refresh_tokens::Column::UsedAt, Expr::value(at))
            .filter(refresh_tokens::Column::Id.eq(presented.id))
            .filter(refresh_tokens::Column::UsedAt.is_null())
            .exec(&*tx)
            .await?;
        if claimed.rows_affected == 0 {
            tracing::warn!(user_id = %presented.user_id, "refresh token reused; session revoked");
            revoke_family(&*tx, presented.family_id).await?;
            tx.announce_access_changed(presented.user_id);
            self.commit(tx).await?;
            return Err(Error::Unauthenticated);
        }
        let user = users::Entity::find_by_id(presented.user_id)
            .one(&*tx)
            .await?
            .ok_or(Error::Unauthenticated)?;
        let session = self.start_session(&*tx, user, presented.family_id).await?;
        self.commit(tx).await?;
        Ok(session)
    }

    /// Ends the viewer's session: its refresh tokens stop working at once; the access
    /// token expires on its own within minutes.
    pub async fn logout(&self, viewer: &Viewer) -> Result<()> {
        let family = viewer.require_session()?;
        let mut tx = self.begin().await?;
        revoke_family(&*tx, family).await?;
        tx.announce_access_changed(viewer.user_id);
        self.commit(tx).await
    }

    pub(crate) async fn start_session(
        &self,
        db: &impl ConnectionTrait,
        user: users::Model,
        family: SessionFamilyId,
    ) -> Result<Session> {
        let at = now();
        let refresh_token = secrets::random_token();
        refresh_tokens::ActiveModel {
            id: Set(RefreshTokenId::new()),
            user_id: Set(user.id),
            family_id: Set(family),
            token_hash: Set(secrets::hash(&refresh_token)),
            expires_at: Set(at + self.config.refresh_token_ttl),
            used_at: Set(None),
            revoked_at: Set(None),
            created_at: Set(at),
        }
        .insert(db)
        .await?;
        let expires_at = at + self.config.access_token_ttl;
        let access_token = self.keys.sign(user.id, family, at, expires_at)?;
        Ok(Session {
            access_token,
            refresh_token,
            expires_at,
            user,
        })
    }
}

/// Re-hashes a password whose stored hash has outdated parameters, now that sign-in has
/// the password in hand (see [`passwords::is_outdated`]). The sign-in stands even if this
/// fails: the hash is upgraded at a later one.
async fn upgrade_outdated_hash(
    db: &impl ConnectionTrait,
    mut user: users::Model,
    password: &str,
) -> users::Model {
    if !passwords::is_outdated(&user.password_hash) {
        return user;
    }
    let upgraded = async {
        let new_hash = passwords::hash(password.to_string()).await?;
        // Only over the hash just verified: a reset or change meanwhile wins.
        let updated = users::Entity::update_many()
            .col_expr(users::Column::PasswordHash, Expr::value(new_hash.clone()))
            .filter(users::Column::Id.eq(user.id))
            .filter(users::Column::PasswordHash.eq(user.password_hash.as_str()))
            .exec(db)
            .await?;
        Ok::<_, Error>((updated.rows_affected == 1).then_some(new_hash))
    }
    .await;
    match upgraded {
        Ok(Some(new_hash)) => {
            tracing::info!(user_id = %user.id, "password hash upgraded to the current parameters");
            user.password_hash = new_hash;
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(user_id = %user.id, error = %e, "could not upgrade an outdated password hash")
        }
    }
    user
}

async fn revoke_family(db: &impl ConnectionTrait, family: SessionFamilyId) -> Result<()> {
    refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(now()))
        .filter(refresh_tokens::Column::FamilyId.eq(family))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Signs the user out everywhere (after a password reset).
pub(crate) async fn revoke_all_sessions(tx: &mut Tx, user: UserId) -> Result<()> {
    refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(now()))
        .filter(refresh_tokens::Column::UserId.eq(user))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(&**tx)
        .await?;
    tx.announce_access_changed(user);
    Ok(())
}
