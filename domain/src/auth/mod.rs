//! Passwords, session tokens, API-token secrets and turning a bearer credential into a
//! [`Viewer`](crate::Viewer).

mod authenticate;
pub use authenticate::session_user;
pub mod jwt;
pub mod passwords;
pub mod secrets;
pub(crate) mod sessions;
mod throttle;

pub use sessions::Session;
