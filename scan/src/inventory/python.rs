//! Python distributions: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO` or a `*.egg-info`
//! file, all in the core-metadata format (email headers). A file without `Name` and
//! `Version` declares nothing, as for pip.

use crate::package::{Ecosystem, Package};
use mail_parser::MessageParser;

pub(super) fn parse(path: &str, content: &[u8]) -> Option<Package> {
    let message = MessageParser::new()
        .default_header_text()
        .parse_headers(content)?;
    let header = |name| {
        message
            .header(name)
            .and_then(|value| value.as_text())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    Some(Package {
        ecosystem: Ecosystem::PyPI,
        name: normalize_name(header("Name")?),
        version: header("Version")?.to_owned(),
        source: None,
        path: path.to_owned(),
        layer: None,
    })
}

/// PEP 503: lower case, every run of `-`, `_` and `.` made one `-`; the form PyPI and OSV
/// use, so `Pillow`, `pillow` and `PIL_low` name one project each.
pub(crate) fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator_run {
                out.push('-');
            }
            in_separator_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_separator_run = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_version_from_headers() {
        let metadata =
            b"Metadata-Version: 2.1\nName: Typing_Extensions\nVersion: 4.9.0\nSummary: x\n\
                         Classifier: A\nClassifier: B\n\nName: Not-This\nLong description.\n";
        let package = parse(
            "/usr/lib/python3/site-packages/typing_extensions-4.9.0.dist-info/METADATA",
            metadata,
        )
        .expect("a package");
        assert_eq!(
            (package.name.as_str(), package.version.as_str()),
            ("typing-extensions", "4.9.0")
        );
    }

    #[test]
    fn no_version_no_package() {
        assert_eq!(
            parse("/x.egg-info", b"Metadata-Version: 1.0\nName: foo\n\n"),
            None
        );
    }

    #[test]
    fn pep_503() {
        assert_eq!(normalize_name("Foo.Bar__baz-.QUX"), "foo-bar-baz-qux");
        assert_eq!(normalize_name("torch"), "torch");
    }
}
