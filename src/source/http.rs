//! HTTP manners for the live sources: one place for how paperwire talks to other people's
//! servers.
//!
//! A User-Agent naming paperwire and its version; connect and total timeouts; gzip; retries
//! with exponential backoff on 429, 5xx, timeouts and unreachable hosts, honouring
//! `Retry-After` (seconds or an HTTP date); an optional per-process gate that spaces requests
//! (arXiv asks for at most one request per 3 s); and a cap on the body size, enforced while
//! reading so an absurd body is never held in memory. Every error names the URL, and the
//! status when there was one. What is worth retrying ends as [`SourceError::Unavailable`]
//! (exit 75); what is not (4xx, oversized or non-UTF-8 bodies) as an input error (exit 2).

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::SourceError;
use crate::diag::{Location, Problems};

/// `paperwire/<version> (+https://github.com/paperwire)`.
pub const USER_AGENT: &str = concat!(
    "paperwire/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/paperwire)"
);

/// Timeouts, retry schedule and limits of the live sources. The defaults are for production;
/// tests shrink the durations to milliseconds.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for a whole request, body included.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub retries: usize,
    /// First backoff delay; it doubles up to `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// The longest `Retry-After` we wait for; a server asking for more means "try later".
    pub retry_after_max: Duration,
    /// Largest body read (after gzip decoding).
    pub max_body: usize,
    /// Minimum spacing between requests to arXiv, across the whole process.
    pub arxiv_interval: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            retries: 3,
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            retry_after_max: Duration::from_secs(300),
            max_body: 20 * 1024 * 1024,
            arxiv_interval: Duration::from_secs(3),
        }
    }
}

/// When the last request to a gated host started (one gate per process: arXiv).
static ARXIV_GATE: Mutex<Option<Instant>> = Mutex::const_new(None);

/// Whether requests go through the arXiv gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Gate {
    None,
    Arxiv,
}

/// One failed attempt.
#[derive(Debug)]
enum Attempt {
    /// Worth another try: the message and the server's `Retry-After`, if any.
    Retry {
        message: String,
        retry_after: Option<Duration>,
    },
    Fatal(SourceError),
}

/// A configured client.
pub(super) struct Http {
    client: reqwest::Client,
    opts: HttpOptions,
}

impl Http {
    pub(super) fn new(opts: &HttpOptions) -> Result<Self, SourceError> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.timeout)
            .gzip(true)
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| SourceError::Unsupported(format!("cannot set up HTTP: {e}")))?;
        Ok(Self {
            client,
            opts: opts.clone(),
        })
    }

    /// GETs `url` and returns its body as text, retrying what is worth retrying.
    pub(super) async fn get_text(&self, url: &url::Url, gate: Gate) -> Result<String, SourceError> {
        let shown = url.to_string();
        let attempts = self.opts.retries + 1;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.opts.backoff_min)
            .with_max_delay(self.opts.backoff_max)
            .with_max_times(self.opts.retries)
            .with_jitter();
        let retry_after_max = self.opts.retry_after_max;
        let mut too_long: Option<Duration> = None;
        let result = (|| self.attempt(url, gate))
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|e| matches!(e, Attempt::Retry { .. }))
            .adjust(|e, planned| {
                let planned = planned?;
                match e {
                    Attempt::Retry {
                        retry_after: Some(wait),
                        ..
                    } => {
                        if *wait > retry_after_max {
                            too_long = Some(*wait);
                            None
                        } else {
                            Some(*wait)
                        }
                    }
                    _ => Some(planned),
                }
            })
            .notify(|e, wait| {
                if let Attempt::Retry { message, .. } = e {
                    tracing::warn!("{shown}: {message}; retrying in {}", seconds(wait));
                }
            })
            .await;
        match result {
            Ok(body) => Ok(body),
            Err(Attempt::Fatal(e)) => Err(e),
            Err(Attempt::Retry { message, .. }) => Err(SourceError::Unavailable {
                url: shown,
                message: match too_long {
                    Some(wait) => format!(
                        "{message}; the server asks to retry after {}s",
                        wait.as_secs()
                    ),
                    None if attempts > 1 => {
                        format!("{message} (gave up after {attempts} attempts)")
                    }
                    None => message,
                },
                later: crate::exit::Temporary,
            }),
        }
    }

    async fn wait_for_gate(&self, gate: Gate) {
        if gate == Gate::None {
            return;
        }
        let mut last = ARXIV_GATE.lock().await;
        if let Some(prev) = *last {
            tokio::time::sleep_until(prev + self.opts.arxiv_interval).await;
        }
        *last = Some(Instant::now());
    }

    async fn attempt(&self, url: &url::Url, gate: Gate) -> Result<String, Attempt> {
        self.wait_for_gate(gate).await;
        let shown = url.as_str();
        let mut resp = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| Attempt::Retry {
                message: describe(&e),
                retry_after: None,
            })?;
        let status = resp.status();
        if status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
            || status.is_server_error()
        {
            return Err(Attempt::Retry {
                message: format!("HTTP {status}"),
                retry_after: retry_after(resp.headers(), Utc::now()),
            });
        }
        if !status.is_success() {
            let detail = error_detail(&mut resp).await;
            return Err(Attempt::Fatal(SourceError::Rejected {
                url: shown.to_owned(),
                status: status.as_u16(),
                message: detail,
            }));
        }
        let limit = self.opts.max_body;
        let too_large = || {
            Attempt::Fatal(SourceError::TooLarge {
                url: shown.to_owned(),
                limit,
            })
        };
        if resp
            .content_length()
            .is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX))
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > limit {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(Attempt::Retry {
                        message: format!("reading the body: {}", describe(&e)),
                        retry_after: None,
                    });
                }
            }
        }
        String::from_utf8(body).map_err(|e| {
            Attempt::Fatal(SourceError::Malformed(Problems::one(
                Location::file(std::path::Path::new(shown)),
                format!(
                    "the body is not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            )))
        })
    }
}

/// A reqwest error in a few words.
fn describe(e: &reqwest::Error) -> String {
    let mut msg = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    // The root cause says which (refused, DNS, TLS…).
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut last = None;
    while let Some(c) = cause {
        last = Some(c.to_string());
        cause = c.source();
    }
    if let Some(root) = last {
        msg.push_str(": ");
        msg.push_str(&root);
    }
    msg
}

/// A short reason from a 4xx body: an API's `{"error": "..."}`, or nothing.
async fn error_detail(resp: &mut reqwest::Response) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() > 4096 {
            return String::new();
        }
    }
    serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
        .map(|s| s.chars().take(200).collect())
        .unwrap_or_default()
}

/// `Retry-After` as a wait from `now`: delay-seconds or an HTTP date.
pub(super) fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let raw = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(raw).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// A wait for people, rounded: "1.8 s", "12 s".
fn seconds(wait: Duration) -> String {
    let s = wait.as_secs_f64();
    if s < 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.0} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = DateTime::parse_from_rfc3339("2024-05-27T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, now), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(120)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Mon, 27 May 2024 08:00:30 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Mon, 27 May 2024 07:00:00 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
    }

    #[test]
    fn waits_are_rounded_for_people() {
        assert_eq!(seconds(Duration::from_nanos(1_780_632_377)), "1.8 s");
        assert_eq!(seconds(Duration::from_millis(12_400)), "12 s");
        assert_eq!(seconds(Duration::ZERO), "0.0 s");
    }

    #[test]
    fn user_agent_names_paperwire_and_its_version() {
        assert_eq!(
            USER_AGENT,
            format!(
                "paperwire/{} (+https://github.com/paperwire)",
                env!("CARGO_PKG_VERSION")
            )
        );
    }
}
