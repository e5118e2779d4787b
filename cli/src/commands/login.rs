//! `keynet-train login`: a password (or an existing token) becomes a saved API token with
//! the TRAINER_PUSH scope, for one organization.

use crate::api::{self, Organization};
use crate::args::LoginArgs;
use crate::client::{Client, server_url};
use crate::config::{ApiToken, Config, ConfigStore, Org, Registry, User};
use crate::error::{Error, Result};
use std::io::{BufRead as _, IsTerminal as _};

pub async fn login(store: &ConfigStore, args: LoginArgs) -> Result<()> {
    let server = match &args.server {
        Some(url) => server_url(url)?,
        None => store
            .load()
            .map(|config| config.server_url)
            .map_err(|_| Error::Usage("which server? Give it with --server https://…".into()))?,
    };
    let client = Client::new(&server)?;
    let (user, org, token, expires_at) = match args.token {
        Some(token) => {
            let client = client.authenticated(&token);
            let account = api::me(&client).await?;
            let org = choose_org(api::organizations(&client).await?, args.org.as_deref())?;
            // Listing tokens (to learn this one's expiry) needs the ADMIN scope; a push
            // token's expiry stays unknown until the server refuses it.
            (account, org, token, None)
        }
        None => {
            let email = match args.email {
                Some(email) => email,
                None => prompt_email()?,
            };
            let password = read_password(args.password_stdin)?;
            let signed_in = api::sign_in(&client, &email, &password).await?;
            let client = client.authenticated(&signed_in.access_token);
            let org = choose_org(api::organizations(&client).await?, args.org.as_deref())?;
            let created = api::create_push_token(&client, &org.id, "keynet-train").await?;
            (signed_in.user, org, created.secret, created.expires_at)
        }
    };
    let config = Config {
        registry: Registry {
            host: registry_host(&server),
        },
        server_url: server,
        user: User {
            id: user.id,
            email: user.email,
        },
        org: Org {
            id: org.id,
            slug: org.slug,
        },
        api_token: ApiToken::new(token),
        api_token_expires_at: expires_at,
    };
    store.save(&config)?;
    println!(
        "Signed in to {} as {} for {}.",
        config.server_url, config.user.email, config.org.slug
    );
    if let Some(expiry) = config.api_token_expires_at {
        println!("The token expires {}.", expiry.format("%Y-%m-%d %H:%M UTC"));
    }
    println!("Saved to {}", store.path().display());
    Ok(())
}

/// The registry is served by the server itself: its `host[:port]`.
fn registry_host(server: &str) -> String {
    let without_scheme = server.split_once("://").map_or(server, |(_, rest)| rest);
    without_scheme
        .split('/')
        .next()
        .unwrap_or(without_scheme)
        .to_string()
}

fn choose_org(orgs: Vec<Organization>, wanted: Option<&str>) -> Result<Organization> {
    let slugs = || {
        orgs.iter()
            .map(|org| org.slug.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(wanted) = wanted {
        return orgs
            .iter()
            .find(|org| org.slug == wanted)
            .cloned()
            .ok_or_else(|| {
                Error::Validation(format!(
                    "you are not a member of an organization {wanted:?}; yours: {}",
                    slugs()
                ))
            });
    }
    match orgs.len() {
        0 => Err(Error::Validation(
            "you belong to no organization: create one or accept an invitation first".into(),
        )),
        1 => Ok(orgs.into_iter().next().expect("one organization")),
        _ if std::io::stdin().is_terminal() => {
            let names: Vec<String> = orgs
                .iter()
                .map(|org| format!("{} ({})", org.name, org.slug))
                .collect();
            let chosen = dialoguer::Select::new()
                .with_prompt("Organization")
                .items(&names)
                .default(0)
                .interact()
                .map_err(prompt_failed)?;
            Ok(orgs[chosen].clone())
        }
        _ => Err(Error::Usage(format!(
            "you belong to several organizations ({}): choose one with --org",
            slugs()
        ))),
    }
}

fn prompt_email() -> Result<String> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "no terminal to ask for your email: give --email (and --password-stdin) or --token"
                .into(),
        ));
    }
    dialoguer::Input::new()
        .with_prompt("Email")
        .interact_text()
        .map_err(prompt_failed)
}

fn read_password(from_stdin: bool) -> Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::io("reading the password from stdin", e))?;
        let password = line.trim_end_matches(['\r', '\n']).to_string();
        if password.is_empty() {
            return Err(Error::Usage("stdin held no password".into()));
        }
        return Ok(password);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "no terminal to ask for your password: give --password-stdin or --token".into(),
        ));
    }
    dialoguer::Password::new()
        .with_prompt("Password")
        .interact()
        .map_err(prompt_failed)
}

pub fn prompt_failed(error: dialoguer::Error) -> Error {
    Error::Usage(format!("the prompt failed: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(slug: &str) -> Organization {
        Organization {
            id: format!("id-{slug}"),
            slug: slug.into(),
            name: slug.to_uppercase(),
        }
    }

    #[test]
    fn the_registry_is_the_servers_host_and_port() {
        assert_eq!(registry_host("http://127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(
            registry_host("https://keynet.example.com/app"),
            "keynet.example.com"
        );
    }

    #[test]
    fn an_organization_is_chosen_by_slug_or_because_it_is_the_only_one() {
        assert_eq!(
            choose_org(vec![org("acme")], None).expect("only one").slug,
            "acme"
        );
        let both = vec![org("acme"), org("globex")];
        assert_eq!(
            choose_org(both.clone(), Some("globex"))
                .expect("named")
                .slug,
            "globex"
        );
        let unknown = choose_org(both, Some("initech")).expect_err("not a member");
        assert_eq!(unknown.exit_code(), 5);
        assert!(unknown.to_string().contains("acme, globex"), "{unknown}");
        assert_eq!(choose_org(vec![], None).expect_err("none").exit_code(), 5);
    }
}
