//! Property tests of what a pushed manifest and image config go through before any layer is
//! read: for any bytes, and for valid documents with arbitrary labels, entrypoints and
//! platforms, validation never panics, always reports every check once, and passes exactly
//! when each rule holds.

use keynet_hyperparameters::HyperParameterSchema;
use keynet_marketplace::validation::{LABEL_FRAMEWORKS, LABEL_TASK_TYPES, validate};
use oci_spec::image::ImageManifest;
use proptest::prelude::*;
use serde_json::json;

const CHECKS: [&str; 7] = [
    "manifest",
    "size",
    "config",
    "platform",
    "entrypoint",
    "labels",
    "hyperparameters",
];

fn manifest(layers: usize) -> ImageManifest {
    let digest = format!("sha256:{}", "a".repeat(64));
    let layers: Vec<_> = (0..layers)
        .map(|_| json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": 10, "digest": digest}))
        .collect();
    let document = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 10, "digest": digest},
        "layers": layers,
    });
    ImageManifest::from_reader(document.to_string().as_bytes()).expect("a valid manifest")
}

proptest! {
    /// Any bytes as the config: a report, never a panic; bytes that are not a config fail
    /// the `config` check and nothing is learned.
    #[test]
    fn any_config_bytes_get_a_report(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let outcome = validate(&manifest(1), &bytes, &HyperParameterSchema::default());
        prop_assert!(outcome.checks.iter().any(|c| c.name == "config"));
        if serde_json::from_slice::<serde_json::Value>(&bytes).is_err() {
            prop_assert!(outcome.facts.is_none());
        }
    }

    /// Valid configs: the version passes exactly when the platform is linux/amd64 or arm64,
    /// there is something to run, and both required labels name known values.
    #[test]
    fn the_verdict_follows_the_rules(
        os in prop::sample::select(vec!["linux", "windows", "darwin"]),
        arch in prop::sample::select(vec!["amd64", "arm64", "386", "riscv64"]),
        entrypoint in prop::option::of(prop::collection::vec("[a-z/]{1,8}", 0..3)),
        task in prop::option::of(prop::sample::select(vec!["classification", "detection", "poetry", ""])),
        framework in prop::option::of("[a-z]{0,8}"),
        layers in 0usize..200,
    ) {
        let mut labels = serde_json::Map::new();
        if let Some(task) = task {
            labels.insert(LABEL_TASK_TYPES.into(), json!(task));
        }
        if let Some(framework) = &framework {
            labels.insert(LABEL_FRAMEWORKS.into(), json!(framework));
        }
        let config = json!({
            "architecture": arch,
            "os": os,
            "config": {"Entrypoint": entrypoint, "Labels": labels},
            "rootfs": {"type": "layers", "diff_ids": []},
        });
        let outcome = validate(
            &manifest(layers),
            config.to_string().as_bytes(),
            &HyperParameterSchema::default(),
        );
        let names: Vec<&str> = outcome.checks.iter().map(|c| c.name.as_str()).collect();
        for name in CHECKS {
            prop_assert_eq!(names.iter().filter(|n| **n == name).count(), 1, "{:?}", names);
        }
        let should_pass = os == "linux"
            && (arch == "amd64" || arch == "arm64")
            && entrypoint.as_ref().is_some_and(|e| !e.is_empty())
            && matches!(task, Some("classification" | "detection"))
            && framework.as_ref().is_some_and(|f| !f.is_empty())
            && layers <= 127;
        prop_assert_eq!(outcome.facts.is_some(), should_pass, "{:?}", outcome.checks);
    }
}
