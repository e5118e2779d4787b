//! The trainer's Python entrypoint: checked with ruff's parser before anything is built (a
//! syntax error found here costs seconds, found in the cluster it costs a job), then read
//! for the hyperparameters its argparse declares, so the platform can offer them as a form
//! and pass them back as `--<name> <value>`.
//!
//! Extraction is static: nothing of the trainer runs. What cannot be read statically is
//! left out (a default) or skipped with a reason (a parameter), never guessed.

mod argparse;
mod values;

use crate::error::{Error, Result};
use keynet_hyperparameters::HyperParameter;
use ruff_python_ast::ModModule;
use ruff_text_size::{Ranged, TextSize};
use std::path::{Path, PathBuf};

/// A parsed entrypoint.
#[derive(Debug)]
pub struct Entrypoint {
    path: PathBuf,
    source: String,
    module: ModModule,
}

/// What [`Entrypoint::hyperparameters`] found: the parameters the platform can pass, in
/// source order, and the `add_argument` calls it cannot, each with why.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Extraction {
    pub parameters: Vec<HyperParameter>,
    pub skipped: Vec<Skipped>,
}

/// An `add_argument` call left out of the extraction.
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    /// The argument as written: its first long option (`--layers`), else its first option
    /// string (`-b`, `input`), else the source text of the call's first argument.
    pub argument: String,
    /// 1-based line of the call.
    pub line: usize,
    pub reason: String,
}

impl Entrypoint {
    /// Reads and parses the file at `path`.
    pub fn read(path: &Path) -> Result<Entrypoint> {
        let source = std::fs::read_to_string(path).map_err(|source| {
            Error::io(
                format!("cannot read the entrypoint {}", path.display()),
                source,
            )
        })?;
        Entrypoint::parse(path.to_path_buf(), source)
    }

    /// Parses `source` as the content of `path` (only named in errors).
    pub fn parse(path: PathBuf, source: String) -> Result<Entrypoint> {
        // Python accepts a UTF-8 byte order mark; the parser would see it as a stray character.
        let source = match source.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => source,
        };
        match ruff_python_parser::parse_module(&source) {
            Ok(parsed) => Ok(Entrypoint {
                path,
                module: parsed.into_syntax(),
                source,
            }),
            Err(error) => {
                let (line, column) = line_column(&source, error.range().start());
                Err(Error::Syntax {
                    path,
                    line,
                    column,
                    message: error.error.to_string(),
                })
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The argparse hyperparameters of the entrypoint; see [`argparse`] for the rules.
    pub fn hyperparameters(&self) -> Extraction {
        argparse::extract(&self.source, &self.module)
    }
}

/// The 1-based line and column (in characters, as Python reports them) of a byte offset.
/// `\n`, `\r\n` and a lone `\r` each end a line, as in Python.
fn line_column(source: &str, offset: TextSize) -> (usize, usize) {
    let offset = usize::from(offset).min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let mut line = 1;
    let mut column = 1;
    let mut chars = before.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                line += 1;
                column = 1;
            }
            _ => column += 1,
        }
    }
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syntax_error(source: &str) -> (usize, usize, String) {
        match Entrypoint::parse(PathBuf::from("train.py"), source.to_string()) {
            Err(Error::Syntax {
                path,
                line,
                column,
                message,
            }) => {
                assert_eq!(path, Path::new("train.py"));
                (line, column, message)
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn valid_python_parses() {
        let entrypoint = Entrypoint::parse(PathBuf::from("a/train.py"), "print('hi')\n".into())
            .expect("valid Python");
        assert_eq!(entrypoint.path(), Path::new("a/train.py"));
        assert_eq!(entrypoint.hyperparameters(), Extraction::default());
    }

    #[test]
    fn syntax_errors_carry_a_1_based_position() {
        let (line, column, message) = syntax_error("import os\n\ndef main(:\n    pass\n");
        assert_eq!((line, column), (3, 10));
        assert!(!message.is_empty());
        // Columns count characters, not bytes.
        let (line, column, _) = syntax_error("x = 'é' +\n");
        assert_eq!((line, column), (1, 10));
    }

    #[test]
    fn a_byte_order_mark_is_accepted() {
        Entrypoint::parse(PathBuf::from("t.py"), "\u{feff}x = 1\n".into()).expect("BOM ok");
    }

    #[test]
    fn line_column_handles_every_line_ending() {
        let source = "a\r\nb\rc\nd";
        assert_eq!(line_column(source, TextSize::from(0)), (1, 1));
        assert_eq!(line_column(source, TextSize::from(3)), (2, 1));
        assert_eq!(line_column(source, TextSize::from(5)), (3, 1));
        assert_eq!(line_column(source, TextSize::from(8)), (4, 2));
    }

    #[test]
    fn an_unreadable_file_is_an_io_error() {
        let error = Entrypoint::read(Path::new("/nonexistent/train.py")).expect_err("missing");
        assert!(matches!(error, Error::Io { .. }), "{error:?}");
        assert!(error.to_string().contains("/nonexistent/train.py"));
    }
}
