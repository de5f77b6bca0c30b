//! The SMTP side of the config: `delivery.smtp_url` parsed into an endpoint with its TLS mode,
//! and the extra CA certificates of `delivery.tls_ca_file`.

use std::path::{Path, PathBuf};

/// How the SMTP connection is secured.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// `smtp://host:port`: plain text (AUTH refused unless the host is loopback).
    None,
    /// `smtp://host:port?tls=opportunistic`: STARTTLS when offered.
    Opportunistic,
    /// `smtp://host:587?tls=required`: STARTTLS or fail.
    StartTls,
    /// `smtps://host:465`: TLS from the first byte.
    Implicit,
}

/// A parsed `smtp_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpEndpoint {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: Option<String>,
}

impl SmtpEndpoint {
    /// `smtp://[user@]host[:port][?tls=required|opportunistic|none]` or `smtps://[user@]host[:port]`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = url::Url::parse(raw).map_err(|e| format!("`{raw}` is not a URL: {e}"))?;
        if !url.password().unwrap_or("").is_empty() {
            return Err(
                "the SMTP password must not be in the URL; set PAPERWIRE_SMTP_PASSWORD".to_owned(),
            );
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("`{raw}` has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let mut tls_param = None;
        for (k, v) in url.query_pairs() {
            match &*k {
                "tls" => tls_param = Some(v.into_owned()),
                other => return Err(format!("unknown SMTP URL parameter `{other}` (only `tls`)")),
            }
        }
        let (tls, default_port) = match (url.scheme(), tls_param.as_deref()) {
            ("smtps", None | Some("implicit")) => (TlsMode::Implicit, 465),
            ("smtps", Some(other)) => {
                return Err(format!(
                    "smtps:// is implicit TLS; `tls={other}` does not apply (use smtp://host:587?tls=required for STARTTLS)"
                ));
            }
            ("smtp", None | Some("none")) => (TlsMode::None, 25),
            ("smtp", Some("required" | "starttls")) => (TlsMode::StartTls, 587),
            ("smtp", Some("opportunistic")) => (TlsMode::Opportunistic, 25),
            ("smtp", Some("implicit")) => (TlsMode::Implicit, 465),
            ("smtp", Some(other)) => {
                return Err(format!(
                    "unknown tls mode `{other}` (expected required, opportunistic or none; or use smtps:// for implicit TLS)"
                ));
            }
            (other, _) => {
                return Err(format!(
                    "unknown SMTP URL scheme `{other}` (expected smtp:// or smtps://)"
                ));
            }
        };
        let user = Some(url.username()).filter(|u| !u.is_empty()).map(|u| {
            percent_encoding::percent_decode_str(u)
                .decode_utf8_lossy()
                .into_owned()
        });
        Ok(Self {
            host,
            port: url.port().unwrap_or(default_port),
            tls,
            user,
        })
    }

    /// `host:port`, with an IPv6 host in brackets (as in a URL).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

/// CA certificates from `delivery.tls_ca_file`, checked at load.
#[derive(Debug, Clone)]
pub struct ExtraCas {
    pub path: PathBuf,
    /// DER, in file order.
    pub certs: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl ExtraCas {
    /// Reads `path`: a PEM file with at least one `CERTIFICATE` block, each usable as a trust
    /// anchor. Other PEM blocks (a key, say) are ignored.
    pub fn load(path: &Path) -> Result<Self, String> {
        use rustls::pki_types::pem::{self, PemObject as _};
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let certs = rustls::pki_types::CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, pem::Error>>()
            .map_err(|e| format!("{} is not a PEM file: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            ));
        }
        let mut store = rustls::RootCertStore::empty();
        for (i, cert) in certs.iter().enumerate() {
            store.add(cert.clone()).map_err(|e| {
                format!(
                    "certificate {} in {} is not a usable CA certificate: {e}",
                    i + 1,
                    path.display()
                )
            })?;
        }
        Ok(Self {
            path: path.to_owned(),
            certs,
        })
    }
}
