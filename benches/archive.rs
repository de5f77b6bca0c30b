//! Archive benchmark: the whole site of a year of editions, and adding one edition to it.
//!
//!     cargo bench --bench archive               # 365 editions × 90 papers
//!     EDITIONS=730 PAPERS=60 cargo bench --bench archive
//!
//! Generates a state directory (frozen paper lists, sections, published marks) in a temp
//! directory, then measures, best of RUNS (default 3):
//! - the floor: reading every edition's frozen list and sections, rendering nothing;
//! - a whole build (`paperwire archive`), into an empty directory;
//! - adding one more edition to the built site (what `send` does after a complete send).
//!
//! Prints each figure, its budget (whole build ≤ 5 s, add ≤ 200 ms) and the ratios
//! build/floor and add/build.

use std::time::{Duration, Instant};

use paperwire::archive::Archive;
use paperwire::config::{self, ArchiveSettings, ConfigOrigin};
use paperwire::digest::Digest;
use paperwire::edition::EditionId;
use paperwire::paper::{Paper, PaperId};
use paperwire::state::{EditionSections, StateDir};

const TOPICS: &[&str] = &[
    "federated learning with client drift",
    "structured pruning and quantization",
    "vision transformer token pruning",
    "medical image segmentation",
    "graph neural networks",
    "diffusion models for image generation",
    "large language model alignment",
    "a study of nothing in particular",
];

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Paper `i` of edition `e`: a realistic size (title, 3 authors, a 1 KB abstract, links).
fn paper(e: usize, i: usize) -> Paper {
    let id = PaperId::parse(&format!("{:02}{:02}.{:05}", 10 + e / 12, e % 12 + 1, i))
        .expect("a valid id");
    let topic = TOPICS[(e * 3 + i) % TOPICS.len()];
    let sentence = format!("We study {topic} at scale and report gains on standard benchmarks. ");
    let mut p = Paper::new(
        id,
        format!("Towards better {topic}: an empirical study ({e}/{i})"),
        sentence.repeat(1000 / sentence.len() + 1),
    );
    p.authors = vec![
        "Ada Lovelace".into(),
        "Alan Turing".into(),
        "Grace Hopper".into(),
    ];
    p.upvotes = Some(((e * 7 + i * 13) % 80) as u32);
    p.links.code = paperwire::paper::HttpUrl::parse_opt(Some("https://github.com/example/code"));
    p
}

fn best(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    (0..runs).map(|_| f()).min().unwrap_or_default()
}

fn main() {
    let editions = env("EDITIONS", 365);
    let per_edition = env("PAPERS", 90);
    let runs = env("RUNS", 3).max(1);
    let tmp = tempfile::tempdir().expect("a temp dir");
    let mut settings = config::load(&ConfigOrigin::Bundled).expect("the bundled config");
    settings.state_dir = tmp.path().join("state");
    settings.archive = Some(ArchiveSettings {
        dir: None,
        base_url: "https://digest.example.org/archive".into(),
    });
    let state = StateDir::new(&settings.state_dir);
    let first = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).expect("a date");
    let publish = |e: usize| {
        let date = first + chrono::Days::new(e as u64);
        let id = EditionId::for_date(date);
        let files = state.edition(&id);
        let papers: Vec<Paper> = (0..per_edition).map(|i| paper(e, i)).collect();
        let digest = Digest::build(papers.clone(), &settings.rules);
        files
            .write_sections(&EditionSections::of(&digest))
            .expect("sections");
        files.freeze(&papers, Some(date)).expect("freeze");
        files
            .mark_published(date.and_hms_opt(7, 0, 0).expect("a time").and_utc())
            .expect("mark");
        id
    };
    let started = Instant::now();
    for e in 0..editions {
        publish(e);
    }
    eprintln!(
        "generated {editions} editions × {per_edition} papers in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let floor = best(runs, || {
        let t = Instant::now();
        for id in state.editions() {
            let files = state.edition(&id);
            let papers = files.frozen_papers().expect("papers").expect("frozen");
            let sections = files.read_sections().expect("sections");
            std::hint::black_box((papers, sections));
        }
        t.elapsed()
    });
    let build = best(runs, || {
        let out = tmp.path().join("site-build");
        let _ = std::fs::remove_dir_all(&out);
        let archive = Archive::new(&settings, &out).expect("templates");
        let t = Instant::now();
        let summary = archive.build().expect("build");
        let took = t.elapsed();
        assert_eq!(summary.editions, editions);
        took
    });
    let out = tmp.path().join("site");
    Archive::new(&settings, &out)
        .expect("templates")
        .build()
        .expect("build");
    let new_id = publish(editions);
    let add = best(runs, || {
        // Each run adds the new edition to the site as it was before it.
        let manifest = std::fs::read(out.join("editions.json")).expect("manifest");
        let t = Instant::now();
        let archive = Archive::new(&settings, &out).expect("templates");
        let summary = archive.add(&new_id).expect("add");
        let took = t.elapsed();
        assert!(!summary.full, "an add must not rebuild everything");
        std::fs::write(out.join("editions.json"), manifest).expect("restore");
        took
    });

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("| what | time | budget |");
    println!("|---|---:|---:|");
    println!(
        "| read the state only (floor), {editions} editions | {:.0} ms | |",
        ms(floor)
    );
    println!(
        "| whole build, {editions} editions × {per_edition} papers | {:.0} ms | 5000 ms |",
        ms(build)
    );
    println!(
        "| add one edition (templates compiled included) | {:.1} ms | 200 ms |",
        ms(add)
    );
    println!(
        "\nwhole build = {:.1} × the floor; adding one = {:.3} × a whole build",
        ms(build) / ms(floor),
        ms(add) / ms(build)
    );
    let ok = build <= Duration::from_secs(5) && add <= Duration::from_millis(200);
    println!("{}", if ok { "within budget" } else { "OVER BUDGET" });
    if !ok {
        std::process::exit(1);
    }
}
