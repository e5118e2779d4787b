//! What the tests of the pages Keynet serves (GraphiQL, the console) check alike: headers,
//! the files a page references, and how a file of a page is served.

use keynet_testkit::TestApp;
use reqwest::Response;

/// The header's value, or "" without one.
pub fn header<'a>(response: &'a Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map_or("", |value| value.to_str().unwrap())
}

/// The `src` and `href` values in `html`.
pub fn references(html: &str) -> Vec<String> {
    ["src=\"", "href=\""]
        .iter()
        .flat_map(|attribute| html.split(attribute).skip(1))
        .map(|rest| rest.split('"').next().unwrap().to_string())
        .collect()
}

/// A page's file: served with `content_type`, cached for good (its name stands for its
/// bytes), not sniffed, and smaller when gzip is accepted. Returns its size.
pub async fn assert_served_for_good(app: &TestApp, path: &str, content_type: &str) -> usize {
    let response = app.get(path).await;
    assert_eq!(response.status().as_u16(), 200, "{path}");
    assert_eq!(header(&response, "content-type"), content_type, "{path}");
    assert_eq!(
        header(&response, "cache-control"),
        "public, max-age=31536000, immutable",
        "{path}"
    );
    assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    let length = response.bytes().await.unwrap().len();
    let compressed = app
        .http
        .get(format!("{}{path}", app.url()))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&compressed, "content-encoding"), "gzip", "{path}");
    assert!(compressed.bytes().await.unwrap().len() < length, "{path}");
    length
}
