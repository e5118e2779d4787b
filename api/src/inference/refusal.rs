//! Why an inference request was not answered, in the two dialects the endpoints speak:
//! Keynet's (`{"errors": [{message, extensions: {code, field, quota, retryAfter}}]}`, the
//! GraphQL error shape) and the Open Inference Protocol's (`{"error": message}`, which
//! `tritonclient` raises as its exception's message). Every refusal has a status, a code and
//! a message a person can act on; waits carry `Retry-After`.

use crate::error::{code, public_message, status_of};
use crate::http::BodyError;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use keynet_domain::Error;
use serde_json::json;

#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub quota: Option<&'static str>,
    pub retry_after_secs: Option<u64>,
}

impl Refusal {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            quota: None,
            retry_after_secs: None,
        }
    }

    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", message)
        }
    }

    /// Not now: come back in `secs`.
    pub fn unavailable(message: impl Into<String>, secs: u64) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", message).retry_after(secs)
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs.max(1));
        self
    }

    /// Whether the platform, not the caller, failed (such requests are never billed).
    pub fn is_platform_fault(&self) -> bool {
        self.status.is_server_error()
    }

    /// The label of `/metrics` for it: the error class.
    pub fn class(&self) -> &'static str {
        match self.status.as_u16() {
            400 | 413 | 415 => "bad_input",
            401 | 403 | 404 => "refused",
            409 => "not_serving",
            429 => "limited",
            503 => "unavailable",
            _ => "internal",
        }
    }

    fn builder(&self) -> actix_web::HttpResponseBuilder {
        let mut response = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after_secs {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response
    }

    /// Keynet's own endpoint (`/v1/infer/…`).
    pub fn keynet(&self) -> HttpResponse {
        self.builder().json(json!({
            "errors": [{
                "message": self.message,
                "extensions": {
                    "code": self.code,
                    "field": self.field,
                    "quota": self.quota,
                    "retryAfter": self.retry_after_secs,
                },
            }]
        }))
    }

    /// The Open Inference Protocol's routes.
    pub fn oip(&self) -> HttpResponse {
        let message = match &self.field {
            Some(field) => format!("{field}: {}", self.message),
            None => self.message.clone(),
        };
        self.builder()
            .json(json!({"error": message, "code": self.code, "field": self.field}))
    }
}

impl From<Error> for Refusal {
    fn from(error: Error) -> Self {
        let code = code(&error);
        let mut refusal = Self::new(status_of(code), code, public_message(&error));
        match error {
            Error::InvalidInput { field, .. } => refusal.field = Some(field.into_owned()),
            Error::QuotaExceeded { quota, .. } => {
                refusal.status = StatusCode::TOO_MANY_REQUESTS;
                refusal.quota = Some(quota);
            }
            Error::RateLimited { retry_after_secs } => {
                refusal = refusal.retry_after(u64::try_from(retry_after_secs).unwrap_or(1));
            }
            _ => {}
        }
        refusal
    }
}

impl From<keynet_serving::Error> for Refusal {
    fn from(error: keynet_serving::Error) -> Self {
        use keynet_serving::Error as Serving;
        match error {
            Serving::Input(message) => Self::bad_input("image", message),
            Serving::Request { field, reason } => Self::bad_input(field, reason),
            Serving::Overloaded { queued } => Self::unavailable(
                format!(
                    "the deployment's replicas are full ({queued} requests waiting); slow down or raise maxReplicas"
                ),
                1,
            ),
            Serving::Stopped => Self::unavailable(
                "the replica stopped while answering; send the request again",
                1,
            ),
            Serving::Run(message) | Serving::Engine(message) => {
                tracing::error!(error = %message, "a replica failed on a batch");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL",
                    "the model failed on this request; the request id identifies it in the server log",
                )
            }
            Serving::Metadata { .. } | Serving::Model(_) => {
                Self::new(StatusCode::CONFLICT, "CONFLICT", error.to_string())
            }
        }
    }
}

impl From<BodyError> for Refusal {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::TooLarge(limit) => Self {
                field: Some("body".into()),
                ..Self::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PAYLOAD_TOO_LARGE",
                    format!("the request is larger than {limit} bytes (serving.max_request_bytes)"),
                )
            },
            BodyError::Broken(reason) => {
                Self::bad_input("body", format!("cannot be read: {reason}"))
            }
        }
    }
}
