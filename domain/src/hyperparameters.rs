//! Hyperparameters a trainer declares (extracted from its argparse by `keynet-train`, or
//! given at registration) and the check of a job's values against them. A bad value names
//! its field as `hyperparameters.<name>`.

use crate::error::{Error, Result};
use sea_orm::FromJsonQueryResult;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashSet;

const MAX_PARAMETERS: usize = 200;
const MAX_NAME: usize = 64;
const MAX_HELP: usize = 1000;
const MAX_CHOICES: usize = 100;
const MAX_STRING_VALUE: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    Str,
    Int,
    Float,
    Bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HyperParameter {
    pub name: String,
    #[serde(rename = "type")]
    pub param_type: ParamType,
    #[serde(default)]
    pub default: Option<Value>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub help: Option<String>,
    #[serde(default)]
    pub choices: Vec<Value>,
    /// A BOOL given to the trainer as a bare `--name` when true and not at all when false,
    /// as argparse's `store_true` expects.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub switch: bool,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, FromJsonQueryResult)]
pub struct HyperParameterSchema(pub Vec<HyperParameter>);

impl HyperParameterSchema {
    /// Checks a declared schema: names usable as `--flags`, unique; defaults and choices of
    /// the declared type; a default among the choices.
    pub fn checked(parameters: Vec<HyperParameter>) -> Result<Self> {
        const FIELD: &str = "hyperparameters";
        if parameters.len() > MAX_PARAMETERS {
            return Err(Error::invalid(
                FIELD,
                format!("at most {MAX_PARAMETERS} parameters"),
            ));
        }
        let mut seen = HashSet::new();
        for parameter in &parameters {
            let name = &parameter.name;
            let valid_name = !name.is_empty()
                && name.len() <= MAX_NAME
                && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid_name {
                return Err(Error::invalid(
                    FIELD,
                    format!(
                        "{name:?} is not a valid parameter name (letters, digits, _ and -, at most {MAX_NAME})"
                    ),
                ));
            }
            if !seen.insert(name.as_str()) {
                return Err(Error::invalid(FIELD, format!("{name} is declared twice")));
            }
            if parameter
                .help
                .as_ref()
                .is_some_and(|h| h.chars().count() > MAX_HELP)
            {
                return Err(Error::invalid(
                    FIELD,
                    format!("the help of {name} is too long"),
                ));
            }
            if parameter.switch && parameter.param_type != ParamType::Bool {
                return Err(Error::invalid(
                    FIELD,
                    format!("{name} is a switch, so its type must be BOOL"),
                ));
            }
            if parameter.choices.len() > MAX_CHOICES {
                return Err(Error::invalid(
                    FIELD,
                    format!("{name} has more than {MAX_CHOICES} choices"),
                ));
            }
            for choice in &parameter.choices {
                coerce(parameter.param_type, choice).map_err(|reason| {
                    Error::invalid(FIELD, format!("a choice of {name}: {reason}"))
                })?;
            }
            if let Some(default) = parameter.default.as_ref().filter(|d| !d.is_null()) {
                let default = coerce(parameter.param_type, default).map_err(|reason| {
                    Error::invalid(FIELD, format!("the default of {name}: {reason}"))
                })?;
                if !parameter.choices.is_empty() && !in_choices(parameter, &default) {
                    return Err(Error::invalid(
                        FIELD,
                        format!("the default of {name} is not one of its choices"),
                    ));
                }
            }
        }
        Ok(Self(parameters))
    }

    /// The declaration of `name`, if any.
    pub fn get(&self, name: &str) -> Option<&HyperParameter> {
        self.0.iter().find(|p| p.name == name)
    }

    /// The values a job runs with: each given value checked against its declaration,
    /// defaults filled in, required ones present, undeclared names refused.
    pub fn resolve(&self, given: &Value) -> Result<Map<String, Value>> {
        let given = match given {
            Value::Null => Map::new(),
            Value::Object(map) => map.clone(),
            _ => {
                return Err(Error::invalid(
                    "hyperparameters",
                    "must be an object of name → value",
                ));
            }
        };
        if let Some(unknown) = given.keys().find(|k| !self.0.iter().any(|p| &p.name == *k)) {
            return Err(Error::invalid(
                format!("hyperparameters.{unknown}"),
                format!("the trainer does not declare a hyperparameter {unknown:?}"),
            ));
        }
        let mut resolved = Map::new();
        for parameter in &self.0 {
            let field = || format!("hyperparameters.{}", parameter.name);
            let value = match given.get(&parameter.name).filter(|v| !v.is_null()) {
                Some(value) => coerce(parameter.param_type, value)
                    .map_err(|reason| Error::invalid(field(), reason))?,
                None => match parameter.default.as_ref().filter(|d| !d.is_null()) {
                    Some(default) => coerce(parameter.param_type, default)
                        .map_err(|reason| Error::invalid(field(), reason))?,
                    None if parameter.required => {
                        return Err(Error::invalid(field(), "is required"));
                    }
                    None => continue,
                },
            };
            if !parameter.choices.is_empty() && !in_choices(parameter, &value) {
                let choices: Vec<String> = parameter.choices.iter().map(Value::to_string).collect();
                return Err(Error::invalid(
                    field(),
                    format!("must be one of {}", choices.join(", ")),
                ));
            }
            resolved.insert(parameter.name.clone(), value);
        }
        Ok(resolved)
    }
}

/// How one parameter differs between two versions of a trainer's schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Removed,
    /// The declared type changed; `DefaultChanged` is then not reported as well, since a
    /// default of another type differs anyway.
    TypeChanged,
    DefaultChanged,
    RequiredChanged,
}

/// One difference between two schemas, with the parameter's declaration on each side.
#[derive(Clone, Debug, PartialEq)]
pub struct ParameterChange {
    pub name: String,
    pub kind: ChangeKind,
    /// `None` when added.
    pub previous: Option<HyperParameter>,
    /// `None` when removed.
    pub current: Option<HyperParameter>,
}

/// What changed from `previous` to `current`, so a job author sees which of their values a
/// new trainer version no longer accepts: the current schema's parameters in its order
/// (added or changed), then the removed ones in the previous order.
pub fn changes(
    previous: &HyperParameterSchema,
    current: &HyperParameterSchema,
) -> Vec<ParameterChange> {
    let mut out = Vec::new();
    for parameter in &current.0 {
        let before = previous.get(&parameter.name);
        let kinds = match before {
            None => vec![ChangeKind::Added],
            Some(before) => declaration_changes(before, parameter),
        };
        out.extend(kinds.into_iter().map(|kind| ParameterChange {
            name: parameter.name.clone(),
            kind,
            previous: before.cloned(),
            current: Some(parameter.clone()),
        }));
    }
    let removed = previous.0.iter().filter(|p| current.get(&p.name).is_none());
    out.extend(removed.map(|parameter| ParameterChange {
        name: parameter.name.clone(),
        kind: ChangeKind::Removed,
        previous: Some(parameter.clone()),
        current: None,
    }));
    out
}

/// The changes of a parameter declared on both sides.
fn declaration_changes(before: &HyperParameter, after: &HyperParameter) -> Vec<ChangeKind> {
    let mut kinds = Vec::new();
    if before.param_type != after.param_type {
        kinds.push(ChangeKind::TypeChanged);
    } else if typed_default(before) != typed_default(after) {
        kinds.push(ChangeKind::DefaultChanged);
    }
    if before.required != after.required {
        kinds.push(ChangeKind::RequiredChanged);
    }
    kinds
}

/// The default as a job would receive it: `"0.1"` and `0.1` are the same float default,
/// `null` is no default.
fn typed_default(parameter: &HyperParameter) -> Option<Value> {
    let default = parameter.default.as_ref().filter(|d| !d.is_null())?;
    Some(coerce(parameter.param_type, default).unwrap_or_else(|_| default.clone()))
}

fn in_choices(parameter: &HyperParameter, value: &Value) -> bool {
    parameter
        .choices
        .iter()
        .filter_map(|choice| coerce(parameter.param_type, choice).ok())
        .any(|choice| &choice == value)
}

/// The value as its declared type. Numbers given as strings are accepted (form fields and
/// CLI flags are text); a float is not silently truncated to an int.
fn coerce(param_type: ParamType, value: &Value) -> std::result::Result<Value, String> {
    match (param_type, value) {
        (ParamType::Str, Value::String(s)) if s.chars().count() <= MAX_STRING_VALUE => {
            Ok(value.clone())
        }
        (ParamType::Str, Value::String(_)) => Err(format!("at most {MAX_STRING_VALUE} characters")),
        (ParamType::Int, Value::Number(n)) if n.is_i64() => Ok(value.clone()),
        (ParamType::Int, Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("expected an integer, got {s:?}")),
        (ParamType::Float, Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Value::from)
            .ok_or_else(|| "expected a finite number".to_string()),
        (ParamType::Float, Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Value::from)
            .ok_or_else(|| format!("expected a number, got {s:?}")),
        (ParamType::Bool, Value::Bool(_)) => Ok(value.clone()),
        (ParamType::Bool, Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(Value::Bool(true)),
            "false" | "0" | "no" => Ok(Value::Bool(false)),
            _ => Err(format!("expected true or false, got {s:?}")),
        },
        (expected, other) => Err(format!(
            "expected {}, got {}",
            type_name(expected),
            kind_of(other)
        )),
    }
}

fn type_name(param_type: ParamType) -> &'static str {
    match param_type {
        ParamType::Str => "a string",
        ParamType::Int => "an integer",
        ParamType::Float => "a number",
        ParamType::Bool => "true or false",
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a fractional number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The values as command-line flags (`--name value`), as the trainer contract passes them;
/// a switch of `schema` is a bare `--name` when true and absent when false.
pub fn as_flags(values: &Map<String, Value>, schema: &HyperParameterSchema) -> Vec<String> {
    let mut flags = Vec::with_capacity(values.len() * 2);
    for (name, value) in values {
        if schema.get(name).is_some_and(|p| p.switch) {
            if value == &Value::Bool(true) {
                flags.push(format!("--{name}"));
            }
            continue;
        }
        flags.push(format!("--{name}"));
        flags.push(match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> HyperParameterSchema {
        let parameters: Vec<HyperParameter> = serde_json::from_value(json!([
            {"name": "lr", "type": "float", "default": 0.01},
            {"name": "layers", "type": "int", "required": true},
            {"name": "optimizer", "type": "str", "default": "sgd", "choices": ["sgd", "adam"]},
            {"name": "augment", "type": "bool", "default": false},
        ]))
        .expect("schema json");
        HyperParameterSchema::checked(parameters).expect("valid schema")
    }

    fn field_of(error: Error) -> String {
        match error {
            Error::InvalidInput { field, .. } => field.into_owned(),
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[test]
    fn defaults_fill_in_and_given_values_are_typed() {
        let resolved = schema()
            .resolve(&json!({"layers": "3", "augment": "yes"}))
            .expect("valid");
        assert_eq!(resolved["layers"], json!(3));
        assert_eq!(resolved["augment"], json!(true));
        assert_eq!(resolved["lr"], json!(0.01));
        assert_eq!(resolved["optimizer"], json!("sgd"));
    }

    #[test]
    fn each_bad_value_names_its_field() {
        let s = schema();
        assert_eq!(
            field_of(s.resolve(&json!({})).expect_err("refused")),
            "hyperparameters.layers"
        );
        assert_eq!(
            field_of(s.resolve(&json!({"layers": 2.5})).expect_err("refused")),
            "hyperparameters.layers"
        );
        assert_eq!(
            field_of(
                s.resolve(&json!({"layers": 2, "optimizer": "rmsprop"}))
                    .expect_err("refused")
            ),
            "hyperparameters.optimizer"
        );
        assert_eq!(
            field_of(
                s.resolve(&json!({"layers": 2, "lr": "fast"}))
                    .expect_err("refused")
            ),
            "hyperparameters.lr"
        );
        assert_eq!(
            field_of(
                s.resolve(&json!({"layers": 2, "dropout": 0.1}))
                    .expect_err("refused")
            ),
            "hyperparameters.dropout"
        );
        assert_eq!(
            field_of(s.resolve(&json!([1])).expect_err("refused")),
            "hyperparameters"
        );
    }

    #[test]
    fn malformed_declarations_are_refused() {
        for bad in [
            json!([{"name": "a b", "type": "int"}]),
            json!([{"name": "x", "type": "int"}, {"name": "x", "type": "str"}]),
            json!([{"name": "x", "type": "int", "default": "many"}]),
            json!([{"name": "x", "type": "str", "default": "c", "choices": ["a", "b"]}]),
        ] {
            let parameters: Vec<HyperParameter> = serde_json::from_value(bad).expect("json");
            assert!(HyperParameterSchema::checked(parameters).is_err());
        }
    }

    fn declared(parameters: Value) -> HyperParameterSchema {
        HyperParameterSchema(serde_json::from_value(parameters).expect("schema json"))
    }

    fn kinds(changes: &[ParameterChange]) -> Vec<(&str, ChangeKind)> {
        changes.iter().map(|c| (c.name.as_str(), c.kind)).collect()
    }

    #[test]
    fn changes_name_added_removed_and_retyped_parameters() {
        let previous = schema();
        let current = declared(json!([
            {"name": "lr", "type": "str", "default": "0.01"},
            {"name": "layers", "type": "str", "required": false},
            {"name": "dropout", "type": "float", "default": 0.1},
            {"name": "augment", "type": "bool", "default": false},
        ]));
        let found = changes(&previous, &current);
        assert_eq!(
            kinds(&found),
            [
                ("lr", ChangeKind::TypeChanged),
                ("layers", ChangeKind::TypeChanged),
                ("layers", ChangeKind::RequiredChanged),
                ("dropout", ChangeKind::Added),
                ("optimizer", ChangeKind::Removed),
            ]
        );
        let retyped = &found[0];
        assert_eq!(
            retyped.previous.as_ref().map(|p| p.param_type),
            Some(ParamType::Float)
        );
        assert_eq!(
            retyped.current.as_ref().map(|p| p.param_type),
            Some(ParamType::Str)
        );
        assert!(found[3].previous.is_none() && found[4].current.is_none());
    }

    #[test]
    fn changes_of_defaults_and_required_compare_typed_values() {
        let current = declared(json!([
            {"name": "lr", "type": "float", "default": "0.01"},
            {"name": "layers", "type": "int", "required": false, "default": 3},
            {"name": "optimizer", "type": "str", "default": "adam", "choices": ["sgd", "adam"]},
            {"name": "augment", "type": "bool", "default": null},
        ]));
        assert_eq!(
            kinds(&changes(&schema(), &current)),
            [
                ("layers", ChangeKind::DefaultChanged),
                ("layers", ChangeKind::RequiredChanged),
                ("optimizer", ChangeKind::DefaultChanged),
                ("augment", ChangeKind::DefaultChanged),
            ]
        );
    }

    #[test]
    fn identical_and_empty_schemas_have_no_changes() {
        assert!(changes(&schema(), &schema()).is_empty());
        let empty = HyperParameterSchema::default();
        assert!(changes(&empty, &empty).is_empty());
        assert_eq!(changes(&empty, &schema()).len(), 4);
        assert_eq!(changes(&schema(), &empty).len(), 4);
    }

    #[test]
    fn flags_follow_the_contract() {
        let resolved = schema().resolve(&json!({"layers": 2})).expect("valid");
        let flags = as_flags(&resolved, &schema());
        assert!(flags.windows(2).any(|w| w == ["--layers", "2"]));
        assert!(flags.windows(2).any(|w| w == ["--optimizer", "sgd"]));
        assert!(flags.windows(2).any(|w| w == ["--augment", "false"]));
    }

    #[test]
    fn a_switch_is_a_bare_flag_when_true_and_absent_when_false() {
        let switched: Vec<HyperParameter> = serde_json::from_value(json!([
            {"name": "amp", "type": "bool", "default": false, "switch": true},
            {"name": "lr", "type": "float", "default": 0.1},
        ]))
        .expect("a schema");
        let schema = HyperParameterSchema::checked(switched).expect("valid");
        let off = schema.resolve(&json!({})).expect("valid");
        assert_eq!(as_flags(&off, &schema), ["--lr", "0.1"]);
        let on = schema.resolve(&json!({"amp": true})).expect("valid");
        assert_eq!(as_flags(&on, &schema), ["--amp", "--lr", "0.1"]);
    }

    #[test]
    fn only_a_bool_can_be_a_switch() {
        let wrong: Vec<HyperParameter> = serde_json::from_value(json!([
            {"name": "lr", "type": "float", "switch": true},
        ]))
        .expect("a declaration");
        let error = HyperParameterSchema::checked(wrong).expect_err("refused");
        assert!(error.to_string().contains("must be BOOL"), "{error}");
    }
}
