//! GraphiQL at `GET /graphql`, with React and GraphiQL served from the binary under
//! `/graphql/assets/` (`vendor/README.md` says where the files come from).

use super::page::Page;
use crate::error::http_error;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web::{self, Bytes};
use std::sync::LazyLock;

/// Scripts from this origin and the page's own; styles also inline, since GraphiQL's
/// dialogs add `<style>` elements as they open (react-remove-scroll), which no hash can
/// cover. Its fonts and icons are `data:` URLs inside its stylesheet.
const POLICY: &str = "default-src 'none'; script-src 'self' {inline-scripts}; \
                      style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src data:; \
                      connect-src 'self'; base-uri 'none'; form-action 'none'; \
                      frame-ancestors 'none'";

static PAGE: LazyLock<Page> = LazyLock::new(|| Page::new(include_str!("graphiql.html"), POLICY));

pub(super) async fn page() -> HttpResponse {
    PAGE.response()
}

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            bytes: include_bytes!(concat!("vendor/", $name)),
        }
    };
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// Named with their package's version, so a name always stands for the same bytes.
const ASSETS: [Asset; 4] = [
    asset!("react-18.3.1.production.min.js", JAVASCRIPT),
    asset!("react-dom-18.3.1.production.min.js", JAVASCRIPT),
    asset!("graphiql-3.8.3.min.js", JAVASCRIPT),
    asset!("graphiql-3.8.3.min.css", "text/css; charset=utf-8"),
];

pub(super) async fn asset(name: web::Path<String>) -> HttpResponse {
    let Some(asset) = ASSETS.iter().find(|asset| asset.name == name.as_str()) else {
        return http_error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such GraphiQL file");
    };
    HttpResponse::Ok()
        .content_type(asset.content_type)
        // A new version comes under a new name: browsers may keep this one for good.
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(Bytes::from_static(asset.bytes))
}
