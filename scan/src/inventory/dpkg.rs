//! dpkg's status database: `/var/lib/dpkg/status`, or one file per package in
//! `/var/lib/dpkg/status.d/` (distroless).

use crate::package::{Ecosystem, Package};
use deb822_fast::borrowed::iter_paragraphs_borrowed;

/// Statuses whose package has its files on disk: `unpacked` and the configuration stages
/// after it. `not-installed` and `config-files` (only conffiles left) have no code on disk,
/// and `half-installed` is an interrupted install or removal that dpkg itself reports as
/// broken.
const ON_DISK: [&str; 5] = [
    "unpacked",
    "half-configured",
    "triggers-awaited",
    "triggers-pending",
    "installed",
];

pub(super) fn parse(path: &str, content: &[u8]) -> Result<Vec<Package>, String> {
    let text = String::from_utf8_lossy(content);
    let mut packages = Vec::new();
    for (index, paragraph) in iter_paragraphs_borrowed(&text).enumerate() {
        let paragraph = paragraph.map_err(|e| format!("paragraph {}: {e}", index + 1))?;
        let field = |name| {
            paragraph
                .get_single(name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let name = field("Package")
            .ok_or_else(|| format!("paragraph {} has no Package field", index + 1))?;
        // `Status: <want> <error flag> <status>`; status.d files written by image builders
        // carry no Status line: those packages are installed.
        let on_disk = match field("Status") {
            Some(status) => status
                .split_whitespace()
                .nth(2)
                .is_some_and(|s| ON_DISK.contains(&s)),
            None => true,
        };
        if !on_disk {
            continue;
        }
        let version =
            field("Version").ok_or_else(|| format!("package {name} has no Version field"))?;
        // `Source: name` or `Source: name (version)` when the source version differs.
        let source = field("Source")
            .and_then(|s| s.split_whitespace().next())
            .filter(|source| *source != name)
            .map(str::to_owned);
        packages.push(Package {
            ecosystem: Ecosystem::Debian,
            name: name.to_owned(),
            version: version.to_owned(),
            source,
            path: path.to_owned(),
            layer: None,
        });
    }
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "\
Package: libc6
Status: install ok installed
Version: 2.36-9+deb12u4
Source: glibc
Description: GNU C Library
 Contains the standard libraries.

Package: zlib1g
Status: install ok installed
Version: 1:1.2.13.dfsg-1+b1
Source: zlib (1:1.2.13.dfsg-1)

Package: removed-pkg
Status: deinstall ok config-files
Version: 1.0

Package: held
Status: hold ok installed
Version: 3.0
Source: held
";

    #[test]
    fn installed_packages_with_their_source() {
        let packages = parse("/var/lib/dpkg/status", STATUS.as_bytes()).expect("parses");
        let summary: Vec<_> = packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.source.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                ("libc6", "2.36-9+deb12u4", Some("glibc")),
                ("zlib1g", "1:1.2.13.dfsg-1+b1", Some("zlib")),
                ("held", "3.0", None),
            ]
        );
    }

    #[test]
    fn a_paragraph_without_version_is_refused() {
        let error = parse(
            "/var/lib/dpkg/status",
            b"Package: x\nStatus: install ok installed\n",
        )
        .expect_err("no version");
        assert!(error.contains("package x has no Version"), "{error}");
    }
}
