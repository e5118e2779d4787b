//! The declarations and the platform's checks of them.

use crate::error::Error;
use crate::value::{ValueError, coerce, in_choices};
use crate::{MAX_CHOICES, MAX_HELP, MAX_NAME, MAX_PARAMETERS};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;

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

// The sea-orm derive sits behind a feature rather than on a newtype in the domain's entity:
// with it the entity's column is the schema itself, so the call sites
// (`version.hyperparameters.resolve(…)`, `Set(schema)`, `.0.iter()`) need no wrapping or
// unwrapping, while keynet-train, which never enables the feature, builds without sea-orm.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "sea-orm", derive(sea_orm::FromJsonQueryResult))]
pub struct HyperParameterSchema(pub Vec<HyperParameter>);

/// Why the platform refuses one declaration on its own, whatever else the schema declares.
/// The server words it naming the parameter ([`HyperParameterSchema::checked`]);
/// `keynet-train` words it for the argument it skips.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
    /// Not usable as `--name`: letters, digits, `_` and `-`, starting with a letter or `_`,
    /// at most [`MAX_NAME`].
    InvalidName,
    /// A help longer than [`MAX_HELP`] characters.
    HelpTooLong,
    /// A switch whose type is not BOOL.
    SwitchNotBool,
    /// More than [`MAX_CHOICES`] choices.
    TooManyChoices,
    /// A choice that is not a value of the declared type.
    Choice { choice: Value, error: ValueError },
    /// A default that is not a value of the declared type.
    Default { default: Value, error: ValueError },
    /// A default, of the declared type, that is not one of the choices.
    DefaultNotAChoice { default: Value },
}

impl Refusal {
    /// The server's message for the refusal of the parameter `name`.
    fn message(&self, name: &str) -> String {
        match self {
            Refusal::InvalidName => format!(
                "{name:?} is not a valid parameter name (letters, digits, _ and -, at most {MAX_NAME})"
            ),
            Refusal::HelpTooLong => format!("the help of {name} is too long"),
            Refusal::SwitchNotBool => format!("{name} is a switch, so its type must be BOOL"),
            Refusal::TooManyChoices => format!("{name} has more than {MAX_CHOICES} choices"),
            Refusal::Choice { error, .. } => format!("a choice of {name}: {error}"),
            Refusal::Default { error, .. } => format!("the default of {name}: {error}"),
            Refusal::DefaultNotAChoice { .. } => {
                format!("the default of {name} is not one of its choices")
            }
        }
    }
}

/// Whether `name` can be declared: usable as a `--name` flag.
pub fn check_name(name: &str) -> Result<(), Refusal> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(Refusal::InvalidName)
    }
}

impl HyperParameter {
    /// The checks of this declaration alone: a usable name, a help of bounded length, a
    /// switch only for a BOOL, choices and a default of the declared type, a default among
    /// the choices. The first that fails is the refusal.
    pub fn check(&self) -> Result<(), Refusal> {
        check_name(&self.name)?;
        if self
            .help
            .as_ref()
            .is_some_and(|h| h.chars().count() > MAX_HELP)
        {
            return Err(Refusal::HelpTooLong);
        }
        if self.switch && self.param_type != ParamType::Bool {
            return Err(Refusal::SwitchNotBool);
        }
        if self.choices.len() > MAX_CHOICES {
            return Err(Refusal::TooManyChoices);
        }
        for choice in &self.choices {
            coerce(self.param_type, choice).map_err(|error| Refusal::Choice {
                choice: choice.clone(),
                error,
            })?;
        }
        if let Some(default) = self.default.as_ref().filter(|d| !d.is_null()) {
            let typed = coerce(self.param_type, default).map_err(|error| Refusal::Default {
                default: default.clone(),
                error,
            })?;
            if !self.choices.is_empty() && !in_choices(self, &typed) {
                return Err(Refusal::DefaultNotAChoice {
                    default: default.clone(),
                });
            }
        }
        Ok(())
    }
}

impl HyperParameterSchema {
    /// Checks a declared schema: at most [`MAX_PARAMETERS`], names unique, and each
    /// declaration as [`HyperParameter::check`] wants it. Refusals name the field
    /// `hyperparameters`.
    pub fn checked(parameters: Vec<HyperParameter>) -> Result<Self, Error> {
        const FIELD: &str = "hyperparameters";
        if parameters.len() > MAX_PARAMETERS {
            return Err(Error::new(
                FIELD,
                format!("at most {MAX_PARAMETERS} parameters"),
            ));
        }
        let mut seen = HashSet::new();
        for parameter in &parameters {
            let name = &parameter.name;
            // A name seen before passed `check_name` at its first declaration, so looking
            // for duplicates before the checks gives the answer the name check would.
            if !seen.insert(name.as_str()) {
                return Err(Error::new(FIELD, format!("{name} is declared twice")));
            }
            parameter
                .check()
                .map_err(|refusal| Error::new(FIELD, refusal.message(name)))?;
        }
        Ok(Self(parameters))
    }

    /// The declaration of `name`, if any.
    pub fn get(&self, name: &str) -> Option<&HyperParameter> {
        self.0.iter().find(|p| p.name == name)
    }
}
