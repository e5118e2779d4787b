//! Every way `keynet-train` can fail, grouped the way a trainer author acts on them: each
//! kind has its own exit code and a hint naming the next step. User errors print one line
//! and the hint, never a backtrace; `--verbose` adds the chain of causes.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("the configuration at {path} cannot be used: {message}")]
    Config { path: PathBuf, message: String },
    #[error("{0}")]
    Auth(String),
    #[error("{path}:{line}:{column}: Python syntax error: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{0}")]
    Validation(String),
    #[error("cannot reach {url}: {source}")]
    Network {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error it attributes to the request (`code` is its
    /// GraphQL `extensions.code`) or to itself.
    #[error("the server refused: {message}")]
    Server { code: String, message: String },
    #[error("{0}")]
    Build(String),
    #[error("{0}")]
    Push(String),
    #[error("cannot use the container engine: {0}")]
    Engine(#[from] bollard::errors::Error),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// The families of errors, each with its exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Usage,
    Config,
    Auth,
    Validation,
    Network,
    Server,
    Build,
    Push,
}

impl Kind {
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Usage => 2,
            Kind::Config => 3,
            Kind::Auth => 4,
            Kind::Validation => 5,
            Kind::Network => 6,
            Kind::Server => 7,
            Kind::Build => 8,
            Kind::Push => 9,
        }
    }
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Error::Usage(_) => Kind::Usage,
            Error::Config { .. } => Kind::Config,
            Error::Auth(_) => Kind::Auth,
            // Io errors are about the author's files: the entrypoint, the context.
            Error::Syntax { .. } | Error::Validation(_) | Error::Io { .. } => Kind::Validation,
            Error::Network { .. } => Kind::Network,
            Error::Server { code, .. } => match code.as_str() {
                "UNAUTHENTICATED" | "FORBIDDEN" => Kind::Auth,
                "BAD_USER_INPUT" | "NOT_FOUND" | "CONFLICT" => Kind::Validation,
                _ => Kind::Server,
            },
            Error::Build(_) => Kind::Build,
            Error::Push(_) | Error::Engine(_) => Kind::Push,
        }
    }

    pub fn exit_code(&self) -> u8 {
        self.kind().exit_code()
    }

    /// The next step for the author, when there is an obvious one.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match (self, self.kind()) {
            (Error::Engine(_), _) => "Start Docker or Podman, or point DOCKER_HOST at its socket",
            (Error::Syntax { .. }, _) => {
                "Fix the entrypoint so that `python -m py_compile` accepts it"
            }
            (Error::Server { code, .. }, _) if code == "FORBIDDEN" => {
                "Ask an admin of the organization for a role that may push trainers"
            }
            (_, Kind::Auth) => "Run: keynet-train login",
            (_, Kind::Config) => "Run: keynet-train login (it rewrites the configuration)",
            (_, Kind::Network) => "Check the server URL and your connection, then try again",
            (_, Kind::Build) => "Check your Dockerfile and the build context",
            (_, Kind::Push) => "Check that the registry is reachable, then push again",
            (_, Kind::Server) => "Try again later; run with --verbose for the detail",
            (_, Kind::Usage | Kind::Validation) => return None,
        })
    }
}

/// The message shown for a failed command: the error, its hint, and with `verbose` the
/// causes underneath it.
pub fn render(error: &Error, verbose: bool) -> String {
    let mut text = format!("error: {error}");
    if verbose {
        let mut cause = std::error::Error::source(error);
        while let Some(inner) = cause {
            text.push_str(&format!("\n  caused by: {inner}"));
            cause = inner.source();
        }
    }
    if let Some(hint) = error.hint() {
        text.push_str(&format!("\n→ {hint}"));
    }
    text
}
