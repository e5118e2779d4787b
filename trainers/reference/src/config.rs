//! Job configuration from the environment and command line (trainer contract,
//! "Configuration"). Basic values resolve as: individual variable > `CONFIG` JSON (top
//! level, then its `hyperparameters`, which command-line flags overlay) > legacy
//! `CONFIG_*` variable > default. Reading goes through a lookup function rather than
//! `std::env` so tests never mutate the process environment.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::failure::Failure;

pub const DEFAULT_EPOCHS: u32 = 10;
pub const DEFAULT_BATCH_SIZE: u32 = 16;
pub const DEFAULT_LEARNING_RATE: f64 = 0.1;
pub const DEFAULT_IMGSZ: u32 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Training,
    Inference,
    Export,
    /// The marketplace's compliance run: the training flow on a tiny dataset.
    Validation,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Training => "training",
            JobKind::Inference => "inference",
            JobKind::Export => "export",
            JobKind::Validation => "validation",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub job_id: String,
    pub job_kind: JobKind,
    pub task_type: String,
    pub framework: String,
    pub model_name: String,
    pub dataset_id: String,
    pub epochs: u32,
    pub batch_size: u32,
    pub learning_rate: f64,
    pub imgsz: u32,
    pub device: String,
    pub advanced_config: Map<String, Value>,
    pub primary_metric: Option<String>,
    /// `CONFIG.hyperparameters` overlaid with `--name value` flags; names use `_` for `-`.
    pub hyperparameters: Map<String, Value>,
    /// `EXPORT_FORMAT` > `advanced_config.format`; `None` when neither is given.
    pub export_format: Option<String>,
    pub input_dir: PathBuf,
    pub output_dir: PathBuf,
    pub events_path: PathBuf,
    /// Where each basic value came from, for the configuration log line.
    pub sources: BTreeMap<&'static str, &'static str>,
    /// Oddities noticed while reading (ignored arguments), logged once events can be written.
    pub notes: Vec<String>,
}

/// The events file, read on its own: it is needed to report a configuration error.
pub fn events_path(env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    path_var(env, "KEYNET_EVENTS", "/keynet/events.jsonl")
}

fn path_var(env: &dyn Fn(&str) -> Option<String>, name: &str, default: &str) -> PathBuf {
    PathBuf::from(non_empty(env, name).unwrap_or_else(|| default.to_string()))
}

fn non_empty(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name)
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

impl Config {
    /// Reads the real process environment and arguments.
    pub fn from_process() -> Result<Self, Failure> {
        let env = |name: &str| std::env::var(name).ok();
        Self::from_sources(&env, std::env::args().skip(1))
    }

    pub fn from_sources(
        env: &dyn Fn(&str) -> Option<String>,
        args: impl IntoIterator<Item = String>,
    ) -> Result<Self, Failure> {
        let mut notes = Vec::new();
        let config_json = parse_config_json(env)?;
        let advanced_config = object_field(&config_json, "advanced_config")?;
        let mut hyperparameters = normalize_keys(object_field(&config_json, "hyperparameters")?);
        for (name, value) in parse_flags(args, &mut notes) {
            hyperparameters.insert(name, Value::String(value));
        }
        let primary_metric = match config_json.get("primary_metric") {
            None | Some(Value::Null) => None,
            Some(Value::String(metric)) if metric.trim().is_empty() => None,
            Some(Value::String(metric)) => Some(metric.trim().to_string()),
            Some(other) => {
                return Err(Failure::config(format!(
                    "CONFIG.primary_metric must be a string, got {other}"
                )));
            }
        };

        let mut sources = BTreeMap::new();
        let lookup = Lookup {
            env,
            config: &config_json,
            hyper: &hyperparameters,
        };
        let epochs = lookup.resolve(&mut sources, &EPOCHS, parse_positive_int)?;
        let batch_size = lookup.resolve(&mut sources, &BATCH_SIZE, parse_positive_int)?;
        let learning_rate = lookup.resolve(&mut sources, &LEARNING_RATE, parse_positive_float)?;
        let imgsz = lookup.resolve(&mut sources, &IMGSZ, parse_positive_int)?;
        let device = lookup.resolve(&mut sources, &DEVICE, parse_string)?;

        let job_kind = match non_empty(env, "JOB_KIND").map(|kind| kind.to_ascii_lowercase()) {
            None => JobKind::Training,
            Some(kind) => match kind.as_str() {
                "training" | "train" => JobKind::Training,
                "inference" => JobKind::Inference,
                "export" => JobKind::Export,
                "validation" => JobKind::Validation,
                _ => {
                    return Err(Failure::config(format!(
                        "JOB_KIND must be training, inference, export or validation, got {kind:?}"
                    )));
                }
            },
        };
        let export_format = non_empty(env, "EXPORT_FORMAT").or_else(|| {
            advanced_config
                .get("format")
                .and_then(Value::as_str)
                .map(str::to_string)
        });

        Ok(Self {
            job_id: non_empty(env, "JOB_ID").unwrap_or_else(|| "local".to_string()),
            job_kind,
            task_type: non_empty(env, "TASK_TYPE")
                .map(|task| task.to_ascii_lowercase())
                .unwrap_or_else(|| "classification".to_string()),
            framework: non_empty(env, "FRAMEWORK").unwrap_or_else(|| "custom".to_string()),
            model_name: non_empty(env, "MODEL_NAME")
                .unwrap_or_else(|| "softmax-regression".to_string()),
            dataset_id: non_empty(env, "DATASET_ID").unwrap_or_default(),
            epochs,
            batch_size,
            learning_rate,
            imgsz,
            device,
            advanced_config,
            primary_metric,
            hyperparameters,
            export_format,
            input_dir: path_var(env, "KEYNET_INPUT_DIR", "/keynet/input"),
            output_dir: path_var(env, "KEYNET_OUTPUT_DIR", "/keynet/output"),
            events_path: events_path(env),
            sources,
            notes,
        })
    }

    /// A hyperparameter as an unsigned integer (JSON number or numeric string).
    pub fn hyper_u64(&self, name: &str, default: u64) -> Result<u64, Failure> {
        match self.hyperparameters.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(value) => json_u64(value).ok_or_else(|| {
                Failure::config(format!(
                    "hyperparameter {name} must be a non-negative integer, got {value}"
                ))
            }),
        }
    }
}

/// One basic value: its variable, its keys in `CONFIG`, its legacy variable, its default.
struct Basic<T: 'static> {
    name: &'static str,
    var: &'static str,
    json_keys: &'static [&'static str],
    legacy: Option<&'static str>,
    default: fn() -> T,
}

const EPOCHS: Basic<u32> = Basic {
    name: "epochs",
    var: "EPOCHS",
    json_keys: &["epochs"],
    legacy: Some("CONFIG_EPOCHS"),
    default: || DEFAULT_EPOCHS,
};
const BATCH_SIZE: Basic<u32> = Basic {
    name: "batch_size",
    var: "BATCH_SIZE",
    json_keys: &["batch_size", "batch"],
    legacy: Some("CONFIG_BATCH"),
    default: || DEFAULT_BATCH_SIZE,
};
const LEARNING_RATE: Basic<f64> = Basic {
    name: "learning_rate",
    var: "LEARNING_RATE",
    json_keys: &["learning_rate", "lr0", "lr"],
    legacy: Some("CONFIG_LR0"),
    default: || DEFAULT_LEARNING_RATE,
};
const IMGSZ: Basic<u32> = Basic {
    name: "imgsz",
    var: "IMGSZ",
    json_keys: &["imgsz", "image_size"],
    legacy: Some("CONFIG_IMGSZ"),
    default: || DEFAULT_IMGSZ,
};
const DEVICE: Basic<String> = Basic {
    name: "device",
    var: "DEVICE",
    json_keys: &["device"],
    legacy: None,
    default: || "cpu".to_string(),
};

struct Lookup<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    config: &'a Map<String, Value>,
    hyper: &'a Map<String, Value>,
}

impl Lookup<'_> {
    fn resolve<T>(
        &self,
        sources: &mut BTreeMap<&'static str, &'static str>,
        basic: &Basic<T>,
        parse: fn(&Value) -> Option<T>,
    ) -> Result<T, Failure> {
        let invalid = |origin: &str, value: &Value| {
            Failure::config(format!("{origin} has an invalid {}: {value}", basic.name))
        };
        if let Some(raw) = non_empty(self.env, basic.var) {
            let value = Value::String(raw);
            sources.insert(basic.name, basic.var);
            return parse(&value).ok_or_else(|| invalid(basic.var, &value));
        }
        for (origin, map) in [
            ("CONFIG", self.config),
            ("CONFIG.hyperparameters", self.hyper),
        ] {
            if let Some(value) = basic.json_keys.iter().find_map(|key| map.get(*key)) {
                if value.is_null() {
                    continue;
                }
                sources.insert(basic.name, origin);
                return parse(value).ok_or_else(|| invalid(origin, value));
            }
        }
        if let Some(legacy) = basic.legacy
            && let Some(raw) = non_empty(self.env, legacy)
        {
            let value = Value::String(raw);
            sources.insert(basic.name, legacy);
            return parse(&value).ok_or_else(|| invalid(legacy, &value));
        }
        sources.insert(basic.name, "default");
        Ok((basic.default)())
    }
}

fn parse_config_json(env: &dyn Fn(&str) -> Option<String>) -> Result<Map<String, Value>, Failure> {
    let Some(raw) = non_empty(env, "CONFIG") else {
        return Ok(Map::new());
    };
    match serde_json::from_str::<Value>(&raw) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(other) => Err(Failure::config(format!(
            "CONFIG must be a JSON object, got {other}"
        ))),
        Err(error) => Err(Failure::config(format!(
            "CONFIG is not valid JSON: {error}"
        ))),
    }
}

fn object_field(config: &Map<String, Value>, name: &str) -> Result<Map<String, Value>, Failure> {
    match config.get(name) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(other) => Err(Failure::config(format!(
            "CONFIG.{name} must be a JSON object, got {other}"
        ))),
    }
}

/// Flag names and JSON names meet in one spelling: `sleep-ms-per-epoch` = `sleep_ms_per_epoch`.
fn normalize_name(name: &str) -> String {
    name.trim().replace('-', "_")
}

fn normalize_keys(map: Map<String, Value>) -> Map<String, Value> {
    map.into_iter()
        .map(|(key, value)| (normalize_name(&key), value))
        .collect()
}

/// `--name value`, `--name=value`, or a bare `--name` (then `"true"`).
fn parse_flags(
    args: impl IntoIterator<Item = String>,
    notes: &mut Vec<String>,
) -> Vec<(String, String)> {
    let mut flags = Vec::new();
    let mut args = args.into_iter().peekable();
    while let Some(arg) = args.next() {
        let Some(flag) = arg.strip_prefix("--").filter(|flag| !flag.is_empty()) else {
            notes.push(format!("ignored command-line argument {arg:?}"));
            continue;
        };
        let (name, value) = match flag.split_once('=') {
            Some((name, value)) => (name.to_string(), value.to_string()),
            None => {
                let takes_next = args.peek().is_some_and(|next| !next.starts_with("--"));
                let value = if takes_next { args.next() } else { None };
                (
                    flag.to_string(),
                    value.unwrap_or_else(|| "true".to_string()),
                )
            }
        };
        flags.push((normalize_name(&name), value));
    }
    flags
}

fn json_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64().or_else(|| {
            number
                .as_f64()
                .filter(|float| float.fract() == 0.0 && *float >= 0.0 && *float < 1e15)
                .map(|float| float as u64)
        }),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn json_f64(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn parse_positive_int(value: &Value) -> Option<u32> {
    json_u64(value)
        .and_then(|int| u32::try_from(int).ok())
        .filter(|int| *int > 0)
}

fn parse_positive_float(value: &Value) -> Option<f64> {
    json_f64(value).filter(|float| float.is_finite() && *float > 0.0)
}

fn parse_string(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.trim().to_string()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)], args: &[&str]) -> Result<Config, Failure> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        let env = move |name: &str| vars.get(name).cloned();
        Config::from_sources(&env, args.iter().map(|arg| arg.to_string()))
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let config = config(&[], &[]).expect("config");
        assert_eq!(config.job_kind, JobKind::Training);
        assert_eq!(config.task_type, "classification");
        assert_eq!(config.epochs, DEFAULT_EPOCHS);
        assert_eq!(config.batch_size, DEFAULT_BATCH_SIZE);
        assert_eq!(config.learning_rate, DEFAULT_LEARNING_RATE);
        assert_eq!(config.imgsz, DEFAULT_IMGSZ);
        assert_eq!(config.device, "cpu");
        assert_eq!(config.input_dir, PathBuf::from("/keynet/input"));
        assert_eq!(config.output_dir, PathBuf::from("/keynet/output"));
        assert_eq!(config.events_path, PathBuf::from("/keynet/events.jsonl"));
        assert_eq!(config.sources["epochs"], "default");
    }

    #[test]
    fn individual_variable_beats_config_json_beats_legacy() {
        let json = r#"{"epochs": 5, "batch_size": 8, "lr0": 0.5, "imgsz": 24}"#;
        let all = config(
            &[
                ("EPOCHS", "3"),
                ("CONFIG", json),
                ("CONFIG_EPOCHS", "7"),
                ("CONFIG_BATCH", "2"),
                ("CONFIG_LR0", "0.01"),
                ("CONFIG_IMGSZ", "32"),
            ],
            &[],
        )
        .expect("config");
        assert_eq!(all.epochs, 3, "individual variable wins");
        assert_eq!(all.sources["epochs"], "EPOCHS");
        assert_eq!(all.batch_size, 8, "CONFIG beats legacy");
        assert_eq!(all.learning_rate, 0.5);
        assert_eq!(all.imgsz, 24);
        assert_eq!(all.sources["imgsz"], "CONFIG");

        let legacy = config(
            &[
                ("CONFIG", r#"{"primary_metric": "val_loss"}"#),
                ("CONFIG_EPOCHS", "7"),
                ("CONFIG_BATCH", "2"),
                ("CONFIG_LR0", "0.01"),
                ("CONFIG_IMGSZ", "32"),
            ],
            &[],
        )
        .expect("config");
        assert_eq!(
            (
                legacy.epochs,
                legacy.batch_size,
                legacy.learning_rate,
                legacy.imgsz
            ),
            (7, 2, 0.01, 32)
        );
        assert_eq!(legacy.sources["batch_size"], "CONFIG_BATCH");
        assert_eq!(legacy.primary_metric.as_deref(), Some("val_loss"));
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let config = config(&[("EPOCHS", " "), ("CONFIG_EPOCHS", "4")], &[]).expect("config");
        assert_eq!(config.epochs, 4);
    }

    #[test]
    fn hyperparameters_from_json_and_flags_flags_win() {
        let config = config(
            &[(
                "CONFIG",
                r#"{"hyperparameters": {"seed": 3, "sleep-ms-per-epoch": 10, "epochs": 6},
                    "advanced_config": {"format": "onnx"}}"#,
            )],
            &["stray", "--seed", "7", "--top-k=2", "--verbose"],
        )
        .expect("config");
        assert_eq!(config.hyper_u64("seed", 0), Ok(7));
        assert_eq!(config.hyper_u64("sleep_ms_per_epoch", 0), Ok(10));
        assert_eq!(config.hyper_u64("top_k", 5), Ok(2));
        assert_eq!(config.hyperparameters["verbose"], "true");
        assert_eq!(config.hyper_u64("missing", 9), Ok(9));
        assert_eq!(
            config.epochs, 6,
            "a basic value in CONFIG.hyperparameters counts"
        );
        assert_eq!(config.export_format.as_deref(), Some("onnx"));
        assert_eq!(config.notes.len(), 1, "the stray argument is noted");
        assert!(config.hyper_u64("verbose", 0).is_err());
    }

    #[test]
    fn export_format_variable_beats_advanced_config() {
        let config = config(
            &[
                ("EXPORT_FORMAT", "tflite"),
                ("CONFIG", r#"{"advanced_config": {"format": "onnx"}}"#),
            ],
            &[],
        )
        .expect("config");
        assert_eq!(config.export_format.as_deref(), Some("tflite"));
    }

    #[test]
    fn invalid_values_are_config_failures() {
        for vars in [
            vec![("EPOCHS", "many")],
            vec![("EPOCHS", "0")],
            vec![("LEARNING_RATE", "-1")],
            vec![("CONFIG", "{not json")],
            vec![("CONFIG", "[1]")],
            vec![("CONFIG", r#"{"advanced_config": 3}"#)],
            vec![("CONFIG", r#"{"batch_size": "lots"}"#)],
            vec![("JOB_KIND", "dreaming")],
        ] {
            let error = config(&vars, &[]).expect_err("must fail");
            assert_eq!(error.error_type, "config", "{vars:?}");
        }
    }

    #[test]
    fn job_kinds_and_paths() {
        let config = config(
            &[
                ("JOB_KIND", "Export"),
                ("TASK_TYPE", "Detection"),
                ("KEYNET_INPUT_DIR", "/in"),
                ("KEYNET_OUTPUT_DIR", "/out"),
                ("KEYNET_EVENTS", "/ev.jsonl"),
            ],
            &[],
        )
        .expect("config");
        assert_eq!(config.job_kind, JobKind::Export);
        assert_eq!(config.task_type, "detection");
        assert_eq!(config.input_dir, PathBuf::from("/in"));
        assert_eq!(config.output_dir, PathBuf::from("/out"));
        assert_eq!(config.events_path, PathBuf::from("/ev.jsonl"));
    }
}
