//! The `Content-Disposition` header that names a download, for both stores.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// RFC 5987 `attr-char`: everything else is percent-encoded in `filename*`.
const ATTR_CHAR_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `attachment` with the name twice: a plain ASCII fallback (anything else becomes `_`) and
/// the exact name encoded per RFC 5987. No name can break out of the header (quotes,
/// backslashes, control characters and line breaks never appear unencoded).
pub fn content_disposition(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() || c == ' ') && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let exact = utf8_percent_encode(filename, ATTR_CHAR_ESCAPES);
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}")
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn names_survive_without_breaking_the_header() {
        assert_eq!(
            content_disposition("data set.zip"),
            "attachment; filename=\"data set.zip\"; filename*=UTF-8''data%20set.zip"
        );
        let header = content_disposition("é\"\\\r\nx.zip");
        assert_eq!(
            header,
            "attachment; filename=\"_____x.zip\"; filename*=UTF-8''%C3%A9%22%5C%0D%0Ax.zip"
        );
    }
}
