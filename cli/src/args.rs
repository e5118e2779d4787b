//! The command line.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "keynet-train",
    version,
    about = "Build, push and follow trainer images on Keynet",
    // What the pushed image must do is the contract's to say, not this tool's: say where it is.
    after_help = concat!(
        "Exit codes: 0 ok, 2 usage, 3 configuration, 4 authentication, 5 validation, 6 network, 7 server, 8 build, 9 push\n\n",
        "What Keynet gives a trainer and expects of it (environment, folders, events, exit rules, hyperparameter flags): ",
        "the trainer contract, docs/trainer-contract.md in the Keynet repository"
    )
)]
pub struct Cli {
    /// Show the detail of each step and the causes of an error.
    #[arg(long, short, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in and keep an API token that may push trainers.
    Login(LoginArgs),
    /// Forget the sign-in.
    Logout,
    /// Show who is signed in, where, and until when.
    Whoami,
    /// Check, build and push a trainer, in nine steps.
    Push(PushArgs),
    /// The checks of the version an upload key was issued for.
    Status(StatusArgs),
    /// A trainer's versions.
    Versions(VersionsArgs),
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The Keynet server, e.g. https://keynet.example.com (default: the one signed in to).
    #[arg(long, env = "KEYNET_SERVER")]
    pub server: Option<String>,
    /// Sign in with an existing API token (with the TRAINER_PUSH scope) instead of a password.
    #[arg(long, env = "KEYNET_TOKEN", hide_env_values = true, conflicts_with_all = ["email", "password_stdin"])]
    pub token: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    /// Read the password from the first line of stdin (for scripts).
    #[arg(long)]
    pub password_stdin: bool,
    /// The organization to push for, by slug, when you belong to several.
    #[arg(long)]
    pub org: Option<String>,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The trainer's Python entrypoint, e.g. train.py.
    pub entrypoint: PathBuf,
    /// Build with this Dockerfile instead of a generated one.
    #[arg(long)]
    pub dockerfile: Option<PathBuf>,
    /// The base image of the generated Dockerfile.
    #[arg(
        long,
        default_value = "python:3.10-slim",
        conflicts_with = "dockerfile"
    )]
    pub base_image: String,
    /// The build context (default: the entrypoint's folder).
    #[arg(long)]
    pub context: Option<PathBuf>,
    /// The trainer's name (default: the context folder's name).
    #[arg(long)]
    pub model_name: Option<String>,
    /// The project's id (default: chosen from the projects you may push for).
    #[arg(long)]
    pub project: Option<String>,
    /// The frameworks the trainer uses, e.g. pytorch (default: read from requirements.txt).
    #[arg(long = "framework", value_delimiter = ',')]
    pub frameworks: Vec<String>,
    /// Export formats the trainer supports, e.g. onnx.
    #[arg(long = "export-format", value_delimiter = ',')]
    pub export_formats: Vec<String>,
    #[arg(long)]
    pub no_cache: bool,
    /// Push even when the image has no frameworks label (`--framework`, requirements.txt
    /// or a LABEL in the Dockerfile), which Keynet's checks reject.
    #[arg(long)]
    pub allow_no_frameworks: bool,
    /// Never ask: take the only project there is, or fail.
    #[arg(long, short)]
    pub yes: bool,
    /// Follow validation, scan and test run until the version is READY or REJECTED.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The upload key `push` printed.
    pub upload_key: String,
    /// Follow the checks until the version is READY or REJECTED.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct VersionsArgs {
    /// The trainer's name, slug or id.
    pub trainer: String,
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn the_help_points_to_the_trainer_contract_in_the_repository() {
        let contract = "docs/trainer-contract.md";
        let help = Cli::command().render_help().to_string();
        assert!(help.contains(contract), "{help}");
        let repository = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        assert!(
            repository.join(contract).is_file(),
            "{contract} is not in the repository"
        );
    }
}
