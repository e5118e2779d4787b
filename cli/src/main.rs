use clap::Parser as _;
use keynet_train::args::Cli;
use keynet_train::commands;
use keynet_train::error::render;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let verbose = cli.verbose;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}", render(&error, verbose));
            ExitCode::from(error.exit_code())
        }
    }
}
