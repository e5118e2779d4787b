//! The checks as the server runs them (moved from the domain with the declarations), and
//! the per-declaration refusals `keynet-train` words for the arguments it skips.

use super::*;
use serde_json::{Value, json};

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
    error.field
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

#[test]
fn names_usable_as_flags() {
    for name in ["lr", "batch-size", "_private", "x1", &"a".repeat(MAX_NAME)] {
        assert_eq!(check_name(name), Ok(()), "{name}");
    }
    for name in [
        "",
        "1cycle",
        "-x",
        "model.name",
        "ä",
        "a b",
        &"a".repeat(MAX_NAME + 1),
    ] {
        assert_eq!(check_name(name), Err(Refusal::InvalidName), "{name}");
    }
}

fn parameter(param_type: ParamType, default: Option<Value>, choices: Vec<Value>) -> HyperParameter {
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
fn each_refusal_of_a_declaration() {
    use ParamType::*;
    assert_eq!(parameter(Int, Some(json!(3)), vec![]).check(), Ok(()));
    assert_eq!(parameter(Float, Some(json!(3)), vec![]).check(), Ok(()));
    assert_eq!(
        parameter(Int, Some(json!(0.5)), vec![]).check(),
        Err(Refusal::Default {
            default: json!(0.5),
            error: ValueError::WrongType {
                expected: Int,
                found: "a fractional number".into()
            }
        })
    );
    assert_eq!(
        parameter(Str, None, vec![json!("a"), json!(1)]).check(),
        Err(Refusal::Choice {
            choice: json!(1),
            error: ValueError::WrongType {
                expected: Str,
                found: "an integer".into()
            }
        })
    );
    let long = json!("x".repeat(MAX_STRING_VALUE + 1));
    assert_eq!(
        parameter(Str, Some(long.clone()), vec![]).check(),
        Err(Refusal::Default {
            default: long,
            error: ValueError::TooLong
        })
    );
    let many = (0..=MAX_CHOICES as i64).map(Value::from).collect();
    assert_eq!(
        parameter(Int, None, many).check(),
        Err(Refusal::TooManyChoices)
    );
    let choices = vec![json!("sgd"), json!("adam")];
    assert_eq!(
        parameter(Str, Some(json!("adam")), choices.clone()).check(),
        Ok(())
    );
    assert_eq!(
        parameter(Str, Some(json!("lamb")), choices).check(),
        Err(Refusal::DefaultNotAChoice {
            default: json!("lamb")
        })
    );
    let helpful = HyperParameter {
        help: Some("h".repeat(MAX_HELP + 1)),
        ..parameter(Int, None, vec![])
    };
    assert_eq!(helpful.check(), Err(Refusal::HelpTooLong));
}

#[test]
fn the_server_names_the_parameter_in_its_message() {
    let message = |declared: Value| {
        let parameters: Vec<HyperParameter> = serde_json::from_value(declared).expect("json");
        let error = HyperParameterSchema::checked(parameters).expect_err("refused");
        assert_eq!(error.field, "hyperparameters");
        error.message
    };
    assert_eq!(
        message(json!([{"name": "a b", "type": "int"}])),
        "\"a b\" is not a valid parameter name (letters, digits, _ and -, at most 64)"
    );
    assert_eq!(
        message(json!([{"name": "x", "type": "int"}, {"name": "x", "type": "str"}])),
        "x is declared twice"
    );
    assert_eq!(
        message(json!([{"name": "n", "type": "int", "default": "many"}])),
        "the default of n: expected an integer, got \"many\""
    );
    assert_eq!(
        message(json!([{"name": "n", "type": "int", "choices": [1, true]}])),
        "a choice of n: expected an integer, got a boolean"
    );
    assert_eq!(
        message(json!([{"name": "opt", "type": "str", "default": "c", "choices": ["a", "b"]}])),
        "the default of opt is not one of its choices"
    );
}
