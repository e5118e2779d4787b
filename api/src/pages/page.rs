//! An HTML page served with its Content-Security-Policy.

use actix_web::HttpResponse;
use actix_web::http::header;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

pub(super) struct Page {
    html: &'static str,
    csp: String,
}

impl Page {
    /// `policy` is the page's Content-Security-Policy, where `{inline-scripts}` and
    /// `{inline-styles}` stand for the hashes of the page's own inline `<script>` and
    /// `<style>` elements: those run, and no other inline code does.
    pub(super) fn new(html: &'static str, policy: &str) -> Self {
        let csp = policy
            .replace("{inline-scripts}", &inline_hashes(html, "script"))
            .replace("{inline-styles}", &inline_hashes(html, "style"));
        Self { html, csp }
    }

    pub(super) fn response(&self) -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CONTENT_SECURITY_POLICY, self.csp.as_str()))
            // Always the current page (GraphiQL's names its files' versions), and email
            // pages carry a token in their URL: no cache keeps them.
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(self.html)
    }
}

/// CSP source expressions (`'sha256-…'`) for the content of every `<tag>…</tag>` without
/// attributes, hashed exactly as the browser does: the text between the tags.
fn inline_hashes(html: &str, tag: &str) -> String {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&open) {
        let content = &rest[start + open.len()..];
        let end = content.find(&close).unwrap_or(content.len());
        hashes.push(format!(
            "'sha256-{}'",
            STANDARD.encode(Sha256::digest(&content[..end]))
        ));
        rest = &content[end..];
    }
    hashes.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_code_is_allowed_by_its_hash_only() {
        let page = Page::new(
            "<style>p{}</style><script src=\"/a.js\"></script>\n<script>alert(1)</script><script>\n</script>",
            "script-src 'self' {inline-scripts}; style-src {inline-styles}",
        );
        // `printf 'alert(1)' | openssl dgst -sha256 -binary | base64`, and so on.
        assert_eq!(
            page.csp,
            "script-src 'self' 'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI=' \
             'sha256-AbpHGcgLb+kRsJGnwFEktk7uzpZOCcBY74+YBdrKVGs='; \
             style-src 'sha256-gG2yISYereRMiG2lMXrbiUgi0Ubw9p7QCeWcroOvy9Y='"
        );
    }
}
