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
    pub retry_waiting_minutes: Option<u64>,
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
    /// How often the records waiting in the exceptions queue are tried again; never when
    /// `None`.
    pub retry_waiting_every: Option<std::time::Duration>,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Waiting records are tried again hourly unless told otherwise: often enough that a record
/// waiting for a child another source was about to bring links the same morning; a pass
/// places only the waiting records again.
pub const DEFAULT_RETRY_WAITING_MINUTES: u64 = 60;

/// What the flags and environment said (already merged by clap).
#[derive(Debug, Default)]
pub struct Given {
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub secure_cookies: bool,
    pub retry_waiting_minutes: Option<u64>,
}

/// Flags and environment (already merged by clap) over the file over the defaults.
pub fn resolve(given: Given, file: FileSettings) -> Result<ServeSettings> {
    let Some(database_url) = given.database_url.or(file.database_url) else {
        bail!("database_url: set --database-url, CONTACTPOINT_DATABASE_URL or database_url in the settings file (sqlite://PATH or postgres://USER@HOST:PORT/DB)");
    };
    let public_url = given.public_url.or(file.public_url);
    // Served at an https address, cookies are Secure whatever else was said.
    let secure_cookies = given.secure_cookies
        || file.secure_cookies.unwrap_or(false)
        || public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"));
    let retry_minutes = given
        .retry_waiting_minutes
        .or(file.retry_waiting_minutes)
        .unwrap_or(DEFAULT_RETRY_WAITING_MINUTES);
    if retry_minutes > 7 * 24 * 60 {
        bail!("retry_waiting_minutes: 0 (never) to 10080 (a week)");
    }
    Ok(ServeSettings {
        database_url,
        listen: given
            .listen
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
        public_url,
        secure_cookies,
        retry_waiting_every: (retry_minutes > 0)
            .then(|| std::time::Duration::from_secs(retry_minutes * 60)),
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
        let from_file = resolve(Given::default(), file).unwrap();
        assert_eq!(
            (from_file.database_url.as_str(), from_file.listen.as_str()),
            ("sqlite://file.db", "0.0.0.0:9000")
        );
        let file = FileSettings::parse("database_url = \"sqlite://file.db\"").unwrap();
        let overridden = resolve(
            Given {
                database_url: Some("postgres://x@h/db".into()),
                ..Given::default()
            },
            file,
        )
        .unwrap();
        assert_eq!(overridden.database_url, "postgres://x@h/db");
        assert_eq!(overridden.listen, DEFAULT_LISTEN);
    }

    #[test]
    fn an_https_address_makes_cookies_secure() {
        let s = resolve(
            Given {
                database_url: Some("sqlite://a".into()),
                public_url: Some("https://contactpoint.example.org".into()),
                ..Given::default()
            },
            FileSettings::default(),
        )
        .unwrap();
        assert!(s.secure_cookies);
        let s = resolve(
            Given {
                database_url: Some("sqlite://a".into()),
                public_url: Some("http://localhost:8080".into()),
                ..Given::default()
            },
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
        let err = resolve(Given::default(), FileSettings::default())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("database_url"), "{err}");
    }

    #[test]
    fn waiting_records_are_tried_again_hourly_unless_the_file_or_a_flag_says_otherwise() {
        let database = || Given {
            database_url: Some("sqlite://a".into()),
            ..Given::default()
        };
        let hourly = resolve(database(), FileSettings::default()).unwrap();
        assert_eq!(
            hourly.retry_waiting_every,
            Some(std::time::Duration::from_secs(3_600))
        );
        let file = FileSettings::parse("retry_waiting_minutes = 15").unwrap();
        let from_file = resolve(database(), file).unwrap();
        assert_eq!(
            from_file.retry_waiting_every,
            Some(std::time::Duration::from_secs(900))
        );
        let file = FileSettings::parse("retry_waiting_minutes = 15").unwrap();
        let never = Given {
            retry_waiting_minutes: Some(0),
            ..database()
        };
        assert_eq!(resolve(never, file).unwrap().retry_waiting_every, None);
        let too_rare = Given {
            retry_waiting_minutes: Some(20_000),
            ..database()
        };
        let err = resolve(too_rare, FileSettings::default())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("retry_waiting_minutes"), "{err}");
    }
}
