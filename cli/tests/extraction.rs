//! Hyperparameter extraction over a corpus of realistic trainers (`tests/corpus/*.py`).
//! Each trainer's expected extraction is the JSON file beside it: the parameters exactly as
//! sent to the server, and every skipped argument with its line and reason. The expected
//! files were reviewed by hand against argparse's behaviour; a change in the extraction
//! shows as a diff of them.

use keynet_hyperparameters::{HyperParameterSchema, ParamType};
use keynet_train::api::HyperParameterInput;
use keynet_train::entrypoint::{Entrypoint, Extraction};
use keynet_train::error::Error;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name)
}

fn extract(name: &str) -> Extraction {
    Entrypoint::read(&corpus(name))
        .unwrap_or_else(|e| panic!("{name} should parse: {e}"))
        .hyperparameters()
}

/// The extraction as the expected files spell it.
fn as_json(extraction: &Extraction) -> Value {
    let skipped: Vec<Value> = extraction
        .skipped
        .iter()
        .map(|s| json!({"argument": s.argument, "line": s.line, "reason": s.reason}))
        .collect();
    let parameters: Vec<HyperParameterInput> = extraction
        .parameters
        .iter()
        .map(HyperParameterInput::from)
        .collect();
    json!({"parameters": parameters, "skipped": skipped})
}

#[test]
fn every_trainer_of_the_corpus_extracts_as_expected() {
    let mut trainers: Vec<PathBuf> = std::fs::read_dir(corpus(""))
        .expect("corpus folder")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "py"))
        .filter(|path| !path.ends_with("syntax_error.py"))
        .collect();
    trainers.sort();
    assert!(trainers.len() >= 7, "the corpus shrank: {trainers:?}");
    for trainer in trainers {
        let name = trainer.file_name().expect("file name").to_string_lossy();
        let expected_file = trainer.with_extension("json");
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(&expected_file)
                .unwrap_or_else(|e| panic!("{}: {e}", expected_file.display())),
        )
        .expect("expected JSON");
        let extraction = extract(&name);
        let actual = as_json(&extraction);
        assert_eq!(
            actual,
            expected,
            "{name}: got\n{}",
            serde_json::to_string_pretty(&actual).expect("json")
        );
        assert_the_server_accepts(&name, &extraction);
    }
}

/// The CLI skips each parameter the server's checks refuse on its own, and enforces the
/// unique names and the count itself; the server's check of the whole extraction
/// (`HyperParameterSchema::checked`, as a push runs it) shows nothing it sends is refused.
fn assert_the_server_accepts(name: &str, extraction: &Extraction) {
    if let Err(e) = HyperParameterSchema::checked(extraction.parameters.clone()) {
        panic!("{name}: the server refuses the extraction: {e}");
    }
}

#[test]
fn the_syntax_error_is_located() {
    let path = corpus("syntax_error.py");
    match Entrypoint::read(&path) {
        Err(Error::Syntax {
            path: reported,
            line,
            column,
            message,
        }) => {
            assert_eq!(reported, path);
            // The call left open on line 7 ends at column 57.
            assert_eq!((line, column), (7, 57));
            assert_eq!(message, "Expected `)`, found newline");
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

// Spot checks of what the expected files encode, named for the rule they show.

#[test]
fn ultralytics_aliases_take_the_first_long_option() {
    let extraction = extract("yolo_ultralytics.py");
    let imgsz = extraction
        .parameters
        .iter()
        .find(|p| p.name == "imgsz")
        .expect("imgsz");
    assert_eq!(imgsz.param_type, ParamType::Int);
    assert_eq!(imgsz.default, Some(json!(640)));
    // `default=ROOT / "…"` is not known statically: the trainer's own default applies.
    let data = extraction
        .parameters
        .iter()
        .find(|p| p.name == "data")
        .expect("data");
    assert_eq!(data.default, None);
    // `--resume` (nargs="?", default=False) would read "false" as true.
    let skipped: Vec<&str> = extraction
        .skipped
        .iter()
        .map(|s| s.argument.as_str())
        .collect();
    assert_eq!(skipped, ["--resume", "--freeze"]);
}

#[test]
fn torchvision_names_ignore_dest() {
    let extraction = extract("torchvision_classification.py");
    let names: Vec<&str> = extraction
        .parameters
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert!(names.contains(&"wd") && !names.contains(&"weight_decay"));
    assert!(names.contains(&"batch-size") && names.contains(&"workers"));
    assert_eq!(names.len(), 32);
    assert!(extraction.skipped.is_empty());
}

#[test]
fn positionals_and_plain_scripts_declare_nothing() {
    let positionals = extract("positionals_only.py");
    assert!(positionals.parameters.is_empty());
    assert_eq!(
        positionals
            .skipped
            .iter()
            .map(|s| (s.argument.as_str(), s.line))
            .collect::<Vec<_>>(),
        [("data_dir", 5), ("epochs", 6), ("output", 7), ("-q", 8)]
    );
    assert_eq!(extract("no_argparse.py"), Extraction::default());
}
