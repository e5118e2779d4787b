//! Static validation of a pushed image: what can be decided from its manifest and config
//! alone, before a byte of a layer is read. Every rule gives one line of the report, passed
//! or failed with the reason, so an author sees all problems of a push at once.

use keynet_domain::entities::projects::TaskType;
use keynet_domain::entities::trainer_versions::{Check, CheckStatus};
use keynet_domain::jobs::trainers::check_export_formats;
use keynet_hyperparameters::{HyperParameter, HyperParameterSchema};
use oci_spec::image::{ImageConfiguration, ImageManifest};
use std::collections::HashMap;

pub const LABEL_TASK_TYPES: &str = "ai.keynet.trainer.task-types";
pub const LABEL_FRAMEWORKS: &str = "ai.keynet.trainer.frameworks";
pub const LABEL_EXPORT_FORMATS: &str = "ai.keynet.trainer.export-formats";
/// A JSON array of `{name, type, default, required, help, choices}`, for images pushed
/// without an upload key (which carries the hyperparameters itself).
pub const LABEL_HYPERPARAMETERS: &str = "ai.keynet.trainer.hyperparameters";

const MAX_LAYERS: usize = 127;
const MAX_LAYER_BYTES: i64 = 8 << 30;
const MAX_IMAGE_BYTES: i64 = 20 << 30;

/// What a passed validation learned about the image.
#[derive(Debug)]
pub struct ImageFacts {
    /// The image id executors run (`sha256:…` of the config).
    pub config_digest: String,
    pub task_types: Vec<TaskType>,
    pub frameworks: Vec<String>,
    pub export_formats: Vec<String>,
    /// From the label, when the version does not declare its own.
    pub hyperparameters: Option<HyperParameterSchema>,
}

pub struct Validation {
    pub checks: Vec<Check>,
    /// `Some` when nothing failed.
    pub facts: Option<ImageFacts>,
}

fn passed(name: &str, message: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        status: CheckStatus::Passed,
        message: message.into(),
    }
}

fn failed(name: &str, message: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        status: CheckStatus::Failed,
        message: message.into(),
    }
}

/// Validates `manifest` and the `config` blob it names. `declared` is the schema the
/// version was requested with (empty for a plain push).
pub fn validate(
    manifest: &ImageManifest,
    config: &[u8],
    declared: &HyperParameterSchema,
) -> Validation {
    let mut checks = vec![passed("manifest", "the manifest parses")];
    checks.push(size_check(manifest));
    let parsed = match ImageConfiguration::from_reader(config) {
        Ok(parsed) => {
            checks.push(passed("config", "the image config parses"));
            parsed
        }
        Err(e) => {
            checks.push(failed(
                "config",
                format!("the image config does not parse: {e}"),
            ));
            return Validation {
                checks,
                facts: None,
            };
        }
    };
    checks.push(platform_check(&parsed));
    let runtime = parsed.config().clone().unwrap_or_default();
    let has_command = runtime.entrypoint().as_ref().is_some_and(|e| !e.is_empty())
        || runtime.cmd().as_ref().is_some_and(|c| !c.is_empty());
    checks.push(if has_command {
        passed("entrypoint", "the image has an entrypoint or a command")
    } else {
        failed(
            "entrypoint",
            "the image has neither ENTRYPOINT nor CMD: nothing would run",
        )
    });
    let labels = runtime.labels().clone().unwrap_or_default();
    let (label_check, task_types, frameworks, export_formats) = label_check(&labels);
    checks.push(label_check);
    let (schema_check, hyperparameters) = hyperparameter_check(&labels, declared);
    checks.push(schema_check);

    let ok = checks.iter().all(|c| c.status != CheckStatus::Failed);
    let facts = ok.then(|| ImageFacts {
        config_digest: manifest.config().digest().to_string(),
        task_types,
        frameworks,
        export_formats,
        hyperparameters,
    });
    Validation { checks, facts }
}

fn size_check(manifest: &ImageManifest) -> Check {
    let layers = manifest.layers();
    if layers.len() > MAX_LAYERS {
        return failed(
            "size",
            format!("{} layers; at most {MAX_LAYERS} are accepted", layers.len()),
        );
    }
    if let Some((index, layer)) = layers
        .iter()
        .enumerate()
        .find(|(_, layer)| layer.size() as i64 > MAX_LAYER_BYTES)
    {
        return failed(
            "size",
            format!(
                "layer {} ({}) has {} bytes; at most {MAX_LAYER_BYTES} per layer",
                index + 1,
                layer.digest(),
                layer.size()
            ),
        );
    }
    let total: i64 = layers.iter().map(|l| l.size() as i64).sum();
    if total > MAX_IMAGE_BYTES {
        return failed(
            "size",
            format!("the layers total {total} bytes; at most {MAX_IMAGE_BYTES}"),
        );
    }
    passed(
        "size",
        format!("{} layers, {total} bytes compressed", layers.len()),
    )
}

fn platform_check(config: &ImageConfiguration) -> Check {
    let os = config.os().to_string();
    let architecture = config.architecture().to_string();
    if os == "linux" && (architecture == "amd64" || architecture == "arm64") {
        passed("platform", format!("{os}/{architecture}"))
    } else {
        failed(
            "platform",
            format!("{os}/{architecture}: trainers run on linux/amd64 or linux/arm64"),
        )
    }
}

/// Comma-separated label values, trimmed, empty items dropped.
fn list(labels: &HashMap<String, String>, name: &str) -> Vec<String> {
    labels
        .get(name)
        .map(|value| {
            value
                .split(',')
                .map(|item| item.trim().to_ascii_lowercase())
                .filter(|item| !item.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn label_check(
    labels: &HashMap<String, String>,
) -> (Check, Vec<TaskType>, Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut task_types = Vec::new();
    for name in list(labels, LABEL_TASK_TYPES) {
        match serde_json::from_value::<TaskType>(serde_json::Value::String(name.clone())) {
            Ok(task_type) if !task_types.contains(&task_type) => task_types.push(task_type),
            Ok(_) => {}
            Err(_) => problems.push(format!(
                "{LABEL_TASK_TYPES}: unknown task type {name:?} (classification, detection, segmentation, pose)"
            )),
        }
    }
    if task_types.is_empty() && problems.is_empty() {
        problems.push(format!(
            "label {LABEL_TASK_TYPES} is missing: name the task types the trainer solves"
        ));
    }
    let frameworks = list(labels, LABEL_FRAMEWORKS);
    if frameworks.is_empty() {
        problems.push(format!(
            "label {LABEL_FRAMEWORKS} is missing: name the frameworks (e.g. pytorch)"
        ));
    }
    let export_formats = match check_export_formats(list(labels, LABEL_EXPORT_FORMATS)) {
        Ok(formats) => formats,
        Err(e) => {
            problems.push(format!("{LABEL_EXPORT_FORMATS}: {e}"));
            Vec::new()
        }
    };
    let check = if problems.is_empty() {
        passed(
            "labels",
            format!(
                "task types {}; frameworks {}; export formats {}",
                list(labels, LABEL_TASK_TYPES).join(", "),
                frameworks.join(", "),
                if export_formats.is_empty() {
                    "none".to_string()
                } else {
                    export_formats.join(", ")
                }
            ),
        )
    } else {
        failed("labels", problems.join("; "))
    };
    (check, task_types, frameworks, export_formats)
}

fn hyperparameter_check(
    labels: &HashMap<String, String>,
    declared: &HyperParameterSchema,
) -> (Check, Option<HyperParameterSchema>) {
    const NAME: &str = "hyperparameters";
    let Some(label) = labels.get(LABEL_HYPERPARAMETERS) else {
        let count = declared.0.len();
        return (
            passed(NAME, format!("{count} declared with the upload")),
            None,
        );
    };
    if !declared.0.is_empty() {
        return (
            passed(
                NAME,
                format!(
                    "{} declared with the upload (the {LABEL_HYPERPARAMETERS} label is ignored)",
                    declared.0.len()
                ),
            ),
            None,
        );
    }
    let parsed = serde_json::from_str::<Vec<HyperParameter>>(label)
        .map_err(|e| format!("{LABEL_HYPERPARAMETERS} is not a JSON array of parameters: {e}"))
        .and_then(|parameters| {
            HyperParameterSchema::checked(parameters)
                .map_err(|e| format!("{LABEL_HYPERPARAMETERS}: {e}"))
        });
    match parsed {
        Ok(schema) => (
            passed(NAME, format!("{} declared by label", schema.0.len())),
            Some(schema),
        ),
        Err(message) => (failed(NAME, message), None),
    }
}
