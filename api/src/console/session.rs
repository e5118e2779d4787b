//! The console's session, kept so that no script can read a long-lived credential: the
//! access token (minutes) lives in the page's memory; the refresh token (30 days) lives in an
//! HttpOnly cookie that only these endpoints receive (`Path=/console/session`), SameSite=Strict
//! so no other site's page can make a browser send it. Each call also needs the
//! `X-Keynet-Console` header, which a cross-site form or image cannot send and which makes a
//! cross-origin `fetch` preflight (refused: no origin is ever allowed credentials).
//!
//! - `POST /console/session` `{"refreshToken"}` (right after `login` or `signup`): 204 and the
//!   cookie;
//! - `POST /console/session/refresh`: 200 `{"accessToken", "expiresAt"}` and the rotated
//!   cookie, or 401 (cookie cleared) when the session is over;
//! - `DELETE /console/session`: 204, the cookie cleared (after the `logout` mutation).

use super::Console;
use crate::error::{code, http_error};
use crate::http::{AppState, read_body};
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use keynet_domain::Error;
use serde::Deserialize;
use serde_json::json;

const COOKIE: &str = "keynet_refresh";
const PATH: &str = "/console/session";
/// Sent by the console's own script on every call here.
const HEADER: &str = "x-keynet-console";
/// As long as a refresh token lasts; the server decides, this only lets the cookie go.
const COOKIE_DAYS: i64 = 30;
/// A refresh token is 43 characters; anything much longer is no refresh token.
const MAX_BODY_BYTES: usize = 1024;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::post().to(start))
        .route(PATH, web::delete().to(end))
        .route("/console/session/refresh", web::post().to(refresh));
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Start {
    refresh_token: String,
}

async fn start(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    if let Some(refusal) = not_from_console(&req) {
        return refusal;
    }
    let body = match read_body(&req, payload, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let start: Start = match serde_json::from_slice(&body) {
        Ok(start) => start,
        Err(e) => {
            return http_error(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                &format!("the body is not {{\"refreshToken\": \"…\"}}: {e}"),
            );
        }
    };
    if start.refresh_token.trim().is_empty() {
        return http_error(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "refreshToken is empty",
        );
    }
    HttpResponse::NoContent()
        .cookie(cookie(&state.console, start.refresh_token))
        .finish()
}

async fn refresh(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(refusal) = not_from_console(&req) {
        return refusal;
    }
    let Some(refresh_token) = req.cookie(COOKIE).map(|c| c.value().to_string()) else {
        return signed_out(&state.console, "not signed in");
    };
    match state.domain.refresh_session(&refresh_token).await {
        Ok(session) => HttpResponse::Ok()
            .cookie(cookie(&state.console, session.refresh_token))
            .json(json!({
                "accessToken": session.access_token,
                "expiresAt": session.expires_at,
            })),
        Err(Error::Unauthenticated) => {
            signed_out(&state.console, "the session has ended; sign in again")
        }
        Err(error) => {
            tracing::error!(%error, "refreshing a console session failed");
            http_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                code(&error),
                "the session could not be renewed; try again",
            )
        }
    }
}

async fn end(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(refusal) = not_from_console(&req) {
        return refusal;
    }
    HttpResponse::NoContent()
        .cookie(removal(&state.console))
        .finish()
}

/// 401 with the cookie cleared, so the browser stops sending a dead token.
fn signed_out(console: &Console, message: &str) -> HttpResponse {
    let mut response = http_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message);
    response
        .add_cookie(&removal(console))
        .expect("a cookie is a valid header value");
    response
}

fn not_from_console(req: &HttpRequest) -> Option<HttpResponse> {
    (req.headers().get(HEADER).is_none()).then(|| {
        http_error(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "the console's session endpoints need the X-Keynet-Console header",
        )
    })
}

fn cookie(console: &Console, value: String) -> Cookie<'static> {
    Cookie::build(COOKIE, value)
        .path(PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(console.secure_cookies)
        .max_age(CookieDuration::days(COOKIE_DAYS))
        .finish()
}

fn removal(console: &Console) -> Cookie<'static> {
    let mut cookie = cookie(console, String::new());
    cookie.make_removal();
    cookie
}
