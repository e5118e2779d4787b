//! The image labels Keynet's validation reads: task types (from the project the push is
//! for), frameworks (given, or recognised in `requirements.txt`) and export formats.

use std::collections::{BTreeSet, HashMap};

pub const TASK_TYPES: &str = "ai.keynet.trainer.task-types";
pub const FRAMEWORKS: &str = "ai.keynet.trainer.frameworks";
pub const EXPORT_FORMATS: &str = "ai.keynet.trainer.export-formats";

/// Packages that tell which framework a trainer uses.
const FRAMEWORK_PACKAGES: &[(&str, &str)] = &[
    ("torch", "pytorch"),
    ("torchvision", "pytorch"),
    ("ultralytics", "pytorch"),
    ("timm", "pytorch"),
    ("lightning", "pytorch"),
    ("pytorch-lightning", "pytorch"),
    ("tensorflow", "tensorflow"),
    ("tensorflow-cpu", "tensorflow"),
    ("keras", "tensorflow"),
    ("jax", "jax"),
    ("flax", "jax"),
    ("paddlepaddle", "paddle"),
    ("paddlepaddle-gpu", "paddle"),
    ("mxnet", "mxnet"),
];

/// The labels to build with. Empty lists add no label, so one the Dockerfile sets stays.
pub fn trainer_labels(
    task_type: &str,
    frameworks: &[String],
    export_formats: &[String],
) -> HashMap<String, String> {
    let mut labels = HashMap::from([(TASK_TYPES.to_string(), task_type.to_ascii_lowercase())]);
    for (name, values) in [(FRAMEWORKS, frameworks), (EXPORT_FORMATS, export_formats)] {
        let values: Vec<String> = values
            .iter()
            .map(|value| value.trim().to_ascii_lowercase())
            .filter(|value| !value.is_empty())
            .collect();
        if !values.is_empty() {
            labels.insert(name.to_string(), values.join(","));
        }
    }
    labels
}

/// The frameworks a `requirements.txt` names, in a stable order.
pub fn frameworks_in_requirements(requirements: &str) -> Vec<String> {
    let found: BTreeSet<&str> = requirements
        .lines()
        .filter_map(requirement_name)
        .filter_map(|name| {
            FRAMEWORK_PACKAGES
                .iter()
                .find(|(package, _)| *package == name)
                .map(|(_, framework)| *framework)
        })
        .collect();
    found.into_iter().map(str::to_string).collect()
}

/// The normalised project name a requirement line starts with (PEP 503: lowercase, runs
/// of `-_.` as `-`); `None` for comments, options (`-r`, `--index-url`) and URLs.
fn requirement_name(line: &str) -> Option<String> {
    let line = line.split('#').next()?.trim();
    if line.is_empty() || line.starts_with('-') || line.contains("://") {
        return None;
    }
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(line.len());
    let mut name = String::with_capacity(end);
    for c in line[..end].chars() {
        if matches!(c, '-' | '_' | '.') {
            if !name.ends_with('-') {
                name.push('-');
            }
        } else {
            name.push(c.to_ascii_lowercase());
        }
    }
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frameworks_are_recognised_in_requirements() {
        let requirements = "\
# training
torch==2.3.1 ; python_version >= '3.10'
Torch_Vision>=0.18
-r base.txt
--extra-index-url https://download.pytorch.org/whl/cu121
numpy
tensorflow-cpu~=2.16
git+https://github.com/example/tool.git
";
        assert_eq!(
            frameworks_in_requirements(requirements),
            vec!["pytorch".to_string(), "tensorflow".to_string()]
        );
        assert!(frameworks_in_requirements("numpy\npillow\n").is_empty());
    }

    #[test]
    fn labels_carry_what_is_known_and_leave_out_what_is_not() {
        let labels = trainer_labels("DETECTION", &["PyTorch".into()], &[]);
        assert_eq!(labels[TASK_TYPES], "detection");
        assert_eq!(labels[FRAMEWORKS], "pytorch");
        assert!(!labels.contains_key(EXPORT_FORMATS));
        let labels = trainer_labels("POSE", &[], &["onnx".into(), " TFLite ".into()]);
        assert!(!labels.contains_key(FRAMEWORKS));
        assert_eq!(labels[EXPORT_FORMATS], "onnx,tflite");
    }
}
