//! The one place domain errors become GraphQL errors (with `extensions.code`) and HTTP
//! answers. `ApiError` deliberately has no `Display`: that keeps async-graphql's blanket
//! conversion away, so a domain error can never reach a client without its code.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use keynet_domain::Error;
use serde_json::json;
use std::sync::Arc;

#[derive(Clone)]
pub struct ApiError(pub Arc<Error>);

pub type ApiResult<T> = Result<T, ApiError>;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(Arc::new(e))
    }
}

impl From<keynet_billing::Error> for ApiError {
    fn from(e: keynet_billing::Error) -> Self {
        use keynet_billing::Error as Billing;
        Self::from(match e {
            Billing::Domain(error) => error,
            Billing::Webhook(message) => Error::invalid("Stripe-Signature", message),
            Billing::StripeNotConfigured => {
                Error::forbidden("Stripe is not configured on this platform")
            }
            Billing::Stripe(message) => Error::Internal(anyhow::anyhow!("Stripe: {message}")),
        })
    }
}

impl From<keynet_marketplace::Error> for ApiError {
    fn from(e: keynet_marketplace::Error) -> Self {
        use keynet_marketplace::Error as Marketplace;
        Self::from(match e {
            Marketplace::Domain(error) => error,
            // Registry refusals are answered by the registry endpoints in their own format;
            // one reaching GraphQL or REST is a bad input all the same.
            Marketplace::Registry { message, .. } => Error::invalid("registry", message),
        })
    }
}

pub fn code(error: &Error) -> &'static str {
    match error {
        Error::Unauthenticated | Error::BadCredentials | Error::CredentialRejected => {
            "UNAUTHENTICATED"
        }
        Error::Forbidden(_) => "FORBIDDEN",
        Error::NotFound(_) => "NOT_FOUND",
        Error::InvalidInput { .. } => "BAD_USER_INPUT",
        Error::Conflict(_) => "CONFLICT",
        Error::RateLimited { .. } => "RATE_LIMITED",
        Error::QuotaExceeded { .. } => "QUOTA_EXCEEDED",
        Error::Database(_) | Error::Internal(_) => "INTERNAL",
    }
}

/// What the client may read. Internal causes stay in the log, under the request's id.
pub(crate) fn public_message(error: &Error) -> String {
    match error {
        Error::Database(cause) => {
            tracing::error!(error = %cause, "database error");
            "internal error; the request id identifies it in the server log".into()
        }
        Error::Internal(cause) => {
            tracing::error!(error = format!("{cause:#}"), "internal error");
            "internal error; the request id identifies it in the server log".into()
        }
        other => other.to_string(),
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(ApiError(error): ApiError) -> Self {
        let error = &*error;
        let code = code(error);
        let mut gql = async_graphql::Error::new(public_message(error));
        let extensions = gql.extensions.get_or_insert_with(Default::default);
        extensions.set("code", code);
        match error {
            Error::InvalidInput { field, .. } => extensions.set("field", field.as_ref()),
            Error::RateLimited { retry_after_secs } => {
                extensions.set("retryAfter", *retry_after_secs)
            }
            Error::QuotaExceeded { quota, .. } => extensions.set("quota", *quota),
            _ => {}
        }
        gql
    }
}

/// A domain (or marketplace) error as an HTTP answer (REST endpoints), with the GraphQL
/// codes.
pub fn rest_error(error: impl Into<ApiError>) -> HttpResponse {
    let ApiError(error) = error.into();
    let error = &*error;
    let code = code(error);
    let status = status_of(code);
    let field = match error {
        Error::InvalidInput { field, .. } => Some(field.as_ref()),
        _ => None,
    };
    let message = public_message(error);
    HttpResponse::build(status).json(json!({
        "errors": [{"message": message, "extensions": {"code": code, "field": field}}]
    }))
}

/// The HTTP status of an error code.
pub(crate) fn status_of(code: &str) -> StatusCode {
    match code {
        "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
        "FORBIDDEN" => StatusCode::FORBIDDEN,
        "NOT_FOUND" => StatusCode::NOT_FOUND,
        "BAD_USER_INPUT" => StatusCode::BAD_REQUEST,
        "CONFLICT" => StatusCode::CONFLICT,
        "RATE_LIMITED" => StatusCode::TOO_MANY_REQUESTS,
        "QUOTA_EXCEEDED" => StatusCode::PAYMENT_REQUIRED,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An HTTP answer in the same shape as a GraphQL error, for the REST endpoints and for
/// requests refused before GraphQL runs.
pub fn http_error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "errors": [{"message": message, "extensions": {"code": code}}]
    }))
}
