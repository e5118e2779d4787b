//! The saved sign-in: loading it for a command, `whoami` and `logout`.

use crate::api;
use crate::client::Client;
use crate::config::{Config, ConfigStore};
use crate::error::Result;
use chrono::Utc;

/// The saved configuration and a client authenticated with its token, refusing an
/// expired token before any request.
pub fn signed_in(store: &ConfigStore) -> Result<(Config, Client)> {
    let config = store.load()?;
    config.ensure_token_valid(Utc::now())?;
    let client = Client::new(&config.server_url)?.authenticated(config.api_token.secret());
    Ok((config, client))
}

pub async fn whoami(store: &ConfigStore) -> Result<()> {
    let (config, client) = signed_in(store)?;
    // Asks the server, so a revoked token shows here rather than at the next push.
    let account = api::me(&client).await?;
    println!("{} at {}", account.email, config.server_url);
    println!("organization: {}", config.org.slug);
    println!("registry: {}", config.registry.host);
    match config.api_token_expires_at {
        Some(expiry) => println!("token expires: {}", expiry.format("%Y-%m-%d %H:%M UTC")),
        None => println!("token expires: unknown"),
    }
    Ok(())
}

/// Forgets the sign-in. The token itself stays valid until it expires: the server lets
/// only a signed-in session (the web app) revoke tokens, not a token itself.
pub async fn logout(store: &ConfigStore) -> Result<()> {
    let forgotten = store.load().ok();
    if store.remove()? {
        println!("Signed out.");
        if let Some(config) = forgotten {
            println!(
                "The token {}… stays valid until it expires; revoke it under API tokens at {} to end it now.",
                config.api_token.prefix(),
                config.server_url
            );
        }
    } else {
        println!("You were not signed in.");
    }
    Ok(())
}
