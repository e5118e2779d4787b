//! How a trainer's schema changed between two versions, so a job author sees which of
//! their values a new version no longer accepts.

use crate::schema::{HyperParameter, HyperParameterSchema};
use crate::value::coerce;
use serde_json::Value;

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

/// What changed from `previous` to `current`: the current schema's parameters in its order
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
