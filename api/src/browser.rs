//! What browsers are told on every response.

use actix_web::http::header;
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
