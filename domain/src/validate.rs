//! Input checks shared by the services. Each names the field it refuses.

use crate::error::{Error, Result};

pub const MIN_PASSWORD_LEN: usize = 10;
const MAX_PASSWORD_LEN: usize = 256;

/// Lower-cases and checks an email address.
pub fn email(field: &'static str, raw: &str) -> Result<String> {
    let trimmed = raw.trim();
    if trimmed.len() > 254 || !email_address::EmailAddress::is_valid(trimmed) {
        return Err(Error::invalid(field, "not a valid email address"));
    }
    Ok(trimmed.to_lowercase())
}

pub fn password(field: &'static str, raw: &str) -> Result<()> {
    let chars = raw.chars().count();
    if chars < MIN_PASSWORD_LEN {
        return Err(Error::invalid(
            field,
            format!("the password must have at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    if chars > MAX_PASSWORD_LEN {
        return Err(Error::invalid(
            field,
            format!("the password may have at most {MAX_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
}

/// A required, trimmed, single-line text of at most `max` characters.
pub fn name(field: &'static str, raw: &str, max: usize) -> Result<String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if trimmed.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("may have at most {max} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(trimmed.to_string())
}

/// Free text (descriptions): may be empty, may span lines.
pub fn text(field: &'static str, raw: &str, max: usize) -> Result<String> {
    if raw.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("may have at most {max} characters"),
        ));
    }
    Ok(raw.trim().to_string())
}

/// Slugs appear in URLs and registry repository names: 2 to 40 of `a-z 0-9 -`, starting
/// and ending with a letter or digit.
pub fn slug(field: &'static str, raw: &str) -> Result<String> {
    let ok = (2..=40).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !raw.starts_with('-')
        && !raw.ends_with('-')
        && !raw.contains("--");
    if !ok {
        return Err(Error::invalid(
            field,
            "a slug has 2 to 40 characters a-z, 0-9 and single dashes, starting and ending with a letter or digit",
        ));
    }
    Ok(raw.to_string())
}

/// A name turned into a slug: lowercase letters and digits, every other run of characters
/// one dash, no dash at either end (empty when the name has no letter or digit).
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_lowercase_words_joined_by_dashes() {
        assert_eq!(slugify("My Trainer v2!"), "my-trainer-v2");
        assert_eq!(slugify("  --  "), "");
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            email("email", " Ada@Example.COM ").expect("valid"),
            "ada@example.com"
        );
        assert!(email("email", "not-an-email").is_err());
        assert!(email("email", "a@").is_err());
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(password("password", "123456789").is_err());
        assert!(password("password", "1234567890").is_ok());
    }

    #[test]
    fn slugs_follow_the_url_rules() {
        assert!(slug("slug", "acme-vision").is_ok());
        for bad in ["A", "a", "-acme", "acme-", "ac--me", "acme vision", "ACME"] {
            assert!(slug("slug", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_must_have_content() {
        assert!(name("name", "   ", 10).is_err());
        assert!(name("name", "line\nbreak", 20).is_err());
        assert_eq!(name("name", " Acme ", 10).expect("valid"), "Acme");
    }
}
