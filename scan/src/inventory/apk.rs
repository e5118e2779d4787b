//! apk's database, `/lib/apk/db/installed`: one `K:value` per line, a blank line between
//! packages; `P` name, `V` version, `o` origin (the source package).

use crate::package::{Ecosystem, Package};

pub(super) fn parse(path: &str, content: &[u8]) -> Result<Vec<Package>, String> {
    let text = String::from_utf8_lossy(content);
    let mut packages = Vec::new();
    let (mut name, mut version, mut origin) = (None, None, None);
    // A trailing empty line closes the last package like a blank line between packages.
    for line in text.lines().chain(std::iter::once("")) {
        if let Some((key, value)) = line.split_once(':') {
            match key {
                "P" => name = Some(value),
                "V" => version = Some(value),
                "o" => origin = Some(value),
                _ => {}
            }
            continue;
        }
        if !line.trim().is_empty() {
            return Err(format!("line {line:?} is not a `K:value` line"));
        }
        match (name.take(), version.take(), origin.take()) {
            (None, None, None) => {}
            (Some(name), Some(version), origin) => packages.push(Package {
                ecosystem: Ecosystem::Alpine,
                name: name.to_owned(),
                version: version.to_owned(),
                source: origin.filter(|o| *o != name).map(str::to_owned),
                path: path.to_owned(),
                layer: None,
            }),
            (name, _, _) => {
                return Err(format!(
                    "package {:?} lacks its P: or V: line",
                    name.unwrap_or("")
                ));
            }
        }
    }
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_with_origin() {
        let db = "C:Q1abc=\nP:musl\nV:1.2.4-r2\no:musl\nF:lib\nR:ld-musl-x86_64.so.1\n\n\
                  P:libcrypto3\nV:3.1.4-r5\no:openssl\n";
        let packages = parse("/lib/apk/db/installed", db.as_bytes()).expect("parses");
        let summary: Vec<_> = packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.source.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                ("musl", "1.2.4-r2", None),
                ("libcrypto3", "3.1.4-r5", Some("openssl"))
            ]
        );
    }

    #[test]
    fn a_package_without_version_is_refused() {
        let error = parse("/lib/apk/db/installed", b"P:musl\n\n").expect_err("no version");
        assert!(error.contains("musl"), "{error}");
    }
}
