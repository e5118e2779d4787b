//! Keeps `docs/trainer-contract.md`, what trainer authors read, true to the code: its events,
//! their fields, which are required, their types and its examples are put through the
//! relay's own check, and its hyperparameter example through the code that makes the flags.
//! The document's tables and its tagged code blocks (```` ```json contract:… ````) are what
//! is read here.

use super::{EventKind, check};
use keynet_hyperparameters::{HyperParameter, HyperParameterSchema, as_flags};
use sea_orm::Iterable;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

const DOCUMENT: &str = include_str!("../../../../docs/trainer-contract.md");

const EVENT_FIELDS: &str = "| event | field | required | type | what Keynet does with it |";
const COMMON_FIELDS: &str = "| field | required | meaning |";

/// A row of the document's table of event fields.
#[derive(Debug)]
struct Field {
    event: String,
    name: String,
    required: bool,
    /// The type as the document names it.
    kind: String,
    /// False for the fields the document marks "(not checked)".
    checked: bool,
}

/// The rows of the table with this header line, as cells without their backticks.
fn table(header: &str) -> Vec<Vec<String>> {
    let mut lines = DOCUMENT.lines().skip_while(|line| *line != header);
    assert!(lines.next().is_some(), "the document has no table {header}");
    lines
        .skip(1) // the `| --- |` line
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().replace('`', ""))
                .collect()
        })
        .collect()
}

/// The text of the code block tagged `tag` in its info string.
fn block(tag: &str) -> String {
    let mut lines = DOCUMENT.lines().skip_while(|line| {
        !(line.starts_with("```") && line.split_whitespace().any(|word| word == tag))
    });
    assert!(lines.next().is_some(), "the document has no block {tag}");
    lines
        .take_while(|line| *line != "```")
        .collect::<Vec<_>>()
        .join("\n")
}

fn fields() -> Vec<Field> {
    table(EVENT_FIELDS)
        .into_iter()
        .map(|cells| {
            let [event, name, required, kind, _effect] = &cells[..] else {
                panic!("a row of the event fields has five cells: {cells:?}");
            };
            let (kind, checked) = match kind.strip_suffix(" (not checked)") {
                Some(kind) => (kind, false),
                None => (kind.as_str(), true),
            };
            Field {
                event: event.clone(),
                name: name.clone(),
                required: match required.as_str() {
                    "yes" => true,
                    "no" => false,
                    other => panic!("{event}.{name}: required is yes or no, not {other:?}"),
                },
                kind: kind.to_owned(),
                checked,
            }
        })
        .collect()
}

/// The document's example of each event, by name.
fn examples() -> BTreeMap<String, Map<String, Value>> {
    let mut examples = BTreeMap::new();
    for line in block("contract:event-examples").lines() {
        let Ok(Value::Object(example)) = serde_json::from_str(line) else {
            panic!("an example is a JSON object on one line: {line}");
        };
        let name = example["event"]
            .as_str()
            .expect("an example names its event");
        assert!(
            examples.insert(name.to_owned(), example.clone()).is_none(),
            "two examples of {name}"
        );
    }
    examples
}

/// A value that is not of the documented type; `None` for "any JSON".
fn not_of_type(kind: &str) -> Option<Value> {
    match kind {
        "whole number" => Some(json!(1.5)),
        "number" => Some(json!("many")),
        "text" => Some(json!(42)),
        "relative path" => Some(json!("../outside")),
        "metrics" => Some(json!({"loss": "low"})),
        "best or last" => Some(json!("middle")),
        "level" => Some(json!("LOUD")),
        "any JSON" => None,
        other => panic!("the document names a type this test does not know: {other:?}"),
    }
}

fn example_without(event: &str, field: &str) -> Value {
    let mut example = examples()[event].clone();
    assert!(
        example.remove(field).is_some(),
        "the example of {event} has no {field}"
    );
    Value::Object(example)
}

#[test]
fn the_documented_events_are_the_ones_the_relay_accepts() {
    let accepted: BTreeSet<String> = EventKind::iter().map(|k| k.name().to_owned()).collect();
    let documented: BTreeSet<String> = fields().into_iter().map(|f| f.event).collect();
    assert_eq!(documented, accepted, "the table of event fields");
    let exemplified: BTreeSet<String> = examples().into_keys().collect();
    assert_eq!(exemplified, accepted, "the examples");
}

#[test]
fn each_example_passes_and_shows_exactly_the_documented_fields() {
    let common: BTreeSet<String> = table(COMMON_FIELDS)
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let fields = fields();
    for (event, example) in examples() {
        if let Err(reason) = check(&Value::Object(example.clone())) {
            panic!("the example of {event} is refused: {reason}");
        }
        let shown: BTreeSet<&str> = example
            .keys()
            .map(String::as_str)
            .filter(|name| !common.contains(*name))
            .collect();
        let documented: BTreeSet<&str> = fields
            .iter()
            .filter(|f| f.event == event)
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(shown, documented, "the fields of the example of {event}");
    }
}

#[test]
fn an_event_without_a_common_field_is_refused() {
    let common = table(COMMON_FIELDS);
    assert!(!common.is_empty());
    for row in common {
        assert_eq!(row[1], "yes", "the common field {} is required", row[0]);
        for event in examples().keys() {
            assert!(
                check(&example_without(event, &row[0])).is_err(),
                "{event} without {} is accepted",
                row[0]
            );
        }
    }
}

#[test]
fn required_fields_are_refused_when_missing_and_optional_ones_are_not() {
    for field in fields() {
        let checked = check(&example_without(&field.event, &field.name));
        match (field.required, checked) {
            (true, Ok(_)) => panic!("{field:?}: accepted without it"),
            (true, Err(reason)) => assert!(
                reason.contains(&field.name),
                "{field:?}: refused for another reason: {reason}"
            ),
            (false, Err(reason)) => panic!("{field:?}: refused without it: {reason}"),
            (false, Ok(_)) => {}
        }
    }
}

#[test]
fn a_field_of_another_type_is_refused_unless_the_document_says_it_is_not_checked() {
    for field in fields() {
        let Some(wrong) = not_of_type(&field.kind) else {
            continue;
        };
        let mut example = examples()[&field.event].clone();
        example.insert(field.name.clone(), wrong.clone());
        let refused = check(&Value::Object(example)).is_err();
        assert_eq!(
            refused, field.checked,
            "{field:?} given {wrong}: refused {refused}"
        );
    }
}

/// Arguments grouped as `--name [value]`, since the document leaves their order open.
fn flag_groups<'a>(args: impl IntoIterator<Item = &'a str>) -> BTreeSet<Vec<&'a str>> {
    let mut groups: Vec<Vec<&str>> = Vec::new();
    for arg in args {
        match groups.last_mut() {
            Some(group) if !arg.starts_with("--") => group.push(arg),
            _ => groups.push(vec![arg]),
        }
    }
    groups.into_iter().collect()
}

#[test]
fn the_hyperparameter_example_is_what_a_trainer_receives() {
    let declared: Vec<HyperParameter> =
        serde_json::from_str(&block("contract:hyperparameters-declared")).expect("declarations");
    let schema = HyperParameterSchema::checked(declared).expect("valid declarations");
    let given: Value =
        serde_json::from_str(&block("contract:hyperparameters-given")).expect("values");
    let resolved = schema.resolve(&given).expect("valid values");
    let config: Map<String, Value> =
        serde_json::from_str(&block("contract:hyperparameters-config")).expect("CONFIG");
    assert_eq!(resolved, config, "CONFIG.hyperparameters");
    let flags = as_flags(&resolved, &schema);
    let documented = block("contract:hyperparameters-args");
    assert_eq!(
        flag_groups(flags.iter().map(String::as_str)),
        flag_groups(documented.split_whitespace()),
        "the arguments"
    );
}
