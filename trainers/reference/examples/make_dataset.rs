//! Writes the generated colour dataset (DICE layout) into a folder:
//! `cargo run -p keynet-reference-trainer --example make_dataset -- DIR [PER_CLASS]`.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: make_dataset DIR [PER_CLASS]");
        return ExitCode::from(2);
    };
    let per_class = match args.next().map(|text| text.parse::<usize>()) {
        None => 8,
        Some(Ok(count)) if count > 0 => count,
        Some(_) => {
            eprintln!("PER_CLASS must be a positive integer");
            return ExitCode::from(2);
        }
    };
    match keynet_reference_trainer::synthetic::write_colour_dataset(&dir, per_class, 20, 42) {
        Ok(classes) => {
            println!(
                "wrote {} classes × {per_class} images to {}",
                classes.len(),
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("cannot write the dataset: {error}");
            ExitCode::FAILURE
        }
    }
}
