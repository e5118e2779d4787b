//! `POST /webhooks/stripe`: Stripe's events, verified on the raw body by billing. A bad,
//! stale or missing signature is a 400 and changes nothing; an event processed before is a
//! 200 again, so Stripe stops resending it.

use crate::error::{ApiError, rest_error};
use crate::http::{AppState, read_body};
use actix_web::{HttpRequest, HttpResponse, web};
use keynet_domain::Error;
use std::sync::Arc;

pub(crate) async fn stripe(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let body = match read_body(&req, payload, state.limits.max_body_bytes).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let signature = req
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    match state.billing.handle_stripe_webhook(&body, signature).await {
        Ok(outcome) => HttpResponse::Ok().json(serde_json::json!({
            "received": true,
            "outcome": outcome.name(),
        })),
        Err(error) => {
            if let keynet_billing::Error::Webhook(reason) = &error {
                tracing::warn!(%reason, "a Stripe webhook was refused");
            }
            // The mapping of billing's errors lives in `crate::error`; the `Arc` it wraps
            // them in is this answer's alone.
            let ApiError(error) = ApiError::from(error);
            let error = Arc::try_unwrap(error)
                .unwrap_or_else(|shared| Error::Internal(anyhow::anyhow!("{shared}")));
            rest_error(error)
        }
    }
}
