//! What a long command shows while it works: numbered steps, a spinner for the build and a
//! byte bar for the upload on a terminal, and with `--verbose` the engine's own output.
//! Everything goes to stderr, so stdout keeps only results a script may read.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::Duration;

pub struct Progress {
    bars: MultiProgress,
    steps: usize,
    verbose: bool,
}

impl Progress {
    pub fn new(steps: usize, verbose: bool) -> Self {
        Self {
            bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            steps,
            verbose,
        }
    }

    /// `[n/steps] title`.
    pub fn step(&self, n: usize, title: &str) {
        self.line(&format!("[{n}/{}] {title}", self.steps));
    }

    /// The outcome of the current step.
    pub fn done(&self, message: &str) {
        self.line(&format!("      ✓ {message}"));
    }

    pub fn warn(&self, message: &str) {
        self.line(&format!("      ! {message}"));
    }

    /// Shown with `--verbose` only.
    pub fn detail(&self, message: &str) {
        if self.verbose {
            self.line(&format!("        {message}"));
        }
    }

    pub fn spinner(&self, message: &str) -> ProgressBar {
        let bar = self.bars.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("      {spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    pub fn bytes(&self, message: &str) -> ProgressBar {
        let bar = self.bars.add(ProgressBar::new(0));
        bar.set_style(
            ProgressStyle::with_template(
                "      {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(message.to_string());
        bar
    }

    /// Prints above any bar, so lines and bars do not overwrite each other.
    fn line(&self, text: &str) {
        self.bars.suspend(|| eprintln!("{text}"));
    }
}
