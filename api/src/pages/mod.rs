//! GraphiQL at `GET /graphql` (the console, at `/`, is [`crate::console`]). Everything it
//! loads comes from the binary, so it works without internet and under a
//! Content-Security-Policy that allows no other origin and no inline script but the page's
//! own, by its hash.

mod graphiql;
mod page;

use actix_web::middleware::Compress;
use actix_web::web;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/graphql", web::get().to(graphiql::page))
        .service(
            web::resource("/graphql/assets/{name}")
                // GraphiQL's script is 3.5 MB as published, 0.7 MB compressed.
                .wrap(Compress::default())
                .route(web::get().to(graphiql::asset)),
        );
}
