//! `keynet-reference-trainer`: reads the job from the environment and arguments, runs it,
//! and turns every way of stopping short into one `failed` event and exit status 1.

use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;

use keynet_reference_trainer::config::{self, Config};
use keynet_reference_trainer::events::EventSink;
use keynet_reference_trainer::failure::Failure;
use serde_json::json;

fn main() -> ExitCode {
    let env = |name: &str| std::env::var(name).ok();
    let events_path = config::events_path(&env);
    let mut sink = match EventSink::open(&events_path) {
        Ok(sink) => sink,
        Err(error) => {
            // Nowhere to report to: the exit status is all the platform will see.
            eprintln!("cannot open events file {}: {error}", events_path.display());
            return ExitCode::FAILURE;
        }
    };
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        let config = Config::from_process()?;
        keynet_reference_trainer::run_job(&config, &mut sink)
    }));
    let failure = match outcome {
        Ok(Ok(())) => return ExitCode::SUCCESS,
        Ok(Err(failure)) => failure,
        // A bug: still report it as the contract asks rather than exiting silently.
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|text| (*text).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_string());
            Failure::new("internal", message)
        }
    };
    eprintln!("[ERROR] {failure}");
    let event = json!({ "error_type": failure.error_type, "message": failure.message });
    if let Err(error) = sink.emit("failed", event) {
        eprintln!(
            "cannot write the failed event to {}: {error}",
            sink.path().display()
        );
    }
    ExitCode::FAILURE
}
