//! os-release(5): shell-like `KEY=value` lines, values optionally quoted, `#` comments.
//! Lines that are not assignments are ignored, as the format asks of readers.

use crate::package::OsRelease;

pub(super) fn parse(content: &[u8]) -> OsRelease {
    let text = String::from_utf8_lossy(content);
    let mut os = OsRelease {
        id: String::new(),
        version_id: None,
        pretty_name: None,
    };
    for line in text.lines() {
        let Some((key, value)) = line.trim().split_once('=') else {
            continue;
        };
        let value = unquote(value.trim());
        match key.trim() {
            "ID" => os.id = value,
            "VERSION_ID" => os.version_id = Some(value).filter(|v| !v.is_empty()),
            "PRETTY_NAME" => os.pretty_name = Some(value).filter(|v| !v.is_empty()),
            _ => {}
        }
    }
    // The format's default when ID is missing.
    if os.id.is_empty() {
        os.id = "linux".to_owned();
    }
    os
}

/// Double quotes allow the backslash escapes `\" \\ \$ \``; single quotes none.
fn unquote(value: &str) -> String {
    if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        return inner.to_owned();
    }
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some(next @ ('"' | '\\' | '$' | '`'))) => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_and_alpine() {
        let debian = parse(
            b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
        );
        assert_eq!(debian.id, "debian");
        assert_eq!(debian.version_id.as_deref(), Some("12"));
        assert_eq!(
            debian.pretty_name.as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        let alpine = parse(b"# comment\nID='alpine'\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine \\\"Linux\\\" v3.19\"\n");
        assert_eq!(alpine.id, "alpine");
        assert_eq!(alpine.version_id.as_deref(), Some("3.19.1"));
        assert_eq!(
            alpine.pretty_name.as_deref(),
            Some("Alpine \"Linux\" v3.19")
        );
    }

    #[test]
    fn missing_id_defaults_to_linux() {
        assert_eq!(parse(b"NAME=x\n").id, "linux");
    }
}
