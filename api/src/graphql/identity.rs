//! Sign-up, sign-in, sessions and the account itself.

use super::context::{domain, meta, viewer};
use super::types::{AuthPayload, User};
use crate::error::ApiResult;
use async_graphql::{Context, InputObject, Object};
use keynet_domain::identity::SignupInput as DomainSignup;

#[derive(InputObject)]
pub struct SignupInput {
    pub email: String,
    pub password: String,
    pub display_name: String,
    /// Signing up through an invitation joins its organization right away.
    pub invitation_token: Option<String>,
}

#[derive(InputObject)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

#[derive(Default)]
pub struct IdentityQuery;

#[Object]
impl IdentityQuery {
    /// The account as of this request (read when the request was authenticated).
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<User> {
        Ok(User(viewer(ctx)?.user.clone()))
    }
}

#[derive(Default)]
pub struct IdentityMutation;

#[Object]
impl IdentityMutation {
    async fn signup(&self, ctx: &Context<'_>, input: SignupInput) -> ApiResult<AuthPayload> {
        let session = domain(ctx)
            .signup(
                DomainSignup {
                    email: input.email,
                    password: input.password,
                    display_name: input.display_name,
                    invitation_token: input.invitation_token,
                },
                meta(ctx).client_addr.clone(),
            )
            .await?;
        Ok(session.into())
    }

    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> ApiResult<AuthPayload> {
        let session = domain(ctx)
            .login(
                &input.email,
                &input.password,
                meta(ctx).client_addr.as_deref(),
            )
            .await?;
        Ok(session.into())
    }

    /// Trades a refresh token for a new session; the old refresh token stops working.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> ApiResult<AuthPayload> {
        Ok(domain(ctx).refresh_session(&refresh_token).await?.into())
    }

    async fn logout(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        domain(ctx).logout(viewer(ctx)?).await?;
        Ok(true)
    }

    async fn verify_email(&self, ctx: &Context<'_>, token: String) -> ApiResult<User> {
        Ok(User(domain(ctx).verify_email(&token).await?))
    }

    async fn resend_verification(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        domain(ctx).resend_verification(viewer(ctx)?).await?;
        Ok(true)
    }

    /// Always answers `true`, whether or not the address has an account.
    async fn request_password_reset(&self, ctx: &Context<'_>, email: String) -> ApiResult<bool> {
        domain(ctx).request_password_reset(&email).await?;
        Ok(true)
    }

    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        token: String,
        new_password: String,
    ) -> ApiResult<bool> {
        domain(ctx).reset_password(&token, &new_password).await?;
        Ok(true)
    }

    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> ApiResult<bool> {
        domain(ctx)
            .change_password(viewer(ctx)?, &current_password, &new_password)
            .await?;
        Ok(true)
    }
}
