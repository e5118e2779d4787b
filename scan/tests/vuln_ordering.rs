//! Each ecosystem's version ordering on its hard cases, OSV ecosystem names and PEP 503 names.

use keynet_scan::vuln::ordering::{
    EcosystemVersion, normalize_name, release_ecosystem, supported_ecosystem,
};
use keynet_scan::{Ecosystem, OsRelease};
use std::cmp::Ordering;

fn cmp(ecosystem: Ecosystem, a: &str, b: &str) -> Ordering {
    let a = EcosystemVersion::parse(ecosystem, a).expect("a parses");
    let b = EcosystemVersion::parse(ecosystem, b).expect("b parses");
    a.compare(&b).expect("same ecosystem")
}

/// Every pair in `ascending` is strictly increasing, in both directions.
fn assert_ascending(ecosystem: Ecosystem, ascending: &[&str]) {
    for pair in ascending.windows(2) {
        assert_eq!(
            cmp(ecosystem, pair[0], pair[1]),
            Ordering::Less,
            "{} < {}",
            pair[0],
            pair[1]
        );
        assert_eq!(
            cmp(ecosystem, pair[1], pair[0]),
            Ordering::Greater,
            "{} > {}",
            pair[1],
            pair[0]
        );
    }
}

#[test]
fn debian_epochs_tildes_and_revisions() {
    assert_ascending(
        Ecosystem::Debian,
        &[
            "1.0~rc1-1",
            "1.0-1",
            "1.0-1+deb12u1",
            "1.0-1+deb12u1+b1",
            "1.0-2~bpo12+1",
            "1.0-2",
            "1.0a-1",
            "1.0.1-1",
            // An epoch outranks every upstream version.
            "1:0.1-1",
            "2:0.0.1",
        ],
    );
    // `~` sorts before the end of the string, even before nothing.
    assert_eq!(cmp(Ecosystem::Debian, "2.36-9~", "2.36-9"), Ordering::Less);
    // A missing epoch is epoch 0; a missing revision sorts as `0`.
    assert_eq!(
        cmp(Ecosystem::Debian, "0:2.36-9", "2.36-9"),
        Ordering::Equal
    );
    assert_eq!(cmp(Ecosystem::Debian, "2.36", "2.36-0"), Ordering::Equal);
    // The Debian security updates of glibc, in order.
    assert_ascending(
        Ecosystem::Debian,
        &[
            "2.36-9",
            "2.36-9+deb12u1",
            "2.36-9+deb12u3",
            "2.36-9+deb12u10",
        ],
    );
}

#[test]
fn alpine_suffixes_and_revisions() {
    assert_ascending(
        Ecosystem::Alpine,
        &[
            "3.1.4_alpha1-r0",
            "3.1.4_beta2-r0",
            "3.1.4_pre1-r0",
            "3.1.4_rc1-r0",
            "3.1.4_rc2-r0",
            "3.1.4-r0",
            "3.1.4-r1",
            "3.1.4-r10",
            "3.1.4_p1-r0",
            // apk ranks a letter above every suffix, `_p` included.
            "3.1.4a-r0",
            "3.1.5-r0",
            "3.10.0-r0",
        ],
    );
    assert_eq!(
        cmp(Ecosystem::Alpine, "1.36.1-r0", "1.36.1-r0"),
        Ordering::Equal
    );
    // No revision sorts before `-r0`.
    assert_eq!(
        cmp(Ecosystem::Alpine, "1.36.1", "1.36.1-r0"),
        Ordering::Less
    );
}

#[test]
fn pep440_pre_post_dev_and_local() {
    assert_ascending(
        Ecosystem::PyPI,
        &[
            "1.0.dev0",
            "1.0a1",
            "1.0b2",
            "1.0rc1",
            "1.0",
            "1.0+local.1",
            "1.0.post1",
            "1.1",
            "2!0.1",
        ],
    );
    // Normalized forms are equal.
    assert_eq!(cmp(Ecosystem::PyPI, "1.0", "1.0.0"), Ordering::Equal);
    assert_eq!(cmp(Ecosystem::PyPI, "1.0RC1", "1.0rc1"), Ordering::Equal);
    assert_eq!(cmp(Ecosystem::PyPI, "v2.1", "2.1"), Ordering::Equal);
    assert_eq!(
        cmp(Ecosystem::PyPI, "2.2.0+cu121", "2.2.0"),
        Ordering::Greater
    );
}

#[test]
fn versions_that_do_not_parse_are_errors_naming_version_and_ecosystem() {
    for (ecosystem, version) in [
        (Ecosystem::Debian, ""),
        (Ecosystem::Debian, "1.0 beta"),
        (Ecosystem::Debian, "x:1.0"),
        (Ecosystem::Debian, "beta1-1"),
        (Ecosystem::Alpine, "3.1.4-1"),
        (Ecosystem::Alpine, "3.1.4_foo"),
        (Ecosystem::Alpine, "v3.1.4"),
        (Ecosystem::Alpine, "1.0.r1"),
        (Ecosystem::PyPI, "not-a-version"),
        (Ecosystem::PyPI, "1.0-beta-final"),
    ] {
        let error = EcosystemVersion::parse(ecosystem, version)
            .expect_err(&format!("{version:?} must not parse as {ecosystem:?}"));
        assert_eq!(error.version, version);
        assert_eq!(error.ecosystem, ecosystem);
        assert!(
            error.to_string().contains(&format!("{version:?}")),
            "{error}"
        );
    }
    // Alpine's grammar accepts every form the comparator knows.
    for version in [
        "1.2.3",
        "1.2.3a",
        "1.2.3_rc1_p2-r4",
        "2.4~ab12cd-r0",
        "0.0.1_git20240101-r1",
    ] {
        assert!(
            EcosystemVersion::parse(Ecosystem::Alpine, version).is_ok(),
            "{version}"
        );
    }
}

#[test]
fn versions_of_different_ecosystems_do_not_compare() {
    let debian = EcosystemVersion::parse(Ecosystem::Debian, "1.0").expect("parses");
    let pypi = EcosystemVersion::parse(Ecosystem::PyPI, "1.0").expect("parses");
    assert_eq!(debian.compare(&pypi), None);
    assert!(debian != pypi);
}

fn os(id: &str, version_id: Option<&str>) -> OsRelease {
    OsRelease {
        id: id.to_owned(),
        version_id: version_id.map(str::to_owned),
        pretty_name: None,
    }
}

#[test]
fn os_release_to_osv_ecosystem() {
    assert_eq!(
        release_ecosystem(&os("debian", Some("12"))).as_deref(),
        Some("Debian:12")
    );
    assert_eq!(
        release_ecosystem(&os("debian", Some("11"))).as_deref(),
        Some("Debian:11")
    );
    assert_eq!(
        release_ecosystem(&os("alpine", Some("3.19.1"))).as_deref(),
        Some("Alpine:v3.19")
    );
    assert_eq!(
        release_ecosystem(&os("alpine", Some("3.20.0"))).as_deref(),
        Some("Alpine:v3.20")
    );
    assert_eq!(
        release_ecosystem(&os("alpine", Some("3.21.0_alpha20240807"))).as_deref(),
        Some("Alpine:v3.21")
    );
    // Debian sid has no VERSION_ID; Alpine needs major.minor; other OSes have no data here.
    assert_eq!(release_ecosystem(&os("debian", None)), None);
    assert_eq!(release_ecosystem(&os("alpine", Some("3"))), None);
    assert_eq!(release_ecosystem(&os("ubuntu", Some("22.04"))), None);
}

#[test]
fn osv_ecosystem_names() {
    assert_eq!(supported_ecosystem("Debian:12"), Some(Ecosystem::Debian));
    assert_eq!(supported_ecosystem("Debian"), Some(Ecosystem::Debian));
    assert_eq!(supported_ecosystem("Alpine:v3.19"), Some(Ecosystem::Alpine));
    assert_eq!(supported_ecosystem("PyPI"), Some(Ecosystem::PyPI));
    assert_eq!(supported_ecosystem("Root:PyPI"), None);
    assert_eq!(supported_ecosystem("Ubuntu:22.04:LTS"), None);
    assert_eq!(supported_ecosystem("npm"), None);
}

#[test]
fn pep503_names() {
    assert_eq!(normalize_name(Ecosystem::PyPI, "Pillow"), "pillow");
    assert_eq!(
        normalize_name(Ecosystem::PyPI, "typing_extensions"),
        "typing-extensions"
    );
    assert_eq!(
        normalize_name(Ecosystem::PyPI, "zope.interface"),
        "zope-interface"
    );
    assert_eq!(normalize_name(Ecosystem::PyPI, "Foo__-.Bar"), "foo-bar");
    // Debian and Alpine names are left as they are.
    assert_eq!(
        normalize_name(Ecosystem::Debian, "libstdc++6"),
        "libstdc++6"
    );
    assert_eq!(normalize_name(Ecosystem::Alpine, "py3-pip"), "py3-pip");
}
