//! Images of several layers: inventory, findings, and the merge with whiteouts.

mod support;

use keynet_scan::{Ecosystem, FindingKind, ImageConfig, ImageScan, LayerScan, Severity, merge};
use support::{Layer, PICKLE, TAR_GZIP, python_metadata, scan_ok};

const SITE: &str = "usr/local/lib/python3.11/site-packages";

fn layers(layers: Vec<Layer>) -> Vec<(String, LayerScan)> {
    layers
        .into_iter()
        .enumerate()
        .map(|(i, layer)| (format!("sha256:{i:064}"), scan_ok(&layer.gzip(), TAR_GZIP)))
        .collect()
}

fn digest(i: usize) -> String {
    format!("sha256:{i:064}")
}

fn non_root() -> ImageConfig {
    ImageConfig {
        user: "1000:1000".to_owned(),
        env: vec!["PATH=/usr/local/bin:/usr/bin".to_owned()],
    }
}

/// (rule, path, layer index) of each finding, in the scan's order.
fn findings(scan: &ImageScan) -> Vec<(String, Option<String>, Option<String>)> {
    scan.findings
        .iter()
        .map(|f| (f.rule.clone(), f.path.clone(), f.layer.clone()))
        .collect()
}

fn expected(
    rule: &str,
    path: Option<&str>,
    layer: Option<usize>,
) -> (String, Option<String>, Option<String>) {
    (rule.to_owned(), path.map(str::to_owned), layer.map(digest))
}

#[test]
fn a_debian_image_with_python_packages() {
    let image = layers(vec![
        support::debian_base(),
        Layer::new()
            .file(
                &format!("{SITE}/numpy-1.26.4.dist-info/METADATA"),
                &python_metadata("numpy", "1.26.4"),
            )
            .file(
                &format!("{SITE}/Pillow-10.0.0.dist-info/METADATA"),
                &python_metadata("Pillow", "10.0.0"),
            )
            .file(
                "usr/lib/python3/dist-packages/six-1.16.0.egg-info",
                &python_metadata("six", "1.16.0"),
            ),
    ]);
    let scan = merge(&image, &non_root());

    let os = scan.os.as_ref().expect("os");
    assert_eq!(
        (os.id.as_str(), os.version_id.as_deref()),
        ("debian", Some("12"))
    );
    let packages: Vec<_> = scan
        .packages
        .iter()
        .map(|p| {
            (
                p.ecosystem,
                p.name.as_str(),
                p.version.as_str(),
                p.source.as_deref(),
                p.layer.clone(),
            )
        })
        .collect();
    assert_eq!(
        packages,
        [
            (
                Ecosystem::Debian,
                "bash",
                "5.2.15-2+b2",
                None,
                Some(digest(0))
            ),
            (
                Ecosystem::Debian,
                "libc6",
                "2.36-9+deb12u4",
                Some("glibc"),
                Some(digest(0))
            ),
            (
                Ecosystem::Debian,
                "zlib1g",
                "1:1.2.13.dfsg-1+b1",
                Some("zlib"),
                Some(digest(0))
            ),
            (Ecosystem::PyPI, "numpy", "1.26.4", None, Some(digest(1))),
            (Ecosystem::PyPI, "pillow", "10.0.0", None, Some(digest(1))),
            (Ecosystem::PyPI, "six", "1.16.0", None, Some(digest(1))),
        ]
    );
    assert!(
        scan.packages
            .iter()
            .filter(|p| p.ecosystem == Ecosystem::Debian)
            .all(|p| p.path == "/var/lib/dpkg/status")
    );
    // The base's setuid `passwd` is the only finding.
    assert_eq!(
        findings(&scan),
        [expected(
            "misconfig.setuid",
            Some("/usr/bin/passwd"),
            Some(0)
        )]
    );
}

#[test]
fn upper_layers_delete_overwrite_and_hide() {
    let key = support::private_key_pem();
    let image = layers(vec![
        support::debian_base()
            .file(
                &format!("{SITE}/Pillow-10.0.0.dist-info/METADATA"),
                &python_metadata("Pillow", "10.0.0"),
            )
            .file(
                &format!("{SITE}/numpy-1.26.4.dist-info/METADATA"),
                &python_metadata("numpy", "1.26.4"),
            )
            .file("app/model.pkl", PICKLE)
            .file("srv/cache/.env", b"API_TOKEN=abc123def456\n")
            .file("srv/cache/keep/key.pem", key.as_bytes()),
        Layer::new()
            // dpkg's database rewritten: only its final form counts.
            .file(
                "var/lib/dpkg/status",
                b"Package: curl\nStatus: install ok installed\nVersion: 7.88.1-10\n",
            )
            .whiteout(&format!("{SITE}/Pillow-10.0.0.dist-info"))
            .whiteout("app/model.pkl")
            .opaque("srv/cache")
            .file("srv/cache/new.txt", b"fresh\n"),
        // The same path deleted then recreated by a later layer stands again.
        Layer::new().file("app/model.pkl", PICKLE),
    ]);
    let scan = merge(&image, &non_root());
    let packages: Vec<_> = scan
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.layer.clone()))
        .collect();
    assert_eq!(
        packages,
        [("curl", Some(digest(1))), ("numpy", Some(digest(0)))]
    );
    assert_eq!(
        findings(&scan),
        [
            expected("misconfig.setuid", Some("/usr/bin/passwd"), Some(0)),
            expected("review.pickle", Some("/app/model.pkl"), Some(2)),
        ]
    );
}

#[test]
fn a_planted_key_and_a_setuid_file_are_exactly_the_findings() {
    let key = support::private_key_pem();
    let image = layers(vec![
        Layer::new()
            .dir("tmp", 0o1777)
            .dir("app", 0o755)
            .file("app/README.md", b"# Trainer\nRun `python train.py`.\n")
            .file("app/train.py", b"import torch\nprint('training')\n")
            .file_with(
                "app/run.sh",
                b"#!/bin/sh\nexec python train.py\n",
                0o755,
                1000,
            )
            .file_with("usr/local/bin/helper", b"\x7fELF", 0o4755, 0)
            .file("root/.ssh/id_rsa", key.as_bytes()),
    ]);
    let scan = merge(&image, &non_root());
    assert_eq!(
        findings(&scan),
        [
            expected("secret.private-key", Some("/root/.ssh/id_rsa"), Some(0)),
            expected("misconfig.setuid", Some("/usr/local/bin/helper"), Some(0)),
        ]
    );
    let key_finding = &scan.findings[0];
    assert_eq!(
        (key_finding.kind, key_finding.severity),
        (FindingKind::Secret, Severity::High)
    );
    assert!(
        !key_finding.message.contains("MIIE"),
        "the key must not be quoted: {}",
        key_finding.message
    );
}

#[test]
fn misconfiguration_and_review_findings() {
    let image = layers(vec![
        support::debian_base()
            .file_with("opt/shared.conf", b"x=1\n", 0o666, 0)
            .dir("opt/drop", 0o777)
            .file_with("usr/bin/wall", b"\x7fELF", 0o2755, 0)
            .file("models/ckpt.pt", b"PK\x03\x04 not really a zip")
            .file("models/pytorch_model.bin", b"\x80\x02}q\x00.")
            .file("lib/firmware/blob.bin", b"\x00\x01\x02")
            .file("app/.env", b"DEBUG=1\n")
            .file("app/.env.example", b"SECRET_KEY=changeme\n"),
    ]);
    // Root by name: `admin` has uid 0 in this passwd.
    let image = {
        let mut image = image;
        image.push((
            digest(1),
            scan_ok(
                &Layer::new()
                    .file(
                        "etc/passwd",
                        b"root:x:0:0::/root:/bin/sh\nadmin:x:0:0::/:/bin/sh\n",
                    )
                    .gzip(),
                TAR_GZIP,
            ),
        ));
        image
    };
    let config = ImageConfig {
        user: "admin".to_owned(),
        env: vec!["HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyz01234567".to_owned()],
    };
    let scan = merge(&image, &config);
    let mut rules: Vec<_> = findings(&scan)
        .into_iter()
        .map(|(rule, path, _)| (rule, path))
        .collect();
    rules.sort();
    let expected: Vec<(String, Option<String>)> = [
        ("misconfig.root-user", None),
        ("misconfig.setgid", Some("/usr/bin/wall")),
        ("misconfig.setuid", Some("/usr/bin/passwd")),
        ("misconfig.world-writable", Some("/opt/drop")),
        ("misconfig.world-writable", Some("/opt/shared.conf")),
        ("review.pickle", Some("/models/ckpt.pt")),
        ("review.pickle", Some("/models/pytorch_model.bin")),
        ("secret.config-env", None),
        ("secret.env-file", Some("/app/.env")),
    ]
    .into_iter()
    .map(|(rule, path)| (rule.to_owned(), path.map(str::to_owned)))
    .collect();
    assert_eq!(rules, expected);
    let env = scan
        .findings
        .iter()
        .find(|f| f.rule == "secret.config-env")
        .expect("env finding");
    assert!(
        env.message.contains("HF_TOKEN")
            && !env
                .message
                .contains("hf_abcdefghijklmnopqrstuvwxyz01234567"),
        "{}",
        env.message
    );
}

#[test]
fn os_release_falls_back_and_alpine_packages() {
    let image = layers(vec![
        Layer::new()
            .file(
                "etc/os-release",
                b"ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
            )
            .file(
                "lib/apk/db/installed",
                b"P:musl\nV:1.2.4-r2\no:musl\n\nP:libssl3\nV:3.1.4-r5\no:openssl\n\n",
            ),
        Layer::new()
            .whiteout("etc/os-release")
            .file("usr/lib/os-release", b"ID=wolfi\n"),
    ]);
    let scan = merge(&image, &non_root());
    assert_eq!(scan.os.as_ref().map(|os| os.id.as_str()), Some("wolfi"));
    let packages: Vec<_> = scan
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.source.as_deref()))
        .collect();
    assert_eq!(packages, [("libssl3", Some("openssl")), ("musl", None)]);
}
