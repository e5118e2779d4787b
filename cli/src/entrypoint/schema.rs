//! The server's checks of a declared hyperparameter (`HyperParameterSchema::checked` in
//! `domain/src/hyperparameters.rs`), applied before sending so that a parameter the server
//! would refuse is skipped with its reason instead of failing the whole push. The limits
//! must stay equal to the server's.

use super::{HyperParameter, ParamType};
use serde_json::Value;

pub(super) const MAX_PARAMETERS: usize = 200;
const MAX_NAME: usize = 64;
const MAX_HELP: usize = 1000;
const MAX_CHOICES: usize = 100;
const MAX_STRING_VALUE: usize = 4096;

/// The help as the server accepts it: a help longer than the server's limit is cut (with
/// an ellipsis) rather than losing the parameter over its documentation.
pub(super) fn fit_help(help: String) -> String {
    if help.chars().count() <= MAX_HELP {
        return help;
    }
    let mut cut: String = help.chars().take(MAX_HELP - 1).collect();
    cut.push('…');
    cut
}

/// Whether `name` can be declared, as the server checks it: usable as `--name`.
pub(super) fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a name the platform accepts (letters, digits, _ and -, \
             starting with a letter or _, at most {MAX_NAME} characters)"
        ))
    }
}

/// The per-parameter checks of the server, on a parameter whose default and choices are
/// already of its type (see [`value_of_type`]).
pub(super) fn check(parameter: &HyperParameter) -> Result<(), String> {
    check_name(&parameter.name)?;
    if parameter.choices.len() > MAX_CHOICES {
        return Err(format!("it has more than {MAX_CHOICES} choices"));
    }
    for choice in &parameter.choices {
        value_of_type(parameter.param_type, choice)
            .map_err(|reason| format!("a choice {reason}"))?;
    }
    if let Some(default) = &parameter.default {
        value_of_type(parameter.param_type, default)
            .map_err(|reason| format!("its default {reason}"))?;
        if !parameter.choices.is_empty() && !parameter.choices.contains(default) {
            return Err(format!("its default {default} is not one of its choices"));
        }
    }
    Ok(())
}

/// Whether `value` is a JSON value of `param_type` as the server stores it.
fn value_of_type(param_type: ParamType, value: &Value) -> Result<(), String> {
    let fits = match (param_type, value) {
        (ParamType::Str, Value::String(s)) => {
            if s.chars().count() > MAX_STRING_VALUE {
                return Err(format!(
                    "{value} is longer than {MAX_STRING_VALUE} characters"
                ));
            }
            true
        }
        (ParamType::Int, Value::Number(n)) => n.is_i64(),
        (ParamType::Float, Value::Number(n)) => n.as_f64().is_some_and(f64::is_finite),
        (ParamType::Bool, Value::Bool(_)) => true,
        _ => false,
    };
    if fits {
        Ok(())
    } else {
        Err(format!("{value} is not of type {param_type:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parameter(
        param_type: ParamType,
        default: Option<Value>,
        choices: Vec<Value>,
    ) -> HyperParameter {
        HyperParameter {
            name: "x".into(),
            param_type,
            default,
            required: false,
            help: None,
            choices,
            switch: false,
        }
    }

    #[test]
    fn names_the_server_accepts() {
        for name in ["lr", "batch-size", "_private", "x1", &"a".repeat(64)] {
            assert_eq!(check_name(name), Ok(()), "{name}");
        }
        for name in [
            "",
            "1cycle",
            "-x",
            "model.name",
            "ä",
            "a b",
            &"a".repeat(65),
        ] {
            assert!(check_name(name).is_err(), "{name}");
        }
    }

    #[test]
    fn defaults_and_choices_must_be_of_the_type() {
        use ParamType::*;
        assert!(check(&parameter(Int, Some(json!(3)), vec![])).is_ok());
        assert!(check(&parameter(Float, Some(json!(3)), vec![])).is_ok());
        assert!(check(&parameter(Int, Some(json!(0.5)), vec![])).is_err());
        assert!(check(&parameter(Str, Some(json!(1)), vec![])).is_err());
        assert!(check(&parameter(Bool, Some(json!("true")), vec![])).is_err());
        assert!(check(&parameter(Str, None, vec![json!("a"), json!(1)])).is_err());
        assert!(check(&parameter(Str, Some(json!("x".repeat(4097))), vec![])).is_err());
    }

    #[test]
    fn a_default_must_be_among_the_choices() {
        let choices = vec![json!("sgd"), json!("adam")];
        assert!(
            check(&parameter(
                ParamType::Str,
                Some(json!("adam")),
                choices.clone()
            ))
            .is_ok()
        );
        let error = check(&parameter(ParamType::Str, Some(json!("lamb")), choices))
            .expect_err("not a choice");
        assert_eq!(error, "its default \"lamb\" is not one of its choices");
    }

    #[test]
    fn a_long_help_is_cut_to_the_limit() {
        assert_eq!(fit_help("short".into()), "short");
        let exact = "h".repeat(MAX_HELP);
        assert_eq!(fit_help(exact.clone()), exact);
        let cut = fit_help("é".repeat(MAX_HELP + 1));
        assert_eq!(cut.chars().count(), MAX_HELP);
        assert!(cut.ends_with("é…"));
    }

    #[test]
    fn too_many_choices() {
        let many = (0..=MAX_CHOICES as i64).map(Value::from).collect();
        assert!(check(&parameter(ParamType::Int, None, many)).is_err());
    }
}
