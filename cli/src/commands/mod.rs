//! One module per subcommand; `run` dispatches.

mod follow;
mod login;
mod push;
mod session;
mod status;

use crate::args::{Cli, Command};
use crate::config::ConfigStore;
use crate::error::Result;

pub async fn run(cli: Cli) -> Result<()> {
    let store = ConfigStore::from_env()?;
    match cli.command {
        Command::Login(args) => login::login(&store, args).await,
        Command::Logout => session::logout(&store).await,
        Command::Whoami => session::whoami(&store).await,
        Command::Push(args) => push::push(&store, args, cli.verbose).await,
        Command::Status(args) => status::status(&store, args).await,
        Command::Versions(args) => status::versions(&store, args).await,
    }
}
