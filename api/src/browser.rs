//! What browsers are told on every response: security headers, and CORS for the origins in
//! `api.cors_allowed_origins`. Callers authenticate with bearer tokens, never cookies, so no
//! origin is ever allowed credentials.

use actix_cors::Cors;
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderName};
use actix_web::middleware::DefaultHeaders;

/// The strictest policy: nothing loads, nothing frames it. Pages that load something set
/// their own (see `pages`); this covers everything else, including files from the blob
/// store, which then cannot run a script on Keynet's origin even when one is HTML or SVG.
const DEFAULT_CSP: &str =
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Added to every response that does not set its own.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, DEFAULT_CSP))
        // For browsers without CSP's `frame-ancestors`.
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // Links in emails carry tokens in their URL: no page sends its address on.
        .add((header::REFERRER_POLICY, "no-referrer"))
}

/// How long a browser may reuse a preflight answer.
const PREFLIGHT_MAX_AGE_SECS: usize = 3600;

/// Answers preflights and marks responses for the allowed origins. Any other origin gets
/// no `Access-Control-Allow-*` header (its preflight is refused), so its browser keeps its
/// page from calling the API; requests without `Origin` (and Keynet's own pages, whose
/// `Origin` is not listed) pass unchanged.
pub fn cors(allowed_origins: &[String]) -> Cors {
    allowed_origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        // PUT: uploads to the local store's signed URLs.
        .allowed_methods([Method::GET, Method::POST, Method::PUT])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static(crate::http::REQUEST_ID),
        ])
        .expose_headers([HeaderName::from_static(crate::http::REQUEST_ID)])
        .max_age(PREFLIGHT_MAX_AGE_SECS)
        // Explicit (it was `true` before actix-cors 0.7): another origin's request is served
        // without CORS headers rather than refused, since Keynet's own pages send `Origin`
        // too and are not listed.
        .block_on_origin_mismatch(false)
}
