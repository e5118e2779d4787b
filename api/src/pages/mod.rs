//! The HTML pages Keynet serves itself: GraphiQL at `GET /graphql` and the page behind the
//! links in emails. Everything they load comes from the binary, so they work without
//! internet and under a Content-Security-Policy that allows no other origin and no inline
//! code but the page's own, by its hash.

mod graphiql;
mod page;

use actix_web::middleware::Compress;
use actix_web::{HttpResponse, web};
use page::Page;
use std::sync::LazyLock;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/graphql", web::get().to(graphiql::page))
        .service(
            web::resource("/graphql/assets/{name}")
                // GraphiQL's script is 3.5 MB as published, 0.7 MB compressed.
                .wrap(Compress::default())
                .route(web::get().to(graphiql::asset)),
        )
        .route("/verify-email", web::get().to(email_link))
        .route("/reset-password", web::get().to(email_link))
        .route("/invitations/accept", web::get().to(email_link));
}

const EMAIL_LINK_POLICY: &str = "default-src 'none'; script-src {inline-scripts}; \
                                 style-src {inline-styles}; connect-src 'self'; \
                                 base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

static EMAIL_LINK: LazyLock<Page> =
    LazyLock::new(|| Page::new(include_str!("email_link.html"), EMAIL_LINK_POLICY));

/// The page behind the links in Keynet's emails (verification, password reset, invitation),
/// so they work on the embedded default without a separate web frontend.
async fn email_link() -> HttpResponse {
    EMAIL_LINK.response()
}
