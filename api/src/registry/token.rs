//! `GET /v2/token`: Docker's token endpoint. Basic credentials in, a short registry token
//! out (as `token` and `access_token`, which different clients read).

use crate::http::{AppState, client_addr};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use keynet_domain::Error as DomainError;
use keynet_marketplace::Error;
use serde_json::json;

/// The `service` of the challenge; clients send it back and it names this registry.
pub const SERVICE: &str = "keynet";

pub async fn issue(
    req: HttpRequest,
    query: web::Query<Vec<(String, String)>>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some((username, password)) = basic_credentials(&req) else {
        return refused("sign in with your email and an API token (or an upload key)");
    };
    let scopes: Vec<String> = query
        .iter()
        .filter(|(key, _)| key == "scope")
        .map(|(_, value)| value.clone())
        .collect();
    let issued = state
        .marketplace
        .issue_registry_token(
            &username,
            &password,
            &scopes,
            client_addr(&req, state.trust_forwarded_for),
        )
        .await;
    match issued {
        Ok(issued) => HttpResponse::Ok().json(json!({
            "token": issued.token,
            "access_token": issued.token,
            "expires_in": issued.expires_in,
            "issued_at": issued.issued_at.to_rfc3339(),
        })),
        Err(Error::Domain(DomainError::BadCredentials)) => {
            refused("the email and API token (or upload key) do not match an active credential")
        }
        Err(error) => crate::error::rest_error(error),
    }
}

fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let encoded = req
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (username, password) = decoded.split_once(':')?;
    Some((username.to_string(), password.to_string()))
}

fn refused(message: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::UNAUTHORIZED)
        .insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"keynet\""))
        .json(json!({"errors": [{"code": "UNAUTHORIZED", "message": message, "detail": null}]}))
}
