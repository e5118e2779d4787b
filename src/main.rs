//! `keynet`: the server binary. `serve` runs the whole platform (on SQLite and local folders
//! with no configuration), `worker` runs background workers alone, `migrate` applies database
//! migrations, `schema` prints the GraphQL schema, `vulndb import` loads OSV advisories.

mod config;
mod vulndb;

use clap::{Args, Parser, Subcommand};
use config::Overrides;
use keynet_api::Settings;
use keynet_api::settings::LogFormat;
use std::path::PathBuf;
use std::process::ExitCode;
use vulndb::VulndbCommand;

#[derive(Parser)]
#[command(
    name = "keynet",
    version,
    about = "Keynet: train vision-AI models, with a marketplace of trainers"
)]
struct Cli {
    /// Configuration file (default: ./keynet.toml when present).
    #[arg(long, global = true, env = "KEYNET_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform: GraphQL API, subscriptions, health, metrics and background workers.
    Serve(ServeArgs),
    /// Run only the background workers, against the configured database.
    Worker(DataArgs),
    /// Apply the database migrations and exit.
    Migrate(DataArgs),
    /// Print the GraphQL schema (SDL); `schema.graphql` is this output.
    Schema,
    /// Manage the vulnerability database the image scan matches packages against.
    #[command(subcommand)]
    Vulndb(VulndbCommand),
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port) [env: KEYNET_BIND] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    bind: Option<String>,
    #[command(flatten)]
    data: DataArgs,
    /// Serve the API only; run `keynet worker` elsewhere.
    #[arg(long)]
    no_workers: bool,
}

#[derive(Args)]
struct DataArgs {
    /// Folder for the SQLite database, blobs, outbox and generated secrets [env: KEYNET_DATA_DIR] [default: ./keynet-data]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = match &cli.command {
        Command::Serve(args) => Overrides {
            bind: args.bind.clone(),
            data_dir: args.data.data_dir.clone(),
            run_workers: args.no_workers.then_some(false),
        },
        Command::Worker(args)
        | Command::Migrate(args)
        | Command::Vulndb(VulndbCommand::Import(vulndb::ImportArgs { data: args, .. })) => {
            Overrides {
                data_dir: args.data_dir.clone(),
                ..Overrides::default()
            }
        }
        Command::Schema => {
            print!("{}", keynet_api::graphql::sdl());
            return ExitCode::SUCCESS;
        }
    };
    let settings = match config::load(cli.config.as_deref(), overrides) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("keynet: {error}");
            return ExitCode::from(2);
        }
    };
    init_tracing(settings.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("keynet: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("keynet: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve(_) => {
            let platform = keynet_api::launch(settings).await?;
            println!("Keynet is listening on {}", platform.url());
            println!(
                "GraphQL: {0}/graphql (GraphiQL in a browser), subscriptions: {0}/graphql/ws",
                platform.url()
            );
            platform.run_until_signal().await
        }
        Command::Worker(_) => keynet_api::platform::run_workers(settings).await,
        Command::Migrate(_) => {
            let db = keynet_api::platform::connect(&settings).await?;
            keynet_api::platform::migrate(&db).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Vulndb(command) => vulndb::run(command, &settings).await,
        Command::Schema => unreachable!("handled before the configuration is read"),
    }
}

fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("KEYNET_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
