//! `keynet vulndb import`: OSV zips and folders read record by record, broken records
//! reported and skipped, unusable sources refused.

use keynet_scan::Error;
use keynet_scan::vuln::source::MAX_RECORD_BYTES;
use keynet_scan::vuln::{AdvisorySource, Record};
use std::io::Write;
use std::path::Path;
use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, ZipWriter};

fn fixture_json(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/osv/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).expect("fixture exists")
}

/// Every item: `Ok(Ok(record))`, `Ok(Err(broken record))`; fatal errors fail the test.
fn read_all(path: &Path) -> (Vec<Record>, Vec<Error>) {
    let mut source = AdvisorySource::open(path).expect("opens");
    let mut records = Vec::new();
    let mut broken = Vec::new();
    for item in source.records() {
        match item.expect("no fatal error") {
            Ok(record) => records.push(record),
            Err(error) => broken.push(error),
        }
    }
    (records, broken)
}

fn write_zip(path: &Path, entries: &[(&str, CompressionMethod, &[u8])]) {
    let mut zip = ZipWriter::new(std::fs::File::create(path).expect("create zip"));
    for (name, method, body) in entries {
        if name.ends_with('/') {
            zip.add_directory(*name, SimpleFileOptions::default())
                .expect("directory");
            continue;
        }
        let options = SimpleFileOptions::default()
            .compression_method(*method)
            .large_file(body.len() as u64 > u32::MAX as u64);
        zip.start_file(*name, options).expect("start file");
        zip.write_all(body).expect("write");
    }
    zip.finish().expect("finish zip");
}

#[test]
fn zip_records_come_one_by_one_and_a_broken_one_is_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("all.zip");
    let dsa = fixture_json("DSA-5514-1");
    let ghsa = fixture_json("GHSA-3f63-hfp8-52jq");
    let alpine = fixture_json("ALPINE-CVE-2023-5363");
    write_zip(
        &path,
        &[
            ("DSA-5514-1.json", CompressionMethod::Deflated, dsa.as_bytes()),
            ("broken.json", CompressionMethod::Deflated, b"{\"id\": \"GHSA-half\", \"modif"),
            ("nested/", CompressionMethod::Stored, b""),
            ("README.txt", CompressionMethod::Stored, b"not an advisory"),
            ("nested/ALPINE-CVE-2023-5363.JSON", CompressionMethod::Stored, alpine.as_bytes()),
            ("no-events.json", CompressionMethod::Stored, br#"{"id": "X", "modified": "2024-01-01T00:00:00Z", "affected": [{"ranges": [{"type": "ECOSYSTEM", "events": [{}]}]}]}"#),
            ("GHSA-3f63-hfp8-52jq.json", CompressionMethod::Deflated, ghsa.as_bytes()),
        ],
    );
    let source = AdvisorySource::open(&path).expect("opens");
    assert_eq!(source.len(), 7);
    let (records, broken) = read_all(&path);
    let files: Vec<&str> = records.iter().map(|r| r.file.as_str()).collect();
    assert_eq!(
        files,
        [
            "DSA-5514-1.json",
            "nested/ALPINE-CVE-2023-5363.JSON",
            "GHSA-3f63-hfp8-52jq.json"
        ]
    );
    assert_eq!(records[0].advisory.id, "DSA-5514-1");
    assert_eq!(records[0].json, dsa, "the record as read, for storage");
    assert_eq!(records[2].advisory.id, "GHSA-3f63-hfp8-52jq");
    let messages: Vec<String> = broken.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages[0].starts_with("advisory broken.json: EOF while parsing"),
        "{}",
        messages[0]
    );
    assert!(
        messages[1].starts_with(
            "advisory no-events.json: affected[0].ranges[0].events[0]: a range event has none"
        ),
        "{}",
        messages[1]
    );
    assert!(
        broken
            .iter()
            .all(|e| matches!(e, Error::InvalidAdvisory { .. }))
    );
}

#[test]
fn a_corrupt_zip_entry_spoils_only_that_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("all.zip");
    let ghsa = fixture_json("GHSA-3f63-hfp8-52jq");
    let marker = r#"{"id": "CORRUPT-ME", "modified": "2024-01-01T00:00:00Z"}"#;
    write_zip(
        &path,
        &[
            ("a.json", CompressionMethod::Stored, marker.as_bytes()),
            ("b.json", CompressionMethod::Stored, ghsa.as_bytes()),
        ],
    );
    // Flip one byte of the first entry's data: its CRC no longer matches.
    let mut bytes = std::fs::read(&path).expect("read zip");
    let at = bytes
        .windows(10)
        .position(|w| w == b"CORRUPT-ME")
        .expect("marker stored uncompressed");
    bytes[at] = b'X';
    std::fs::write(&path, bytes).expect("write zip");

    let (records, broken) = read_all(&path);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].advisory.id, "GHSA-3f63-hfp8-52jq");
    match broken.as_slice() {
        [Error::InvalidAdvisory { file, why }] => {
            assert_eq!(file, "a.json");
            assert!(why.to_lowercase().contains("checksum"), "{why}");
        }
        other => panic!("expected one broken record, got {other:?}"),
    }
}

#[test]
fn an_oversized_record_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut huge = vec![b' '; (MAX_RECORD_BYTES + 1) as usize];
    huge[0] = b'{';
    let expected = format!("advisory huge.json: larger than {MAX_RECORD_BYTES} bytes");
    // In a zip, by the size its header declares.
    let zip_path = dir.path().join("all.zip");
    write_zip(
        &zip_path,
        &[("huge.json", CompressionMethod::Stored, &huge)],
    );
    let (records, broken) = read_all(&zip_path);
    assert!(records.is_empty());
    assert_eq!(broken[0].to_string(), expected);
    // In a folder, by reading one byte past the limit.
    let folder = dir.path().join("folder");
    std::fs::create_dir(&folder).expect("mkdir");
    std::fs::write(folder.join("huge.json"), &huge).expect("write");
    let (records, broken) = read_all(&folder);
    assert!(records.is_empty());
    assert_eq!(broken[0].to_string(), expected);
}

#[test]
fn folders_are_walked_recursively_in_path_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("PyPI/nested")).expect("mkdir");
    std::fs::create_dir_all(root.join("Debian")).expect("mkdir");
    std::fs::write(
        root.join("Debian/DSA-5514-1.json"),
        fixture_json("DSA-5514-1"),
    )
    .expect("write");
    std::fs::write(
        root.join("PyPI/nested/GHSA-3f63-hfp8-52jq.json"),
        fixture_json("GHSA-3f63-hfp8-52jq"),
    )
    .expect("write");
    std::fs::write(root.join("PyPI/broken.json"), "[1, 2").expect("write");
    std::fs::write(root.join("PyPI/notes.md"), "# not an advisory").expect("write");
    std::fs::write(root.join("PyPI/not-utf8.json"), [0xff, 0xfe, b'{']).expect("write");

    assert_eq!(AdvisorySource::open(root).expect("opens").len(), 4);
    let (records, broken) = read_all(root);
    let files: Vec<String> = records.iter().map(|r| r.file.replace('\\', "/")).collect();
    assert_eq!(
        files,
        [
            "Debian/DSA-5514-1.json",
            "PyPI/nested/GHSA-3f63-hfp8-52jq.json"
        ]
    );
    let messages: Vec<String> = broken.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages[0].starts_with("advisory PyPI/broken.json: "),
        "{}",
        messages[0]
    );
    assert!(
        messages[1].starts_with("advisory PyPI/not-utf8.json: not UTF-8"),
        "{}",
        messages[1]
    );
}

#[test]
fn what_is_neither_a_zip_nor_a_folder_is_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = dir.path().join("all.zip");
    std::fs::write(&text, "this is not a zip").expect("write");
    for path in [text, dir.path().join("missing.zip")] {
        let error = AdvisorySource::open(&path).err().expect("refused");
        assert!(matches!(error, Error::AdvisorySource { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .starts_with(&format!("cannot read advisories from {}", path.display()))
        );
    }
    let not_a_zip = AdvisorySource::open(&dir.path().join("all.zip"))
        .err()
        .expect("refused");
    assert!(
        not_a_zip
            .to_string()
            .contains("neither a folder nor a zip archive"),
        "{not_a_zip}"
    );
}

#[test]
fn an_empty_folder_has_no_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut source = AdvisorySource::open(dir.path()).expect("opens");
    assert!(source.is_empty());
    assert!(source.records().next().is_none());
}
