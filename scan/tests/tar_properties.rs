//! Property tests: on any input, arbitrary or a valid layer mutated, the reader neither
//! panics nor yields a path outside the image.

mod support;

use keynet_scan::layers::{EntryKind, LayerScan, Limits, scan_layer};
use proptest::prelude::*;
use support::{Layer, TAR, TAR_GZIP, pax_record};
use tar::EntryType;

/// Kept form: absolute, no empty, `.` or `..` component.
fn is_kept_path(path: &str) -> bool {
    path.len() > 1
        && path.starts_with('/')
        && path[1..]
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// A symlink target resolved lexically from the link's directory stays at or under the root.
fn stays_inside(link: &str, target: &str) -> bool {
    let mut depth: i64 = if target.starts_with('/') {
        0
    } else {
        link.matches('/').count() as i64 - 1
    };
    for component in target.split('/') {
        match component {
            "" | "." => {}
            ".." => depth -= 1,
            _ => depth += 1,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

fn check(scan: &LayerScan) {
    for entry in &scan.entries {
        assert!(is_kept_path(&entry.path), "entry path {:?}", entry.path);
        match (entry.kind, entry.link.as_deref()) {
            (EntryKind::Hardlink, Some(target)) => {
                assert!(is_kept_path(target), "hardlink {target:?}")
            }
            (EntryKind::Symlink, Some(target)) => {
                assert!(stays_inside(&entry.path, target), "symlink {target:?}")
            }
            (EntryKind::Hardlink | EntryKind::Symlink, None) => panic!("link without target"),
            (_, link) => assert!(link.is_none()),
        }
    }
    for path in scan.whiteouts.iter().chain(&scan.opaque_dirs) {
        assert!(is_kept_path(path), "whiteout {path:?}");
    }
    for finding in &scan.findings {
        assert!(finding.path.as_deref().is_some_and(is_kept_path));
    }
}

/// Small limits so that mutated sizes fail fast instead of allocating.
fn limits() -> Limits {
    Limits {
        max_uncompressed: 1 << 20,
        max_inventory_file: 64 << 10,
        max_secret_scan_file: 64 << 10,
        ..Limits::default()
    }
}

fn seed() -> Vec<u8> {
    Layer::new()
        .dir("usr", 0o755)
        .file("usr/bin/tool", b"#!/bin/sh\n")
        .symlink("usr/bin/sh", "../../bin/dash")
        .hardlink("usr/bin/tool2", "usr/bin/tool")
        .whiteout("etc/motd")
        .opaque("var/cache")
        .file(&format!("opt/{}/x", "n".repeat(120)), b"long name")
        .extension(EntryType::XHeader, &pax_record("path", b"pax/path"))
        .file("placeholder", b"pax")
        .file(
            "var/lib/dpkg/status",
            b"Package: a\nStatus: install ok installed\nVersion: 1\n",
        )
        .tar()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        if let Ok(scan) = scan_layer(&bytes[..], TAR, &limits()) {
            check(&scan);
        }
        let _ = scan_layer(&bytes[..], TAR_GZIP, &limits());
    }

    #[test]
    fn mutated_layers(
        mutations in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        compressed in any::<bool>(),
    ) {
        let mut bytes = seed();
        if compressed {
            bytes = support::gzip(&bytes);
        }
        for (at, value) in &mutations {
            let at = at.index(bytes.len());
            bytes[at] = *value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        let media_type = if compressed { TAR_GZIP } else { TAR };
        if let Ok(scan) = scan_layer(&bytes[..], media_type, &limits()) {
            check(&scan);
        }
    }

    /// Hostile names in the name field of an otherwise valid header.
    #[test]
    fn hostile_names(name in "[./a-z\\.]{1,40}", target in "[./a-z]{0,40}", kind in 0..4u8) {
        let kind = [EntryType::Regular, EntryType::Symlink, EntryType::Link, EntryType::Directory][usize::from(kind)];
        let bytes = Layer::new().raw(name.as_bytes(), kind, target.as_bytes(), b"").tar();
        if let Ok(scan) = scan_layer(&bytes[..], TAR, &limits()) {
            check(&scan);
        }
    }
}
