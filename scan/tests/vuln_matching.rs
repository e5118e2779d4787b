//! Matching packages against OSV advisories.
//!
//! Fixtures under `fixtures/osv/`: `DSA-5514-1`, `DEBIAN-CVE-2023-4911`, `ALPINE-CVE-2023-5363`
//! and `GHSA-3f63-hfp8-52jq` follow the real records (trimmed); `withdrawn-GHSA`,
//! `last-affected-GHSA` and `versions-only-MAL` have the shape of real GitHub and OpenSSF
//! malicious-package records with illustrative contents.

use keynet_scan::finding::PackageRef;
use keynet_scan::vuln::{Advisory, MatchOutcome, UnevaluatedReason, lookup_keys, match_packages};
use keynet_scan::{Ecosystem, Finding, FindingKind, OsRelease, Package, Severity};
use serde_json::json;
use std::cell::RefCell;

fn fixture(name: &str) -> Advisory {
    let path = format!(
        "{}/tests/fixtures/osv/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let json = std::fs::read_to_string(&path).expect("fixture exists");
    Advisory::parse(name, &json).expect("fixture parses")
}

fn advisory(value: serde_json::Value) -> Advisory {
    Advisory::parse("inline", &value.to_string()).expect("inline advisory parses")
}

fn os(id: &str, version_id: &str) -> OsRelease {
    OsRelease {
        id: id.to_owned(),
        version_id: Some(version_id.to_owned()),
        pretty_name: None,
    }
}

fn package(ecosystem: Ecosystem, name: &str, version: &str, source: Option<&str>) -> Package {
    let path = match ecosystem {
        Ecosystem::Debian => "/var/lib/dpkg/status".to_owned(),
        Ecosystem::Alpine => "/lib/apk/db/installed".to_owned(),
        Ecosystem::PyPI => {
            format!("/usr/lib/python3/site-packages/{name}-{version}.dist-info/METADATA")
        }
    };
    Package {
        ecosystem,
        name: name.to_owned(),
        version: version.to_owned(),
        source: source.map(str::to_owned),
        path,
        layer: Some("sha256:1111".to_owned()),
    }
}

fn pypi(name: &str, version: &str) -> Package {
    package(Ecosystem::PyPI, name, version, None)
}

/// Matches against `advisories` stored under their own index keys, as the registry does.
fn run(packages: &[Package], os: Option<&OsRelease>, advisories: &[Advisory]) -> MatchOutcome {
    match_packages(packages, os, |ecosystem, name| {
        advisories
            .iter()
            .filter(|a| {
                a.index_keys()
                    .iter()
                    .any(|(e, n)| e == ecosystem && n == name)
            })
            .cloned()
            .collect()
    })
}

fn only_finding(outcome: &MatchOutcome) -> &Finding {
    assert!(outcome.unevaluated.is_empty(), "{:?}", outcome.unevaluated);
    match outcome.findings.as_slice() {
        [finding] => finding,
        other => panic!("expected one finding, got {other:#?}"),
    }
}

fn glibc_advisories() -> Vec<Advisory> {
    vec![fixture("DSA-5514-1"), fixture("DEBIAN-CVE-2023-4911")]
}

#[test]
fn debian_binary_package_matches_by_its_source_package_with_the_fix() {
    let libc6 = package(Ecosystem::Debian, "libc6", "2.36-9+deb12u1", Some("glibc"));
    let outcome = run(&[libc6], Some(&os("debian", "12")), &glibc_advisories());
    let finding = only_finding(&outcome);
    assert_eq!(finding.kind, FindingKind::Vulnerability);
    // One finding for the DSA and the DEBIAN-CVE record of the same CVE, under the CVE.
    assert_eq!(finding.rule, "CVE-2023-4911");
    assert_eq!(finding.fixed_version.as_deref(), Some("2.36-9+deb12u3"));
    // The DSA has no rating; the DEBIAN-CVE record's urgency `high` wins.
    assert_eq!(finding.severity, Severity::High);
    assert_eq!(
        finding.package,
        Some(PackageRef {
            ecosystem: Ecosystem::Debian,
            name: "libc6".to_owned(),
            version: "2.36-9+deb12u1".to_owned(),
        })
    );
    assert_eq!(finding.path.as_deref(), Some("/var/lib/dpkg/status"));
    assert_eq!(finding.layer.as_deref(), Some("sha256:1111"));
    assert_eq!(
        finding.title,
        "CVE-2023-4911 in libc6 2.36-9+deb12u1: glibc - security update"
    );
    assert_eq!(
        finding.message,
        "libc6 2.36-9+deb12u1 (source package glibc) is affected by CVE-2023-4911 \
         (DSA-5514-1, DEBIAN-CVE-2023-4911): glibc - security update. Fixed in 2.36-9+deb12u3: \
         upgrade libc6 to 2.36-9+deb12u3 or later. Severity High (Debian urgency high)."
    );
}

#[test]
fn debian_fixed_and_later_versions_do_not_match() {
    for version in ["2.36-9+deb12u3", "2.36-9+deb12u4", "2.36-10", "1:2.0-1"] {
        let libc6 = package(Ecosystem::Debian, "libc6", version, Some("glibc"));
        let outcome = run(&[libc6], Some(&os("debian", "12")), &glibc_advisories());
        assert_eq!(outcome, MatchOutcome::default(), "{version}");
    }
    // A binNMU of a vulnerable upload is still vulnerable.
    let binnmu = package(
        Ecosystem::Debian,
        "libc6",
        "2.36-9+deb12u2+b1",
        Some("glibc"),
    );
    let outcome = run(&[binnmu], Some(&os("debian", "12")), &glibc_advisories());
    assert_eq!(only_finding(&outcome).rule, "CVE-2023-4911");
}

#[test]
fn debian_release_scopes_the_advisory() {
    // Debian 11 has its own fix; Debian 12's is not borrowed.
    let libc6 = package(Ecosystem::Debian, "libc6", "2.31-13+deb11u5", Some("glibc"));
    let outcome = run(
        std::slice::from_ref(&libc6),
        Some(&os("debian", "11")),
        &glibc_advisories(),
    );
    assert_eq!(
        only_finding(&outcome).fixed_version.as_deref(),
        Some("2.31-13+deb11u7")
    );
    // The same package on a Debian 10 image: no record for that release.
    let outcome = run(&[libc6], Some(&os("debian", "10")), &glibc_advisories());
    assert_eq!(outcome, MatchOutcome::default());
}

#[test]
fn debian_binary_name_alone_does_not_match_a_source_advisory() {
    let without_source = package(Ecosystem::Debian, "libc6", "2.36-9+deb12u1", None);
    let outcome = run(
        &[without_source],
        Some(&os("debian", "12")),
        &glibc_advisories(),
    );
    assert_eq!(outcome, MatchOutcome::default());
}

#[test]
fn each_lookup_key_is_asked_once_and_debian_also_without_release() {
    let packages = [
        package(Ecosystem::Debian, "libc6", "2.36-9+deb12u1", Some("glibc")),
        package(
            Ecosystem::Debian,
            "libc-bin",
            "2.36-9+deb12u1",
            Some("glibc"),
        ),
        pypi("Pillow", "10.1.0"),
    ];
    let calls = RefCell::new(Vec::new());
    let advisories = glibc_advisories();
    let outcome = match_packages(&packages, Some(&os("debian", "12")), |ecosystem, name| {
        calls
            .borrow_mut()
            .push((ecosystem.to_owned(), name.to_owned()));
        advisories
            .iter()
            .filter(|a| {
                a.index_keys()
                    .iter()
                    .any(|(e, n)| e == ecosystem && n == name)
            })
            .cloned()
            .collect()
    });
    let mut calls = calls.into_inner();
    calls.sort();
    let expected = vec![
        ("Debian".to_owned(), "glibc".to_owned()),
        ("Debian:12".to_owned(), "glibc".to_owned()),
        ("PyPI".to_owned(), "pillow".to_owned()),
    ];
    assert_eq!(calls, expected);
    assert_eq!(lookup_keys(&packages, Some(&os("debian", "12"))), expected);
    // One finding per binary package.
    let names: Vec<&str> = outcome
        .findings
        .iter()
        .filter_map(|f| f.package.as_ref().map(|p| p.name.as_str()))
        .collect();
    assert_eq!(names, ["libc-bin", "libc6"]);
}

#[test]
fn a_release_less_debian_record_applies_to_every_release() {
    let record = advisory(json!({
        "id": "DSA-0000-1", "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "Debian", "name": "zlib"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:1.2.13.dfsg-2"}]}]}]
    }));
    let zlib = package(Ecosystem::Debian, "zlib1g", "1:1.2.13.dfsg-1", Some("zlib"));
    let outcome = run(&[zlib], Some(&os("debian", "12")), &[record]);
    assert_eq!(
        only_finding(&outcome).fixed_version.as_deref(),
        Some("1:1.2.13.dfsg-2")
    );
}

#[test]
fn alpine_subpackage_matches_by_origin_in_the_release_branch() {
    let advisories = [fixture("ALPINE-CVE-2023-5363")];
    let alpine = os("alpine", "3.19.1");
    for (version, affected) in [
        ("3.1.3-r0", true),
        ("3.1.4_rc1-r0", true),
        ("3.1.4-r0", false),
        ("3.1.4-r1", false),
        ("3.1.4_p1-r0", false),
    ] {
        let libcrypto = package(Ecosystem::Alpine, "libcrypto3", version, Some("openssl"));
        let outcome = run(&[libcrypto], Some(&alpine), &advisories);
        if affected {
            let finding = only_finding(&outcome);
            assert_eq!(finding.rule, "CVE-2023-5363", "{version}");
            assert_eq!(finding.fixed_version.as_deref(), Some("3.1.4-r0"));
            // The record has no summary: the first line of its details stands in.
            assert_eq!(
                finding.title,
                format!(
                    "CVE-2023-5363 in libcrypto3 {version}: Issue summary: A bug has been \
                     identified in the processing of key and"
                )
            );
            assert_eq!(finding.severity, Severity::Unknown);
            assert!(
                finding
                    .message
                    .ends_with("Severity Unknown (no severity in the advisory).")
            );
        } else {
            assert_eq!(outcome, MatchOutcome::default(), "{version}");
        }
    }
    // An Alpine 3.17 image: the record does not cover that branch.
    let libcrypto = package(Ecosystem::Alpine, "libcrypto3", "3.1.3-r0", Some("openssl"));
    assert_eq!(
        run(&[libcrypto], Some(&os("alpine", "3.17.2")), &advisories),
        MatchOutcome::default()
    );
}

#[test]
fn pypi_names_are_compared_pep503_normalized() {
    let advisories = [fixture("GHSA-3f63-hfp8-52jq")];
    let outcome = run(&[pypi("Pillow", "10.1.0")], None, &advisories);
    let finding = only_finding(&outcome);
    assert_eq!(finding.rule, "CVE-2023-50447");
    assert_eq!(finding.severity, Severity::High);
    assert_eq!(finding.fixed_version.as_deref(), Some("10.2.0"));
    assert_eq!(
        finding.message,
        "Pillow 10.1.0 is affected by CVE-2023-50447 (GHSA-3f63-hfp8-52jq): Arbitrary Code \
         Execution in Pillow. Fixed in 10.2.0: upgrade Pillow to 10.2.0 or later. Severity High \
         (CVSS 3.1 base score 8.1)."
    );
    assert_eq!(
        run(&[pypi("pillow", "10.2.0")], None, &advisories),
        MatchOutcome::default()
    );
    assert_eq!(
        run(&[pypi("PILLOW", "10.2.0rc1")], None, &advisories)
            .findings
            .len(),
        1
    );
}

#[test]
fn withdrawn_advisories_never_match() {
    let withdrawn = fixture("withdrawn-GHSA");
    assert!(withdrawn.is_withdrawn());
    // Still indexed, so that the stored copy is replaced by the withdrawal.
    assert_eq!(
        withdrawn.index_keys(),
        [("PyPI".to_owned(), "requests".to_owned())]
    );
    let outcome = run(&[pypi("requests", "2.30.0")], None, &[withdrawn]);
    assert_eq!(outcome, MatchOutcome::default());
}

#[test]
fn last_affected_is_inclusive_and_has_no_fix() {
    let advisories = [fixture("last-affected-GHSA")];
    for (version, affected) in [
        ("1.12.0", false),
        ("1.13.0", true),
        ("1.15.0", true),
        ("1.15.0.post1", false),
        ("1.16.0", false),
    ] {
        let outcome = run(&[pypi("onnx", version)], None, &advisories);
        if affected {
            let finding = only_finding(&outcome);
            assert_eq!(finding.fixed_version, None);
            // CVSS 4.0 (9.3) outranks the database's HIGH.
            assert_eq!(finding.severity, Severity::Critical);
            assert!(
                finding
                    .message
                    .contains("No fix yet: no fixed version is known.")
            );
        } else {
            assert_eq!(outcome, MatchOutcome::default(), "{version}");
        }
    }
}

#[test]
fn versions_list_only_matches_exactly_listed_versions() {
    let advisories = [fixture("versions-only-MAL")];
    let outcome = run(
        &[pypi("TorchTriton_Nightly", "3.0.1-post2")],
        None,
        &advisories,
    );
    let finding = only_finding(&outcome);
    // No CVE: the record's own id.
    assert_eq!(finding.rule, "MAL-2024-2301");
    assert_eq!(finding.fixed_version, None);
    assert_eq!(finding.severity, Severity::Unknown);
    for version in ["3.0.1", "3.0.2", "2.9.9"] {
        let outcome = run(&[pypi("torchtriton-nightly", version)], None, &advisories);
        assert_eq!(outcome, MatchOutcome::default(), "{version}");
    }
}

fn pypi_range(events: serde_json::Value) -> Advisory {
    advisory(json!({
        "id": "GHSA-test", "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "demo"},
                      "ranges": [{"type": "ECOSYSTEM", "events": events}]}]
    }))
}

/// `None`: not affected; `Some(fix)`: affected, with that fixed version.
fn verdict(record: &Advisory, version: &str) -> Option<Option<String>> {
    let outcome = run(&[pypi("demo", version)], None, std::slice::from_ref(record));
    assert!(outcome.unevaluated.is_empty(), "{:?}", outcome.unevaluated);
    outcome.findings.first().map(|f| f.fixed_version.clone())
}

#[test]
fn ranges_with_several_introduced_fixed_pairs_in_any_order() {
    let ordered = pypi_range(json!([
        {"introduced": "1.0"}, {"fixed": "1.2"}, {"introduced": "2.0"}, {"fixed": "2.3"}
    ]));
    // The schema recommends sorted events but does not require them.
    let shuffled = pypi_range(json!([
        {"fixed": "2.3"}, {"introduced": "1.0"}, {"fixed": "1.2"}, {"introduced": "2.0"}
    ]));
    for record in [&ordered, &shuffled] {
        assert_eq!(verdict(record, "0.9"), None);
        assert_eq!(verdict(record, "1.0"), Some(Some("1.2".to_owned())));
        assert_eq!(verdict(record, "1.1.9"), Some(Some("1.2".to_owned())));
        assert_eq!(verdict(record, "1.2"), None);
        assert_eq!(verdict(record, "1.9"), None);
        assert_eq!(verdict(record, "2.0rc1"), None);
        assert_eq!(verdict(record, "2.0"), Some(Some("2.3".to_owned())));
        assert_eq!(verdict(record, "2.3.0"), None);
        assert_eq!(verdict(record, "3.0"), None);
    }
}

#[test]
fn introduced_zero_and_limits() {
    let unfixed = pypi_range(json!([{"introduced": "0"}]));
    assert_eq!(verdict(&unfixed, "0.0.1"), Some(None));
    assert_eq!(verdict(&unfixed, "99.0"), Some(None));

    let limited = pypi_range(json!([{"introduced": "0"}, {"limit": "2.0"}]));
    assert_eq!(verdict(&limited, "1.9"), Some(None));
    assert_eq!(verdict(&limited, "2.0"), None);
    // Several limits: below any of them.
    let two_limits = pypi_range(json!([{"introduced": "1.0"}, {"limit": "1.5"}, {"limit": "3.0"}]));
    assert_eq!(verdict(&two_limits, "2.0"), Some(None));
    assert_eq!(verdict(&two_limits, "3.0"), None);
    let infinite = pypi_range(json!([{"introduced": "1.0"}, {"limit": "*"}]));
    assert_eq!(verdict(&infinite, "1000"), Some(None));
    assert_eq!(verdict(&infinite, "0.9"), None);
}

#[test]
fn overlapping_ranges_report_the_fix_that_leaves_them_all() {
    let record = advisory(json!({
        "id": "GHSA-test", "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "demo"}, "ranges": [
            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.5"}]},
            {"type": "ECOSYSTEM", "events": [{"introduced": "1.4"}, {"fixed": "2.0"}]}
        ]}]
    }));
    assert_eq!(verdict(&record, "1.0"), Some(Some("1.5".to_owned())));
    assert_eq!(verdict(&record, "1.4.5"), Some(Some("2.0".to_owned())));
    assert_eq!(verdict(&record, "1.7"), Some(Some("2.0".to_owned())));

    let one_unfixed = advisory(json!({
        "id": "GHSA-test", "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "demo"}, "ranges": [
            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.5"}]},
            {"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}]}
        ]}]
    }));
    assert_eq!(verdict(&one_unfixed, "1.2"), Some(None));
}

#[test]
fn git_ranges_are_left_to_the_versions_list() {
    let record = advisory(json!({
        "id": "PYSEC-test", "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "demo"},
            "ranges": [{"type": "GIT", "repo": "https://github.com/example/demo",
                        "events": [{"introduced": "0"}, {"fixed": "a1b2c3d4"}]}],
            "versions": ["1.0", "1.1"]}]
    }));
    assert_eq!(verdict(&record, "1.1"), Some(None));
    assert_eq!(verdict(&record, "1.2"), None);
}

#[test]
fn installed_version_that_does_not_parse_is_reported_not_ignored() {
    let advisories = [fixture("GHSA-3f63-hfp8-52jq")];
    let weird = pypi("Pillow", "10.1.0-custom-build");
    let outcome = run(std::slice::from_ref(&weird), None, &advisories);
    assert!(outcome.findings.is_empty());
    let [unevaluated] = outcome.unevaluated.as_slice() else {
        panic!("expected one unevaluated entry: {:?}", outcome.unevaluated);
    };
    assert_eq!(unevaluated.package.name, "Pillow");
    assert_eq!(unevaluated.path, weird.path);
    match &unevaluated.reason {
        UnevaluatedReason::InvalidInstalledVersion { advisories, .. } => {
            assert_eq!(advisories, &["GHSA-3f63-hfp8-52jq".to_owned()]);
        }
        other => panic!("unexpected reason {other:?}"),
    }
    assert!(
        unevaluated
            .to_string()
            .starts_with("Pillow 10.1.0-custom-build (/usr/lib/python3/site-packages/"),
        "{unevaluated}"
    );
    // Without advisories for the package there is nothing to evaluate, hence nothing to say.
    assert_eq!(run(&[weird], None, &[]), MatchOutcome::default());

    // A versions list is still compared as strings.
    let listed = advisory(json!({
        "id": "MAL-test", "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "demo"}, "versions": ["1.0-custom-build"]}]
    }));
    let outcome = run(&[pypi("demo", "1.0-custom-build")], None, &[listed]);
    assert_eq!(only_finding(&outcome).rule, "MAL-test");
}

#[test]
fn advisory_bounds_that_do_not_parse_and_semver_ranges_are_reported() {
    let record = advisory(json!({
        "id": "GHSA-bad", "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "demo"}, "ranges": [
            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "next release"}]},
            {"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.0"}]}
        ]}]
    }));
    let outcome = run(&[pypi("demo", "0.5")], None, &[record]);
    assert!(outcome.findings.is_empty());
    let reasons: Vec<&UnevaluatedReason> = outcome.unevaluated.iter().map(|u| &u.reason).collect();
    match reasons.as_slice() {
        [
            UnevaluatedReason::InvalidAdvisoryVersion {
                advisory, version, ..
            },
            UnevaluatedReason::UnsupportedRange { range_type, .. },
        ] => {
            assert_eq!(advisory, "GHSA-bad");
            assert_eq!(version, "next release");
            assert_eq!(range_type, "SEMVER");
        }
        other => panic!("unexpected reasons {other:?}"),
    }

    // Found affected by another range of the same record: a finding, and no noise.
    let mixed = advisory(json!({
        "id": "GHSA-mixed", "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "demo"}, "ranges": [
            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "next release"}]},
            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}
        ]}]
    }));
    let outcome = run(&[pypi("demo", "0.5")], None, &[mixed]);
    assert_eq!(only_finding(&outcome).fixed_version.as_deref(), Some("1.0"));
}

#[test]
fn os_packages_without_a_known_release_are_reported_and_not_looked_up() {
    let libc6 = package(Ecosystem::Debian, "libc6", "2.35-0ubuntu3", Some("glibc"));
    let ubuntu = OsRelease {
        id: "ubuntu".to_owned(),
        version_id: Some("22.04".to_owned()),
        pretty_name: Some("Ubuntu 22.04.4 LTS".to_owned()),
    };
    for (os, expected) in [
        (Some(&ubuntu), Some("Ubuntu 22.04.4 LTS".to_owned())),
        (None, None),
    ] {
        let outcome = match_packages(std::slice::from_ref(&libc6), os, |e, n| {
            panic!("no lookup expected, got {e} {n}")
        });
        assert!(outcome.findings.is_empty());
        assert_eq!(outcome.unevaluated.len(), 1);
        assert_eq!(
            outcome.unevaluated[0].reason,
            UnevaluatedReason::UnknownRelease { os: expected }
        );
    }
    // A Debian package in an Alpine image is not looked up in Alpine's data either.
    let outcome = match_packages(&[libc6], Some(&os("alpine", "3.19.1")), |e, n| {
        panic!("no lookup expected, got {e} {n}")
    });
    assert_eq!(outcome.unevaluated.len(), 1);
    assert_eq!(
        outcome.unevaluated[0].to_string(),
        "libc6 2.35-0ubuntu3 (/var/lib/dpkg/status) could not be evaluated: no vulnerability \
         data for the OS alpine 3.19.1"
    );
}

#[test]
fn findings_come_most_severe_first() {
    let advisories = [
        fixture("GHSA-3f63-hfp8-52jq"),
        fixture("last-affected-GHSA"),
        fixture("versions-only-MAL"),
    ];
    let packages = [
        pypi("torchtriton-nightly", "3.0.0"),
        pypi("Pillow", "9.5.0"),
        pypi("onnx", "1.14.1"),
    ];
    let outcome = run(&packages, None, &advisories);
    let order: Vec<(&str, Severity)> = outcome
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.severity))
        .collect();
    assert_eq!(
        order,
        [
            ("CVE-2024-27318", Severity::Critical),
            ("CVE-2023-50447", Severity::High),
            ("MAL-2024-2301", Severity::Unknown),
        ]
    );
}
