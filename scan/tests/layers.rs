//! Reading one layer: what is accepted and kept, and each hostile archive refused with its
//! reason and entry named.

mod support;

use keynet_scan::Error;
use keynet_scan::layers::{EntryKind, Limits, scan_layer};
use support::{DOCKER_GZIP, Layer, TAR, TAR_GZIP, TAR_ZSTD, pax_record, scan, scan_ok};
use tar::EntryType;

/// The error, and its message, which must name `entry`.
fn refused(bytes: &[u8], media_type: &str, entry: &str) -> (Error, String) {
    let error = scan(bytes, media_type).expect_err("the layer is refused");
    let message = error.to_string();
    assert!(
        message.contains(entry),
        "message {message:?} should name {entry:?}"
    );
    (error, message)
}

#[test]
fn an_index_of_every_entry_in_each_compression() {
    let layer = || {
        Layer::new()
            .dir("./usr/", 0o755)
            .file_with("./usr/bin/tool", b"#!/bin/sh\n", 0o755, 1000)
            .symlink("usr/bin/sh", "/bin/dash")
            .hardlink("usr/bin/tool2", "./usr/bin/tool")
            .raw(b"run/fifo", EntryType::Fifo, b"", b"")
            .file(
                &format!("opt/{}/deep", "long-directory-name".repeat(8)),
                b"x",
            )
    };
    for (bytes, media_type) in [
        (layer().tar(), TAR),
        (layer().gzip(), TAR_GZIP),
        (layer().gzip(), DOCKER_GZIP),
        (layer().zstd(), TAR_ZSTD),
    ] {
        let scan = scan_ok(&bytes, media_type);
        let entries: Vec<_> = scan
            .entries
            .iter()
            .map(|e| (e.path.as_str(), e.kind, e.link.as_deref()))
            .collect();
        let long = format!("/opt/{}/deep", "long-directory-name".repeat(8));
        assert_eq!(
            entries,
            [
                ("/usr", EntryKind::Dir, None),
                ("/usr/bin/tool", EntryKind::File, None),
                ("/usr/bin/sh", EntryKind::Symlink, Some("/bin/dash")),
                ("/usr/bin/tool2", EntryKind::Hardlink, Some("/usr/bin/tool")),
                ("/run/fifo", EntryKind::Fifo, None),
                (long.as_str(), EntryKind::File, None),
            ],
            "{media_type}"
        );
        let tool = &scan.entries[1];
        assert_eq!((tool.mode, tool.uid, tool.size), (0o755, 1000, 10));
    }
}

#[test]
fn the_scan_round_trips_through_json() {
    let scan = scan_ok(&support::debian_base().gzip(), TAR_GZIP);
    let json = serde_json::to_string(&scan).expect("serializes");
    assert_eq!(
        serde_json::from_str::<keynet_scan::LayerScan>(&json).expect("deserializes"),
        scan
    );
}

#[test]
fn whiteouts_are_recorded_not_indexed() {
    let scan = scan_ok(
        &Layer::new()
            .whiteout("etc/motd")
            .whiteout("gone")
            .opaque("var/cache")
            .tar(),
        TAR,
    );
    assert_eq!(scan.whiteouts, ["/etc/motd", "/gone"]);
    assert_eq!(scan.opaque_dirs, ["/var/cache"]);
    assert!(scan.entries.is_empty());
}

#[test]
fn unknown_media_type() {
    let error = scan(
        &Layer::new().tar(),
        "application/vnd.oci.image.config.v1+json",
    )
    .expect_err("refused");
    assert!(
        matches!(error, Error::UnsupportedMediaType(ref t) if t == "application/vnd.oci.image.config.v1+json")
    );
}

#[test]
fn parent_dir_component() {
    let bytes = Layer::new()
        .raw(b"usr/../../etc/passwd", EntryType::Regular, b"", b"x")
        .tar();
    let (error, _) = refused(&bytes, TAR, "usr/../../etc/passwd");
    assert!(matches!(error, Error::ParentDirInPath { .. }), "{error:?}");
}

#[test]
fn absolute_path() {
    let (error, _) = refused(
        &Layer::new()
            .raw(b"/etc/cron.d/x", EntryType::Regular, b"", b"x")
            .tar(),
        TAR,
        "/etc/cron.d/x",
    );
    assert!(matches!(error, Error::AbsolutePath { .. }), "{error:?}");
}

#[test]
fn symlinks_may_point_anywhere_inside_the_root_but_not_above_it() {
    let inside = Layer::new()
        .symlink("usr/lib/x/link", "../../../etc/passwd")
        .symlink("a", "/etc/shadow")
        .tar();
    assert_eq!(scan_ok(&inside, TAR).entries.len(), 2);

    let bytes = Layer::new()
        .symlink("usr/lib/link", "../../../etc/passwd")
        .tar();
    let (error, message) = refused(&bytes, TAR, "/usr/lib/link");
    assert!(
        matches!(error, Error::SymlinkEscape { ref target, .. } if target == "../../../etc/passwd"),
        "{error:?}"
    );
    assert!(message.contains("climbs above the image root"), "{message}");

    let absolute = Layer::new().symlink("a", "/../../etc").tar();
    assert!(matches!(
        scan(&absolute, TAR),
        Err(Error::SymlinkEscape { .. })
    ));
    let empty = Layer::new().raw(b"a", EntryType::Symlink, b"", b"").tar();
    assert!(matches!(
        scan(&empty, TAR),
        Err(Error::BadSymlinkTarget {
            why: "it is empty",
            ..
        })
    ));
}

#[test]
fn hardlink_targets_must_be_plain_paths_in_the_image() {
    for (target, why) in [
        (&b"../etc/shadow"[..], "it has a `..` component"),
        (b"/etc/shadow", "it is absolute"),
        (b"./", "it names the image root"),
        (b"", "it is empty"),
    ] {
        let bytes = Layer::new()
            .raw(b"app/h", EntryType::Link, target, b"")
            .tar();
        let (error, _) = refused(&bytes, TAR, "/app/h");
        assert!(
            matches!(error, Error::BadHardlinkTarget { why: w, .. } if w == why),
            "{target:?}: {error:?}"
        );
    }
}

#[test]
fn device_nodes() {
    for kind in [EntryType::Char, EntryType::Block] {
        let (error, message) = refused(
            &Layer::new().raw(b"opt/mem", kind, b"", b"").tar(),
            TAR,
            "opt/mem",
        );
        assert!(matches!(error, Error::DeviceFile { .. }), "{error:?}");
        assert!(message.contains("device node"), "{message}");
    }
}

#[test]
fn malformed_whiteouts() {
    for (name, why) in [
        (&b".wh..wh..opq"[..], "opaque whiteout of the image root"),
        (b"etc/.wh...", "`.` or `..`"),
        (b"etc/.wh..", "`.` or `..`"),
        (b"etc/.wh.", "empty name"),
        (b"etc/.wh..wh.plnk", "reserved"),
    ] {
        let entry = String::from_utf8_lossy(name).into_owned();
        let (error, message) = refused(
            &Layer::new().raw(name, EntryType::Regular, b"", b"").tar(),
            TAR,
            &entry,
        );
        assert!(
            matches!(error, Error::BadWhiteout { .. }),
            "{entry}: {error:?}"
        );
        assert!(message.contains(why), "{message}");
    }
    let as_dir = Layer::new()
        .raw(b"etc/.wh.x/", EntryType::Directory, b"", b"")
        .tar();
    let (_, message) = refused(&as_dir, TAR, "etc/.wh.x");
    assert!(message.contains("must be a regular file"), "{message}");
}

#[test]
fn entries_written_through_a_symlink_of_the_same_layer() {
    let bytes = Layer::new()
        .symlink("app", "/etc")
        .raw(b"app/cron.d/job", EntryType::Regular, b"", b"x")
        .tar();
    let (error, _) = refused(&bytes, TAR, "app/cron.d/job");
    assert!(
        matches!(error, Error::PathThroughSymlink { ref symlink, .. } if symlink == "/app"),
        "{error:?}"
    );
    // A directory replacing the symlink first makes the path an ordinary one again.
    let replaced = Layer::new()
        .symlink("app", "/etc")
        .dir("app", 0o755)
        .file("app/x", b"x")
        .tar();
    assert_eq!(scan_ok(&replaced, TAR).entries.len(), 3);
}

#[test]
fn non_utf8_and_nul_paths() {
    let (error, _) = refused(
        &Layer::new()
            .raw(b"app/\xff\xfe", EntryType::Regular, b"", b"")
            .tar(),
        TAR,
        "app/",
    );
    assert!(matches!(error, Error::NonUtf8Path { .. }), "{error:?}");

    let pax = Layer::new()
        .extension(EntryType::XHeader, &pax_record("path", b"app/a\0b"))
        .file("placeholder", b"")
        .tar();
    let (error, _) = refused(&pax, TAR, "app/a");
    assert!(matches!(error, Error::NulInPath { .. }), "{error:?}");

    let gnu = Layer::new()
        .extension(EntryType::GNULongName, b"app/a\0hidden\0")
        .file("placeholder", b"")
        .tar();
    let (error, _) = refused(&gnu, TAR, "app/a");
    assert!(matches!(error, Error::NulInPath { .. }), "{error:?}");
}

#[test]
fn unsupported_entry_types() {
    for (kind, flag) in [(EntryType::GNUSparse, 'S'), (EntryType::Continuous, '7')] {
        let (error, _) = refused(
            &Layer::new().raw(b"data/x", kind, b"", b"").tar(),
            TAR,
            "data/x",
        );
        assert!(
            matches!(error, Error::UnsupportedEntryType { type_flag, .. } if type_flag == flag),
            "{error:?}"
        );
    }
}

#[test]
fn an_entry_replacing_the_root() {
    let (error, _) = refused(
        &Layer::new()
            .raw(b"./", EntryType::Symlink, b"/tmp", b"")
            .tar(),
        TAR,
        "./",
    );
    assert!(matches!(error, Error::ReplacesRoot { .. }), "{error:?}");
}

/// Zeros compress about 1000:1 with gzip: a bomb's shape.
fn zeros_layer(size: usize) -> Layer {
    Layer::new().file("var/zeros", &vec![0; size])
}

fn small_limits() -> Limits {
    Limits {
        max_uncompressed: 8 << 20,
        max_ratio: 50,
        ratio_floor: 1 << 20,
        ..Limits::default()
    }
}

#[test]
fn decompression_bombs_stop_at_the_ratio() {
    for (bytes, media_type) in [
        (zeros_layer(4 << 20).gzip(), TAR_GZIP),
        (zeros_layer(4 << 20).zstd(), TAR_ZSTD),
    ] {
        let error = scan_layer(&bytes[..], media_type, &small_limits()).expect_err("a bomb");
        assert!(
            matches!(error, Error::CompressionRatio { max_ratio: 50, .. }),
            "{error:?}"
        );
    }
    // Past the floor, a layer that compresses normally is fine.
    let text: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    scan_layer(
        &Layer::new().file("data", &text).gzip()[..],
        TAR_GZIP,
        &small_limits(),
    )
    .expect("accepted");
}

#[test]
fn total_size_and_entry_count_caps() {
    let limits = Limits {
        max_uncompressed: 1 << 20,
        ..Limits::default()
    };
    let error = scan_layer(&zeros_layer(2 << 20).tar()[..], TAR, &limits).expect_err("too large");
    assert!(
        matches!(error, Error::TooLarge { max } if max == 1 << 20),
        "{error:?}"
    );

    let many = (0..20).fold(Layer::new(), |layer, i| layer.file(&format!("f{i}"), b""));
    let limits = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    let error = scan_layer(&many.tar()[..], TAR, &limits).expect_err("too many");
    assert!(
        matches!(error, Error::TooManyEntries { max: 10 }),
        "{error:?}"
    );

    let limits = Limits {
        max_extension_header: 64,
        ..Limits::default()
    };
    let long = Layer::new()
        .file(&format!("{}f", "d/".repeat(100)), b"")
        .tar();
    assert!(matches!(
        scan_layer(&long[..], TAR, &limits),
        Err(Error::MalformedTar { .. })
    ));
}

#[test]
fn truncated_gzip_and_zstd() {
    let layer = || Layer::new().file("a", &[7; 100_000]).file("b", b"x");
    for (bytes, media_type) in [(layer().gzip(), TAR_GZIP), (layer().zstd(), TAR_ZSTD)] {
        for cut in [bytes.len() / 2, bytes.len() - 4, 5] {
            let error = scan(&bytes[..cut], media_type).expect_err("truncated");
            assert!(
                matches!(error, Error::Truncated { .. }),
                "{media_type} cut at {cut}: {error:?}"
            );
        }
    }
    assert!(matches!(scan(b"", TAR_GZIP), Err(Error::Truncated { .. })));
}

#[test]
fn truncated_tar() {
    let bytes = Layer::new().file("a", b"x").file("big", &[1; 5000]).tar();
    // Inside the contents of `big`: header (512) + data (512) of `a`, header of `big`, then 1000 bytes.
    let (error, _) = refused(&bytes[..2536], TAR, "big");
    assert!(matches!(error, Error::Truncated { .. }), "{error:?}");
    // Inside a header.
    assert!(matches!(
        scan(&bytes[..1100], TAR),
        Err(Error::Truncated { .. })
    ));
    // At an entry boundary, without the end-of-archive marker.
    let error = scan(&bytes[..1024], TAR).expect_err("no end marker");
    assert!(
        error.to_string().contains("end-of-archive marker"),
        "{error}"
    );
}

#[test]
fn sizes_near_the_top_of_u64() {
    // A PAX size no stream can hold: skipping it meets the end of the layer.
    let bytes = Layer::new()
        .extension(
            EntryType::XHeader,
            &pax_record("size", u64::MAX.to_string().as_bytes()),
        )
        .file("huge", b"")
        .file("next", b"")
        .tar();
    let (error, _) = refused(&bytes, TAR, "huge");
    assert!(matches!(error, Error::Truncated { .. }), "{error:?}");
}

#[test]
fn corrupt_streams() {
    // The gzip trailer's CRC: the tar reads fine, and draining the stream after the
    // end-of-archive marker is what checks it.
    let mut bytes = Layer::new().file("a", b"hello").gzip();
    let crc = bytes.len() - 8;
    bytes[crc] ^= 0xff;
    let error = scan(&bytes, TAR_GZIP).expect_err("bad CRC");
    assert!(
        matches!(error, Error::Decompress { format: "gzip", .. }),
        "{error:?}"
    );
    // A gzip member followed by garbage.
    let mut bytes = Layer::new().file("a", b"hello").gzip();
    bytes.extend_from_slice(b"this is not a gzip member at all");
    let error = scan(&bytes, TAR_GZIP).expect_err("garbage");
    assert!(
        matches!(error, Error::Decompress { format: "gzip", .. }),
        "{error:?}"
    );

    let mut tar = Layer::new().file("a", b"hello").tar();
    tar[100] ^= 0x01; // inside the mode field: the checksum no longer matches
    assert!(matches!(
        scan(&tar, TAR),
        Err(Error::MalformedTar { offset: 512, .. })
    ));
}

#[test]
fn data_after_the_end_marker() {
    let mut bytes = Layer::new().file("a", b"x").tar();
    bytes.extend(Layer::new().file("hidden", b"y").tar());
    let error = scan(&bytes, TAR).expect_err("trailing entries");
    assert!(matches!(error, Error::TrailingData { .. }), "{error:?}");
    // Zero padding (GNU tar rounds to 10 KiB records) is fine.
    let mut padded = Layer::new().file("a", b"x").tar();
    padded.resize(10240, 0);
    scan_ok(&padded, TAR);
}

#[test]
fn link_headers_carry_no_contents_as_in_go() {
    // A symlink header claiming 512 bytes of contents, whose "contents" are a header: Go's
    // reader (Docker, containerd) ignores the size of link headers and reads the next block as
    // the next entry, so the scan must see `hidden` too.
    let hidden = Layer::new().file("hidden", b"").tar();
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(EntryType::Symlink);
    header.set_path("link").expect("path");
    header.set_link_name("/etc").expect("link");
    header.set_size(0);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, &[][..]).expect("append");
    let mut bytes = builder.into_inner().expect("finish");
    // Claim 512 bytes and splice the hidden header in where they would be.
    bytes.truncate(512);
    let mut claimed = tar::Header::from_byte_slice(&bytes[..512]).clone();
    claimed.set_size(512);
    claimed.set_cksum();
    bytes[..512].copy_from_slice(claimed.as_bytes());
    bytes.extend_from_slice(&hidden);
    let paths: Vec<_> = scan_ok(&bytes, TAR)
        .entries
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(paths, ["/link", "/hidden"]);
}

#[test]
fn a_package_database_over_the_cap_rejects_the_layer() {
    let limits = Limits {
        max_inventory_file: 100,
        ..Limits::default()
    };
    let bytes = Layer::new()
        .file("var/lib/dpkg/status", support::DPKG_STATUS.as_bytes())
        .tar();
    let error = scan_layer(&bytes[..], TAR, &limits).expect_err("too large");
    assert!(
        matches!(error, Error::FileTooLarge { ref entry, max: 100, .. } if entry == "/var/lib/dpkg/status"),
        "{error:?}"
    );

    let broken = Layer::new()
        .file("lib/apk/db/installed", b"P:musl\nnot a line\n")
        .tar();
    let (error, _) = refused(&broken, TAR, "/lib/apk/db/installed");
    assert!(matches!(error, Error::MalformedFile { .. }), "{error:?}");
}

#[test]
fn a_repeated_path_keeps_only_the_last_file() {
    let key = support::private_key_pem();
    let bytes = Layer::new()
        .file("app/key.pem", key.as_bytes())
        .file("app/key.pem", b"replaced\n")
        .tar();
    let scan = scan_ok(&bytes, TAR);
    assert!(scan.findings.is_empty(), "{:?}", scan.findings);
}
