//! What a job runs with: its values checked against the version's schema, and the flags
//! they reach the trainer as.

use crate::error::Error;
use crate::schema::HyperParameterSchema;
use crate::value::{coerce, in_choices};
use serde_json::{Map, Value};

impl HyperParameterSchema {
    /// The values a job runs with: each given value checked against its declaration,
    /// defaults filled in, required ones present, undeclared names refused. A bad value
    /// names its field as `hyperparameters.<name>`.
    pub fn resolve(&self, given: &Value) -> Result<Map<String, Value>, Error> {
        let given = match given {
            Value::Null => Map::new(),
            Value::Object(map) => map.clone(),
            _ => {
                return Err(Error::new(
                    "hyperparameters",
                    "must be an object of name → value",
                ));
            }
        };
        if let Some(unknown) = given.keys().find(|k| !self.0.iter().any(|p| &p.name == *k)) {
            return Err(Error::new(
                format!("hyperparameters.{unknown}"),
                format!("the trainer does not declare a hyperparameter {unknown:?}"),
            ));
        }
        let mut resolved = Map::new();
        for parameter in &self.0 {
            let field = || format!("hyperparameters.{}", parameter.name);
            let value = match given.get(&parameter.name).filter(|v| !v.is_null()) {
                Some(value) => coerce(parameter.param_type, value)
                    .map_err(|reason| Error::new(field(), reason))?,
                None => match parameter.default.as_ref().filter(|d| !d.is_null()) {
                    Some(default) => coerce(parameter.param_type, default)
                        .map_err(|reason| Error::new(field(), reason))?,
                    None if parameter.required => {
                        return Err(Error::new(field(), "is required"));
                    }
                    None => continue,
                },
            };
            if !parameter.choices.is_empty() && !in_choices(parameter, &value) {
                let choices: Vec<String> = parameter.choices.iter().map(Value::to_string).collect();
                return Err(Error::new(
                    field(),
                    format!("must be one of {}", choices.join(", ")),
                ));
            }
            resolved.insert(parameter.name.clone(), value);
        }
        Ok(resolved)
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
