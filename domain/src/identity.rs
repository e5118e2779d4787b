//! Accounts: sign-up, email verification, password reset and change.

use crate::auth::sessions::{Session, revoke_all_sessions};
use crate::auth::{passwords, secrets};
use crate::domain::{Domain, Tx};
use crate::email::{self, PasswordReplaced};
use crate::entities::user_tokens::{self, Purpose};
use crate::entities::users;
use crate::error::{Error, Result, conflict_on_unique};
use crate::ids::{SessionFamilyId, UserId, UserTokenId};
use crate::time::{Timestamp, now};
use crate::validate;
use crate::viewer::Viewer;
use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, Set,
};

pub struct SignupInput {
    pub email: String,
    pub password: String,
    pub display_name: String,
    /// Signing up through an invitation joins its organization and proves the address.
    pub invitation_token: Option<String>,
}

const MAX_DISPLAY_NAME: usize = 100;

impl Domain {
    pub async fn signup(&self, input: SignupInput, client_addr: Option<String>) -> Result<Session> {
        let email = validate::email("email", &input.email)?;
        validate::password("password", &input.password)?;
        let display_name = validate::name("displayName", &input.display_name, MAX_DISPLAY_NAME)?;
        let invitation = match &input.invitation_token {
            Some(token) => Some(self.pending_invitation(&self.db, token).await?),
            None => None,
        };
        if invitation.as_ref().is_some_and(|inv| inv.email != email) {
            return Err(Error::invalid(
                "email",
                "the invitation was sent to another email address",
            ));
        }
        let password_hash = passwords::hash(input.password).await?;

        let mut tx = self.begin().await?;
        let at = now();
        let user = users::ActiveModel {
            id: Set(UserId::new()),
            email: Set(email),
            display_name: Set(display_name),
            password_hash: Set(password_hash),
            email_verified_at: Set(invitation.as_ref().map(|_| at)),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&*tx)
        .await
        .map_err(|e| conflict_on_unique(e, "an account with this email address already exists"))?;
        match invitation {
            Some(invitation) => {
                self.join_by_invitation(&mut tx, invitation, &user, client_addr)
                    .await?
            }
            None => self.send_verification(&*tx, &user).await?,
        }
        let session = self
            .start_session(&*tx, user, SessionFamilyId::new())
            .await?;
        self.commit(tx).await?;
        Ok(session)
    }

    pub async fn user(&self, id: UserId) -> Result<users::Model> {
        users::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or(Error::NotFound("user"))
    }

    pub async fn verify_email(&self, token: &str) -> Result<users::Model> {
        let tx = self.begin().await?;
        let user_id = consume_user_token(&*tx, token, Purpose::VerifyEmail).await?;
        let user = mark_verified(&*tx, user_id).await?;
        self.commit(tx).await?;
        Ok(user)
    }

    pub async fn resend_verification(&self, viewer: &Viewer) -> Result<()> {
        viewer.require_session()?;
        let user = self.user(viewer.user_id).await?;
        if user.email_verified_at.is_some() {
            return Err(Error::conflict("the email address is already verified"));
        }
        let tx = self.begin().await?;
        self.send_verification(&*tx, &user).await?;
        self.commit(tx).await
    }

    /// Answers the same whether or not an account exists, so it cannot be used to probe
    /// for addresses.
    pub async fn request_password_reset(&self, email: &str) -> Result<()> {
        let email = validate::email("email", email)?;
        let Some(user) = users::Entity::find()
            .filter(users::Column::Email.eq(&email))
            .one(&self.db)
            .await?
        else {
            return Ok(());
        };
        let tx = self.begin().await?;
        if !self.may_email_link(&*tx, user.id).await? {
            return Ok(());
        }
        // Only the newest link works: an older one, perhaps in a mailbox someone else read,
        // cannot reset the password any more.
        void_reset_links(&*tx, user.id).await?;
        let token = issue_user_token(
            &*tx,
            user.id,
            Purpose::ResetPassword,
            self.config.password_reset_ttl,
        )
        .await?;
        let link = format!("{}/reset-password?token={token}", self.config.public_url);
        email::password_reset(&user.email, &user.display_name, &link)
            .enqueue(&*tx)
            .await?;
        self.commit(tx).await
    }

    /// Sets a new password from an emailed link (see [`Self::replace_password`]).
    pub async fn reset_password(&self, token: &str, new_password: &str) -> Result<()> {
        validate::password("newPassword", new_password)?;
        let password_hash = passwords::hash(new_password.to_string()).await?;
        let mut tx = self.begin().await?;
        let user_id = consume_user_token(&*tx, token, Purpose::ResetPassword).await?;
        // Whoever reads the mailbox controls the address: count it as verified.
        let user = mark_verified(&*tx, user_id).await?;
        self.replace_password(&mut tx, &user, password_hash, PasswordReplaced::Reset)
            .await?;
        self.commit(tx).await
    }

    /// Changes the password of the signed-in user (see [`Self::replace_password`]).
    pub async fn change_password(
        &self,
        viewer: &Viewer,
        current_password: &str,
        new_password: &str,
    ) -> Result<()> {
        viewer.require_session()?;
        validate::password("newPassword", new_password)?;
        let user = self.user(viewer.user_id).await?;
        if !passwords::verify(current_password.to_string(), user.password_hash.clone()).await? {
            return Err(Error::invalid(
                "currentPassword",
                "the current password is not correct",
            ));
        }
        let password_hash = passwords::hash(new_password.to_string()).await?;
        let mut tx = self.begin().await?;
        self.replace_password(&mut tx, &user, password_hash, PasswordReplaced::Changed)
            .await?;
        self.commit(tx).await
    }

    /// Stores a new password hash and ends everything the old password, or a mailbox
    /// someone else may read, still opens: every session (this one too) and every reset
    /// link not used yet. Then tells the account by email.
    async fn replace_password(
        &self,
        tx: &mut Tx,
        user: &users::Model,
        password_hash: String,
        how: PasswordReplaced,
    ) -> Result<()> {
        let at = now();
        set_password(&**tx, user.id, password_hash, at).await?;
        revoke_all_sessions(tx, user.id).await?;
        void_reset_links(&**tx, user.id).await?;
        email::password_replaced(
            &user.email,
            &user.display_name,
            how,
            at,
            &self.config.public_url,
        )
        .enqueue(&**tx)
        .await
    }

    /// Sends a verification link, unless the address had its hourly share of links (the
    /// caller's answer does not change).
    async fn send_verification(
        &self,
        db: &impl ConnectionTrait,
        user: &users::Model,
    ) -> Result<()> {
        if !self.may_email_link(db, user.id).await? {
            return Ok(());
        }
        let token = issue_user_token(
            db,
            user.id,
            Purpose::VerifyEmail,
            self.config.email_verification_ttl,
        )
        .await?;
        let link = format!("{}/verify-email?token={token}", self.config.public_url);
        email::verification(&user.email, &user.display_name, &link)
            .enqueue(db)
            .await
    }

    /// Whether the user's address may be sent one more reset or verification link: at most
    /// `account_emails_per_hour` in any hour, so nobody can use Keynet to flood an inbox.
    /// Each link sent is a `user_tokens` row, so they are counted there. The user's row is
    /// locked first (PostgreSQL; SQLite has one writer), so concurrent requests count one
    /// after the other and cannot all slip under the cap. The caller answers the same either
    /// way: the cap must not tell whether an address has an account.
    async fn may_email_link(&self, db: &impl ConnectionTrait, user: UserId) -> Result<bool> {
        users::Entity::find_by_id(user)
            .lock_exclusive()
            .one(db)
            .await?;
        let sent = user_tokens::Entity::find()
            .filter(user_tokens::Column::UserId.eq(user))
            .filter(user_tokens::Column::CreatedAt.gt(now() - Duration::hours(1)))
            .count(db)
            .await?;
        let allowed = sent < u64::from(self.config.account_emails_per_hour);
        if !allowed {
            tracing::info!(user_id = %user, "link email not sent: the address had its hourly share");
        }
        Ok(allowed)
    }
}

async fn issue_user_token(
    db: &impl ConnectionTrait,
    user: UserId,
    purpose: Purpose,
    ttl: Duration,
) -> Result<String> {
    let token = secrets::random_token();
    let at = now();
    user_tokens::ActiveModel {
        id: Set(UserTokenId::new()),
        user_id: Set(user),
        purpose: Set(purpose),
        token_hash: Set(secrets::hash(&token)),
        expires_at: Set(at + ttl),
        used_at: Set(None),
        created_at: Set(at),
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// Uses up a single-use token; a second use, an expired token or one for another purpose
/// is refused the same way.
async fn consume_user_token(
    db: &impl ConnectionTrait,
    token: &str,
    purpose: Purpose,
) -> Result<UserId> {
    let at = now();
    let invalid = || Error::invalid("token", "this link is invalid, already used or expired");
    let row = user_tokens::Entity::find()
        .filter(user_tokens::Column::TokenHash.eq(secrets::hash(token)))
        .filter(user_tokens::Column::Purpose.eq(purpose))
        .one(db)
        .await?
        .filter(|row| row.used_at.is_none() && row.expires_at > at)
        .ok_or_else(invalid)?;
    let used = user_tokens::Entity::update_many()
        .col_expr(user_tokens::Column::UsedAt, Expr::value(at))
        .filter(user_tokens::Column::Id.eq(row.id))
        .filter(user_tokens::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    if used.rows_affected == 0 {
        return Err(invalid());
    }
    Ok(row.user_id)
}

pub(crate) async fn mark_verified(db: &impl ConnectionTrait, user: UserId) -> Result<users::Model> {
    let at = now();
    users::Entity::update_many()
        .col_expr(users::Column::EmailVerifiedAt, Expr::value(at))
        .col_expr(users::Column::UpdatedAt, Expr::value(at))
        .filter(users::Column::Id.eq(user))
        .filter(users::Column::EmailVerifiedAt.is_null())
        .exec(db)
        .await?;
    users::Entity::find_by_id(user)
        .one(db)
        .await?
        .ok_or(Error::NotFound("user"))
}

/// Ends the user's reset links not used yet. They are marked used rather than deleted, so
/// they still count towards the emails sent to the address.
async fn void_reset_links(db: &impl ConnectionTrait, user: UserId) -> Result<()> {
    user_tokens::Entity::update_many()
        .col_expr(user_tokens::Column::UsedAt, Expr::value(now()))
        .filter(user_tokens::Column::UserId.eq(user))
        .filter(user_tokens::Column::Purpose.eq(Purpose::ResetPassword))
        .filter(user_tokens::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

async fn set_password(
    db: &impl ConnectionTrait,
    user: UserId,
    password_hash: String,
    at: Timestamp,
) -> Result<()> {
    users::Entity::update_many()
        .col_expr(users::Column::PasswordHash, Expr::value(password_hash))
        .col_expr(users::Column::UpdatedAt, Expr::value(at))
        .filter(users::Column::Id.eq(user))
        .exec(db)
        .await?;
    Ok(())
}
