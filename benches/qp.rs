//! Quoted-printable benchmark: the lines a personal email encodes for itself, a million times
//! each, with paperwire's encoder and with what lettre does (`quoted_printable::encode` of the
//! text with CRLF line endings).
//!
//!     cargo bench --bench qp               # 1,000,000 rounds
//!     ROUNDS=200000 cargo bench --bench qp
//!
//! Checks that both give the same bytes, then prints each line's time for both and the ratio
//! lettre/paperwire, best of RUNS (default 3).

use std::hint::black_box;
use std::time::{Duration, Instant};

use paperwire::deliver::qp;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Every `\n` not after a `\r` made `\r\n`, as lettre does before encoding.
fn crlf(raw: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32 + 2);
    let mut after_cr = false;
    for &b in raw.as_bytes() {
        if b == b'\n' && !after_cr {
            out.push(b'\r');
        }
        out.push(b);
        after_cr = b == b'\r';
    }
    out
}

/// The best of `runs` timings of `rounds` calls of `f`.
fn best(runs: usize, rounds: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..rounds {
                f();
            }
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let rounds = env("ROUNDS", 1_000_000);
    let runs = env("RUNS", 3);
    // 120 characters, a few of them é.
    let long: String =
        "Résumé: a federated learning method for clients whose data drift, évalué ici. "
            .chars()
            .cycle()
            .take(120)
            .chain(['\n'])
            .collect();
    let lines = [
        (
            "own line",
            "  > matches vision transformer · by José Allen\n".to_owned(),
        ),
        (
            "contents",
            "In this issue: For you (4) · Federated Learning (0 of 9) · Vision (3 of 12) — \
             and 2 more\n"
                .to_owned(),
        ),
        ("120 chars, é", long),
        (
            "plain ASCII",
            "  > matches vision transformer, by Jose Allen\n".to_owned(),
        ),
    ];
    println!("quoted-printable, {rounds} rounds per line, best of {runs}");
    println!(
        "{:<14} {:>12} {:>12} {:>8}",
        "line", "paperwire", "lettre", "ratio"
    );
    let mut out = Vec::with_capacity(256);
    for (name, raw) in &lines {
        assert_eq!(
            qp::encode(raw),
            quoted_printable::encode(crlf(raw)),
            "{raw:?}"
        );
        let ours = best(runs, rounds, || {
            out.clear();
            qp::encode_into(black_box(raw), &mut out);
            black_box(&out);
        });
        let theirs = best(runs, rounds, || {
            out.clear();
            out.extend_from_slice(&quoted_printable::encode(crlf(black_box(raw))));
            black_box(&out);
        });
        println!(
            "{name:<14} {:>10.1}ms {:>10.1}ms {:>7.2}x",
            ours.as_secs_f64() * 1e3,
            theirs.as_secs_f64() * 1e3,
            theirs.as_secs_f64() / ours.as_secs_f64()
        );
    }
}
