//! What browsers get: security headers on every page and response, and GraphiQL served from
//! the binary (nothing from another origin, no inline code but what the policy hashes).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keynet_testkit::TestApp;
use reqwest::Response;
use serde_json::Value;
use sha2::{Digest, Sha256};

on_both_backends!(pages_send_security_headers, graphiql_comes_from_this_server);

fn header<'a>(response: &'a Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map_or("", |value| value.to_str().unwrap())
}

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
    for path in [
        "/graphql",
        "/verify-email?token=t",
        "/invitations/accept?token=t",
        "/reset-password?token=t",
    ] {
        let page = app.get(path).await;
        assert_eq!(page.status().as_u16(), 200, "{path}");
        assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
        assert_eq!(header(&page, "x-frame-options"), "DENY", "{path}");
        assert_eq!(header(&page, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&page, "referrer-policy"), "no-referrer", "{path}");
        assert_eq!(header(&page, "cache-control"), "no-store", "{path}");
        let csp = header(&page, "content-security-policy").to_string();
        for (name, sources) in [
            ("default-src", "'none'"),
            ("frame-ancestors", "'none'"),
            ("base-uri", "'none'"),
            ("form-action", "'none'"),
            ("connect-src", "'self'"),
        ] {
            assert_eq!(directive(&csp, name), sources, "{path}: {csp}");
        }
        let scripts = directive(&csp, "script-src").to_string();
        assert!(
            !scripts.contains("unsafe") && !scripts.contains("http") && !scripts.contains('*'),
            "{path}: {csp}"
        );
        let styles = directive(&csp, "style-src").to_string();
        let html = page.text().await.unwrap();
        let code = inline(&html, "script");
        assert!(!code.is_empty(), "{path} has its script inline");
        for script in code {
            assert!(scripts.contains(&csp_hash(&script)), "{path}: {csp}");
        }
        for style in inline(&html, "style") {
            assert!(
                styles.contains(&csp_hash(&style)) || styles.contains("'unsafe-inline'"),
                "{path}: {csp}"
            );
        }
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

/// The `src` and `href` values in `html`.
fn references(html: &str) -> Vec<String> {
    ["src=\"", "href=\""]
        .iter()
        .flat_map(|attribute| html.split(attribute).skip(1))
        .map(|rest| rest.split('"').next().unwrap().to_string())
        .collect()
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
        let response = app.get(asset).await;
        assert_eq!(response.status().as_u16(), 200, "{asset}");
        let content_type = if asset.ends_with(".css") {
            "text/css; charset=utf-8"
        } else {
            "text/javascript; charset=utf-8"
        };
        assert_eq!(header(&response, "content-type"), content_type, "{asset}");
        assert_eq!(
            header(&response, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        let length = response.bytes().await.unwrap().len();
        assert!(length > 10_000, "{asset}: {length} bytes");

        let compressed = app
            .http
            .get(format!("{}{asset}", app.url()))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(header(&compressed, "content-encoding"), "gzip", "{asset}");
        assert!(compressed.bytes().await.unwrap().len() < length, "{asset}");
    }
    let missing = app.get("/graphql/assets/graphiql-0.0.0.min.js").await;
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["errors"][0]["extensions"]["code"],
        "NOT_FOUND"
    );
}
