//! The secrets: `PAPERWIRE_SECRET` (the key of the signed links) and `PAPERWIRE_SMTP_PASSWORD`.
//! They come only from the environment, or from the file a `*_FILE` twin names (systemd
//! credentials), are read once when the config is loaded, and are held in `secrecy` types whose
//! `Debug` prints `[REDACTED]`, so no log line or error can show them.

use std::path::PathBuf;

use secrecy::{SecretSlice, SecretString};

use super::ConfigError;

/// The secrets of a run; either may be absent (the commands that need one say so).
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    signing_key: Option<SecretSlice<u8>>,
    smtp_password: Option<SecretString>,
}

impl Secrets {
    /// Reads both from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self::new(
            secret_from_env("PAPERWIRE_SECRET")?.as_deref(),
            secret_from_env("PAPERWIRE_SMTP_PASSWORD")?.as_deref(),
        ))
    }

    /// Secrets from values at hand (tests, embedding).
    pub fn new(signing_key: Option<&str>, smtp_password: Option<&str>) -> Self {
        Self {
            signing_key: signing_key.map(|k| SecretSlice::from(k.as_bytes().to_vec())),
            smtp_password: smtp_password.map(SecretString::from),
        }
    }

    /// `PAPERWIRE_SECRET`: signs unsubscribe (and other) links.
    pub fn signing_key(&self) -> Option<&SecretSlice<u8>> {
        self.signing_key.as_ref()
    }

    /// `PAPERWIRE_SMTP_PASSWORD`.
    pub fn smtp_password(&self) -> Option<&SecretString> {
        self.smtp_password.as_ref()
    }

    #[cfg(test)]
    pub(crate) fn for_tests(signing_key: &str, smtp_password: Option<&str>) -> Self {
        Self::new(Some(signing_key), smtp_password)
    }
}

/// Reads a secret from `NAME`, or from the file named by `NAME_FILE` (systemd credentials).
pub fn secret_from_env(name: &'static str) -> Result<Option<String>, ConfigError> {
    if let Ok(v) = std::env::var(name)
        && !v.is_empty()
    {
        return Ok(Some(v));
    }
    if let Some(path) = std::env::var_os(format!("{name}_FILE")).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        let v = std::fs::read_to_string(&path).map_err(|source| ConfigError::SecretFile {
            name,
            path,
            source,
        })?;
        let v = v.trim_end_matches(['\r', '\n']).to_owned();
        return Ok(Some(v).filter(|v| !v.is_empty()));
    }
    Ok(None)
}
