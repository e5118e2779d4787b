//! A value as its declared type: the one conversion behind every check of a default, a
//! choice or a job's value.

use crate::MAX_STRING_VALUE;
use crate::schema::{HyperParameter, ParamType};
use serde_json::Value;

/// Why a value is not one of its declared type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// A STR longer than [`MAX_STRING_VALUE`] characters.
    #[error("at most {MAX_STRING_VALUE} characters")]
    TooLong,
    #[error("expected a finite number")]
    NotFinite,
    /// `found` is the text given (quoted) when it does not parse, else the kind of value.
    #[error("expected {}, got {found}", type_name(.expected))]
    WrongType { expected: ParamType, found: String },
}

/// The value as its declared type. Numbers given as strings are accepted (form fields and
/// CLI flags are text); a float is not silently truncated to an int.
pub(crate) fn coerce(param_type: ParamType, value: &Value) -> Result<Value, ValueError> {
    let wrong = |found: String| ValueError::WrongType {
        expected: param_type,
        found,
    };
    match (param_type, value) {
        (ParamType::Str, Value::String(s)) if s.chars().count() <= MAX_STRING_VALUE => {
            Ok(value.clone())
        }
        (ParamType::Str, Value::String(_)) => Err(ValueError::TooLong),
        (ParamType::Int, Value::Number(n)) if n.is_i64() => Ok(value.clone()),
        (ParamType::Int, Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| wrong(format!("{s:?}"))),
        (ParamType::Float, Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Value::from)
            .ok_or(ValueError::NotFinite),
        (ParamType::Float, Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Value::from)
            .ok_or_else(|| wrong(format!("{s:?}"))),
        (ParamType::Bool, Value::Bool(_)) => Ok(value.clone()),
        (ParamType::Bool, Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(Value::Bool(true)),
            "false" | "0" | "no" => Ok(Value::Bool(false)),
            _ => Err(wrong(format!("{s:?}"))),
        },
        (_, other) => Err(wrong(kind_of(other).to_string())),
    }
}

/// Whether `value`, already of the parameter's type, is one of its choices.
pub(crate) fn in_choices(parameter: &HyperParameter, value: &Value) -> bool {
    parameter
        .choices
        .iter()
        .filter_map(|choice| coerce(parameter.param_type, choice).ok())
        .any(|choice| &choice == value)
}

fn type_name(param_type: &ParamType) -> &'static str {
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
