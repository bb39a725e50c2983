//! Settings for `contactpoint serve`: defaults, then a TOML file (`--config`), then
//! `CONTACTPOINT_` environment variables and flags, each overriding the one before.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::path::Path;

/// What a settings file may hold; anything else in it is refused by name.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub secure_cookies: Option<bool>,
}

impl FileSettings {
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the settings file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in the settings file {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| {
            anyhow::anyhow!(
                "{}",
                e.message().trim().to_owned()
                    + &e.span()
                        .map(|s| format!(" (at character {})", s.start))
                        .unwrap_or_default()
            )
        })
    }
}

/// The settings `serve` runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeSettings {
    pub database_url: String,
    pub listen: String,
    pub public_url: Option<String>,
    pub secure_cookies: bool,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Flags and environment (already merged by clap) over the file over the defaults.
pub fn resolve(
    database_url: Option<String>,
    listen: Option<String>,
    public_url: Option<String>,
    secure_cookies: bool,
    file: FileSettings,
) -> Result<ServeSettings> {
    let Some(database_url) = database_url.or(file.database_url) else {
        bail!("database_url: set --database-url, CONTACTPOINT_DATABASE_URL or database_url in the settings file (sqlite://PATH or postgres://USER@HOST:PORT/DB)");
    };
    let public_url = public_url.or(file.public_url);
    // Served at an https address, cookies are Secure whatever else was said.
    let secure_cookies = secure_cookies
        || file.secure_cookies.unwrap_or(false)
        || public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"));
    Ok(ServeSettings {
        database_url,
        listen: listen
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
        public_url,
        secure_cookies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_environment_override_the_file_which_overrides_the_defaults() {
        let file =
            FileSettings::parse("database_url = \"sqlite://file.db\"\nlisten = \"0.0.0.0:9000\"\n")
                .unwrap();
        let from_file = resolve(None, None, None, false, file).unwrap();
        assert_eq!(
            (from_file.database_url.as_str(), from_file.listen.as_str()),
            ("sqlite://file.db", "0.0.0.0:9000")
        );
        let file = FileSettings::parse("database_url = \"sqlite://file.db\"").unwrap();
        let overridden =
            resolve(Some("postgres://x@h/db".into()), None, None, false, file).unwrap();
        assert_eq!(overridden.database_url, "postgres://x@h/db");
        assert_eq!(overridden.listen, DEFAULT_LISTEN);
    }

    #[test]
    fn an_https_address_makes_cookies_secure() {
        let s = resolve(
            Some("sqlite://a".into()),
            None,
            Some("https://contactpoint.example.org".into()),
            false,
            FileSettings::default(),
        )
        .unwrap();
        assert!(s.secure_cookies);
        let s = resolve(
            Some("sqlite://a".into()),
            None,
            Some("http://localhost:8080".into()),
            false,
            FileSettings::default(),
        )
        .unwrap();
        assert!(!s.secure_cookies);
    }

    #[test]
    fn an_unknown_setting_or_a_missing_database_is_named() {
        let err = FileSettings::parse("databse_url = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("databse_url"), "{err}");
        let err = resolve(None, None, None, false, FileSettings::default())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("database_url"), "{err}");
    }
}
