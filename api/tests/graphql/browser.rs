//! What browsers get: security headers on every page and response, GraphiQL served from the
//! binary (nothing from another origin, no inline code but what the policy hashes), and CORS
//! for the configured origins only.

use crate::static_files::{assert_served_for_good, header, references};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keynet_testkit::TestApp;
use reqwest::{Method, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};

const FRONTEND: &str = "https://app.example.com";
const FOREIGN: &str = "https://evil.example.com";
/// A REST endpoint a frontend calls (the dataset needs not exist: the call is refused first).
const UPLOAD: &str = "/api/v1/datasets/0190f6d2-8a5e-7c3b-9f1a-2b3c4d5e6f70/upload";

on_both_backends!(
    pages_send_security_headers,
    graphiql_comes_from_this_server,
    cross_origin_callers_are_refused_by_default,
    cross_origin_calls_from_allowed_origins
        where |settings| settings.api.cors_allowed_origins = vec![super::FRONTEND.into()]
);

/// The CSP directive `name` (its sources), or "" without one.
fn directive<'a>(csp: &'a str, name: &str) -> &'a str {
    csp.split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix(name).filter(|rest| rest.starts_with(' ')))
        .map_or("", str::trim)
}

/// The text of each `<tag>…</tag>` without attributes: what a browser hashes for CSP.
fn inline(html: &str, tag: &str) -> Vec<String> {
    html.split(&format!("<{tag}>"))
        .skip(1)
        .map(|rest| rest.split(&format!("</{tag}>")).next().unwrap().to_string())
        .collect()
}

fn csp_hash(code: &str) -> String {
    format!("'sha256-{}'", STANDARD.encode(Sha256::digest(code)))
}

async fn pages_send_security_headers(app: &TestApp) {
    // GraphiQL: its inline script allowed by hash, nothing else inline.
    let page = app.get("/graphql").await;
    let csp = page_headers(&page, "/graphql");
    assert_eq!(directive(&csp, "default-src"), "'none'", "{csp}");
    assert_eq!(directive(&csp, "form-action"), "'none'", "{csp}");
    assert_eq!(directive(&csp, "connect-src"), "'self'", "{csp}");
    let scripts = directive(&csp, "script-src").to_string();
    let html = page.text().await.unwrap();
    let code = inline(&html, "script");
    assert!(!code.is_empty(), "GraphiQL has its script inline");
    for script in code {
        assert!(scripts.contains(&csp_hash(&script)), "{csp}");
    }
    // The console, and its pages behind the links in emails: scripts and styles from this
    // origin only, none inline.
    for path in [
        "/",
        "/verify-email?token=t",
        "/invitations/accept?token=t",
        "/reset-password?token=t",
    ] {
        let page = app.get(path).await;
        let csp = page_headers(&page, path);
        for (name, sources) in [
            ("default-src", "'self'"),
            ("script-src", "'self'"),
            ("style-src", "'self'"),
            ("object-src", "'none'"),
            ("form-action", "'self'"),
            ("connect-src", "'self'"),
        ] {
            assert_eq!(directive(&csp, name), sources, "{path}: {csp}");
        }
        let html = page.text().await.unwrap();
        assert!(html.contains("<div id=\"root\">"), "{path}: {html}");
        assert!(inline(&html, "script").is_empty(), "{path}: {html}");
        assert!(inline(&html, "style").is_empty(), "{path}: {html}");
    }
    // Responses that are no page get the strictest policy: a file from the blob store that
    // is HTML or SVG cannot run a script on this origin.
    for response in [app.get("/healthz").await, app.get("/nowhere").await] {
        assert_eq!(
            header(&response, "content-security-policy"),
            "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        );
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        assert_eq!(header(&response, "x-frame-options"), "DENY");
    }
}

/// Checks what every page says besides its policy, and returns the policy.
fn page_headers(page: &Response, path: &str) -> String {
    assert_eq!(page.status().as_u16(), 200, "{path}");
    assert_eq!(header(page, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(page, "x-frame-options"), "DENY", "{path}");
    assert_eq!(header(page, "x-content-type-options"), "nosniff", "{path}");
    assert_eq!(header(page, "referrer-policy"), "no-referrer", "{path}");
    assert_eq!(header(page, "cache-control"), "no-store", "{path}");
    let csp = header(page, "content-security-policy").to_string();
    for (name, sources) in [("frame-ancestors", "'none'"), ("base-uri", "'none'")] {
        assert_eq!(directive(&csp, name), sources, "{path}: {csp}");
    }
    let scripts = directive(&csp, "script-src");
    assert!(
        !scripts.contains("unsafe") && !scripts.contains("http") && !scripts.contains('*'),
        "{path}: {csp}"
    );
    csp
}

async fn graphiql_comes_from_this_server(app: &TestApp) {
    let html = app.get_text("/graphql").await;
    assert!(html.contains("GraphiQL.createFetcher"), "{html}");
    assert!(html.contains("\"/graphql/ws\""), "subscriptions: {html}");
    let references = references(&html);
    let assets: Vec<&String> = references.iter().filter(|r| *r != "data:,").collect();
    assert_eq!(
        assets.len(),
        4,
        "React, ReactDOM, GraphiQL and its styles: {references:?}"
    );
    for asset in assets {
        assert!(
            asset.starts_with("/graphql/assets/") && !asset.contains("//"),
            "same origin only: {asset}"
        );
        let content_type = if asset.ends_with(".css") {
            "text/css; charset=utf-8"
        } else {
            "text/javascript; charset=utf-8"
        };
        let length = assert_served_for_good(app, asset, content_type).await;
        assert!(length > 10_000, "{asset}: {length} bytes");
    }
    let missing = app.get("/graphql/assets/graphiql-0.0.0.min.js").await;
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["errors"][0]["extensions"]["code"],
        "NOT_FOUND"
    );
}

async fn preflight(app: &TestApp, path: &str, origin: &str) -> Response {
    app.http
        .request(Method::OPTIONS, format!("{}{path}", app.url()))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap()
}

async fn graphql_from(app: &TestApp, origin: &str) -> Response {
    let response = app
        .http
        .post(format!("{}/graphql", app.url()))
        .header("origin", origin)
        .json(&serde_json::json!({"query": "{ me { id } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "answered, {origin}");
    response
}

/// A REST call a frontend would make, unauthenticated: refused with 401, and with CORS
/// headers when the origin is allowed, so its page can read why.
async fn upload_from(app: &TestApp, origin: &str) -> Response {
    let response = app
        .http
        .post(format!("{}{UPLOAD}", app.url()))
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401, "{origin}");
    response
}

/// Asserts that `response` lets no page of `origin` read it.
fn refused(response: &Response, origin: &str) {
    assert!(
        response
            .headers()
            .keys()
            .all(|name| !name.as_str().starts_with("access-control-allow")),
        "{origin}: {:?}",
        response.headers()
    );
}

async fn cross_origin_callers_are_refused_by_default(app: &TestApp) {
    for path in ["/graphql", UPLOAD] {
        let answer = preflight(app, path, FRONTEND).await;
        assert_eq!(answer.status().as_u16(), 400, "{path}");
        refused(&answer, FRONTEND);
    }
    refused(&graphql_from(app, FRONTEND).await, FRONTEND);
    refused(&upload_from(app, FRONTEND).await, FRONTEND);
    // Keynet's own pages send their origin too, and are served as before.
    let own = graphql_from(app, app.url()).await;
    refused(&own, app.url());
    assert_eq!(
        own.json::<Value>().await.unwrap()["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
}

async fn cross_origin_calls_from_allowed_origins(app: &TestApp) {
    for path in ["/graphql", UPLOAD] {
        let answer = preflight(app, path, FRONTEND).await;
        assert_eq!(answer.status().as_u16(), 200, "{path}");
        assert_eq!(header(&answer, "access-control-allow-origin"), FRONTEND);
        let methods = header(&answer, "access-control-allow-methods");
        assert!(
            methods.contains("POST") && methods.contains("PUT"),
            "{methods}"
        );
        let headers = header(&answer, "access-control-allow-headers").to_lowercase();
        assert!(
            headers.contains("authorization") && headers.contains("content-type"),
            "{headers}"
        );
        assert_eq!(header(&answer, "access-control-max-age"), "3600");
        assert_eq!(header(&answer, "access-control-allow-credentials"), "");
        assert!(header(&answer, "vary").to_lowercase().contains("origin"));

        // A header the list does not name is refused.
        let odd = app
            .http
            .request(Method::OPTIONS, format!("{}{path}", app.url()))
            .header("origin", FRONTEND)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "x-custom")
            .send()
            .await
            .unwrap();
        assert_eq!(odd.status().as_u16(), 400, "{path}");

        let foreign = preflight(app, path, FOREIGN).await;
        assert_eq!(foreign.status().as_u16(), 400, "{path}");
        refused(&foreign, FOREIGN);
    }

    let allowed = graphql_from(app, FRONTEND).await;
    assert_eq!(header(&allowed, "access-control-allow-origin"), FRONTEND);
    assert_eq!(header(&allowed, "access-control-allow-credentials"), "");
    assert!(
        header(&allowed, "access-control-expose-headers").contains("x-request-id"),
        "a frontend can report the request id"
    );
    let allowed = upload_from(app, FRONTEND).await;
    assert_eq!(header(&allowed, "access-control-allow-origin"), FRONTEND);

    refused(&graphql_from(app, FOREIGN).await, FOREIGN);
    refused(&upload_from(app, FOREIGN).await, FOREIGN);
}
