//! What several subcommands share: loading the config, writing output files whole, and turning
//! SIGINT/SIGTERM into a cancellation.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use paperwire::config::{self, Settings};
use tokio_util::sync::CancellationToken;

/// Loads the config from `--config`, `PAPERWIRE_CONFIG` or `./paperwire.toml`; `allow_bundled`
/// falls back to the bundled sample (preview, check and explain only).
pub fn load_settings(flag: Option<&Path>, allow_bundled: bool) -> anyhow::Result<Settings> {
    let origin = config::locate(flag, allow_bundled)?;
    Ok(config::load(&origin)?)
}

/// Writes `bytes` to `path` whole or not at all.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    paperwire::fsutil::write_atomically(path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Writes to `--out` (whole or not at all) or to stdout.
pub fn emit(out: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match out {
        Some(path) => write_atomically(path, bytes),
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
                // A reader that stopped early (`| head`) is not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => Ok(other?),
            }
        }
    }
}

/// Prints `text` on stdout; a reader that stopped early (`| head`) is not an error.
pub fn print(text: &str) -> anyhow::Result<()> {
    emit(None, text.as_bytes())
}

/// [`print`] with a newline.
pub fn println(text: &str) -> anyhow::Result<()> {
    print(&format!("{text}\n"))
}

/// A token cancelled on SIGINT (Ctrl-C) or SIGTERM (systemd, kill); `announce` is printed on
/// stderr when that happens.
pub fn cancel_on_signal(announce: &'static str) -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        eprintln!("{announce}");
        cancel.cancel();
    });
    token
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (systemd, kill).
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A duration in milliseconds from the environment, or `default`.
pub fn env_millis(var: &str, default: std::time::Duration) -> std::time::Duration {
    std::env::var(var)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map_or(default, std::time::Duration::from_millis)
}

/// A progress bar on a terminal.
pub struct Bar(indicatif::ProgressBar);

impl Bar {
    /// Hidden until the send starts (and only drawn on a terminal).
    pub fn new() -> Self {
        Self(indicatif::ProgressBar::hidden())
    }
}

impl paperwire::deliver::Progress for Bar {
    fn start(&self, total: usize) {
        self.0.set_length(total as u64);
        self.0
            .set_draw_target(indicatif::ProgressDrawTarget::stderr());
        self.0.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} sent ({rate}, {eta} left)",
            )
            .map(|style| {
                style.with_key(
                    "rate",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = w.write_str(&rate(state.per_sec()));
                    },
                )
            })
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    }
    fn advance(&self) {
        self.0.inc(1);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// A send rate for the progress line, rounded so it reads at a glance: "1234/s", "12/s",
/// "3.5/s".
pub fn rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        "-/s".to_owned()
    } else if per_sec < 9.95 {
        // Below what rounds to 10.0, which reads as "10/s".
        format!("{per_sec:.1}/s")
    } else {
        format!("{per_sec:.0}/s")
    }
}

#[cfg(test)]
mod tests {
    use super::rate;

    #[test]
    fn the_rate_is_rounded() {
        assert_eq!(rate(8223.4567), "8223/s");
        assert_eq!(rate(12.5), "12/s");
        assert_eq!(rate(3.4567), "3.5/s");
        assert_eq!(rate(9.94), "9.9/s");
        assert_eq!(rate(9.96), "10/s");
        assert_eq!(rate(0.0), "-/s");
        assert_eq!(rate(f64::INFINITY), "-/s");
    }
}
