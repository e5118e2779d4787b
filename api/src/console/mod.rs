//! The web console (`web/`): its built files, embedded at build time (`build.rs`), served at
//! `/` with a Content-Security-Policy that allows scripts and styles from this origin only;
//! its client-side routes answer `index.html` (the links in Keynet's emails land there); and
//! the endpoints that keep its session's refresh token in a cookie ([`session`]).

mod session;

use crate::error::http_error;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Compress;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use rust_embed::RustEmbed;
use std::borrow::Cow;

#[derive(RustEmbed)]
#[folder = "$OUT_DIR/console"]
// Vite's manifest (what the bundle-size check reads) is no file for browsers.
#[exclude = ".vite/*"]
struct Assets;

const INDEX: &str = "index.html";

/// What the console's responses depend on in the settings.
pub struct Console {
    csp: HeaderValue,
    /// Cookies only over HTTPS when Keynet is reached over HTTPS (`public_url`).
    secure_cookies: bool,
}

impl Console {
    /// `blob_origin`: where the browser uploads and downloads blobs when that is another
    /// origin than Keynet's (S3's presigned URLs), so the policy lets the page reach it.
    pub fn new(public_url: &str, blob_origin: Option<&str>) -> Self {
        let blobs = blob_origin
            .map(|origin| format!(" {origin}"))
            .unwrap_or_default();
        let csp = format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; \
             img-src 'self' data: blob:{blobs}; connect-src 'self'{blobs}; font-src 'self'; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        );
        Self {
            csp: HeaderValue::from_str(&csp).expect("an origin is a valid header value"),
            secure_cookies: public_url.starts_with("https://"),
        }
    }
}

/// The paths of Keynet's emails' links; they answer the console to anyone, whatever they
/// accept (mail scanners open links too: the page changes nothing until a person acts).
const EMAIL_LINKS: [&str; 3] = ["/verify-email", "/reset-password", "/invitations/accept"];

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index));
    for path in EMAIL_LINKS {
        cfg.route(path, web::get().to(index));
    }
    cfg.service(
        web::resource("/assets/{name:.*}")
            .wrap(Compress::default())
            .route(web::get().to(asset)),
    )
    .configure(session::routes);
}

async fn index(state: web::Data<crate::http::AppState>) -> HttpResponse {
    page(&state.console)
}

fn page(console: &Console) -> HttpResponse {
    let index = Assets::get(INDEX).expect("the console build writes index.html");
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, console.csp.clone()))
        // The address may carry an email link's token; and a new build must show at once.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(bytes(index.data))
}

async fn asset(name: web::Path<String>) -> HttpResponse {
    // Vite names them by content hash: a name always stands for the same bytes.
    file(
        &format!("assets/{name}"),
        "public, max-age=31536000, immutable",
    )
    .unwrap_or_else(|| http_error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such console file"))
}

/// What no route took: a file of the console's root (its icon), the console itself for a
/// browser navigating to one of its pages (reloading `/orgs/acme/projects`), or the API's
/// JSON 404 for everyone else.
pub(crate) async fn fallback(
    req: HttpRequest,
    state: web::Data<crate::http::AppState>,
) -> HttpResponse {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        let path = req.path().trim_start_matches('/');
        if !path.is_empty()
            && path != INDEX
            && let Some(response) = file(path, "no-cache")
        {
            return response;
        }
        if wants_html(&req) {
            return page(&state.console);
        }
    }
    http_error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such endpoint")
}

/// A browser's navigation asks for HTML first; API clients do not.
fn wants_html(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| {
            accept
                .split(',')
                .any(|kind| kind.trim().starts_with("text/html"))
        })
}

/// An embedded file with its type and `cache_control`.
fn file(path: &str, cache_control: &'static str) -> Option<HttpResponse> {
    let file = Assets::get(path)?;
    Some(
        HttpResponse::Ok()
            .content_type(file.metadata.mimetype())
            .insert_header((header::CACHE_CONTROL, cache_control))
            .body(bytes(file.data)),
    )
}

/// Embedded files are static: no copy.
fn bytes(data: Cow<'static, [u8]>) -> Bytes {
    match data {
        Cow::Borrowed(data) => Bytes::from_static(data),
        Cow::Owned(data) => Bytes::from(data),
    }
}
