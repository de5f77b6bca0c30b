//! The archive on generated state: adding editions one by one gives the very bytes of a whole
//! build, the same state gives the same bytes, and what is not published stays out.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::config::{ArchiveSettings, ConfigOrigin};
use crate::paper::PaperId;

/// The bundled config with its state in `dir/state` and its archive in `dir/site`.
pub(super) fn settings(dir: &Path) -> Settings {
    let mut s = crate::config::load(&ConfigOrigin::Bundled).expect("the bundled config loads");
    s.state_dir = dir.join("state");
    s.archive = Some(ArchiveSettings {
        dir: Some(dir.join("site")),
        base_url: "https://digest.example.org/archive".into(),
    });
    s
}

/// `n` papers for edition number `e`, spread over the bundled config's sections.
pub(super) fn papers(e: usize, n: usize) -> Vec<Paper> {
    const TOPICS: &[&str] = &[
        "federated learning with client drift",
        "structured pruning and quantization",
        "vision transformer token pruning",
        "medical image segmentation",
        "graph neural networks",
        "diffusion models for image generation",
        "a study of nothing in particular",
    ];
    (0..n)
        .map(|i| {
            let id = PaperId::parse(&format!("{:02}{:02}.{:05}", 20 + e / 12, e % 12 + 1, i))
                .expect("a valid id");
            let topic = TOPICS[(e + i) % TOPICS.len()];
            let mut p = Paper::new(
                id,
                format!("On {topic}, part {i} of edition {e}"),
                format!(
                    "We revisit {topic}. Our method improves results on five benchmarks & more. \
                     It is <b>simple</b> and fast, and the code is public."
                ),
            );
            p.authors = vec!["Ada Lovelace".into(), "Alan Turing".into()];
            p.upvotes = Some(((e * 7 + i * 13) % 50) as u32);
            p
        })
        .collect()
}

/// Freezes and publishes edition `day` days after 2026-01-01 with `n` papers, as a send would.
pub(super) fn publish(settings: &Settings, day: usize, n: usize) -> EditionId {
    let date = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(day as u64);
    let id = EditionId::for_date(date);
    let files = StateDir::new(&settings.state_dir).edition(&id);
    let papers = papers(day, n);
    let digest = Digest::build(papers.clone(), &settings.rules);
    files.write_sections(&EditionSections::of(&digest)).unwrap();
    files.freeze(&papers, Some(date)).unwrap();
    let at = date.and_hms_opt(7, 0, 0).unwrap().and_utc();
    files.mark_published(at).unwrap();
    id
}

/// Every file under `dir`, by relative path.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn assert_same_tree(a: &Path, b: &Path) {
    let (ta, tb) = (tree(a), tree(b));
    assert_eq!(
        ta.keys().collect::<Vec<_>>(),
        tb.keys().collect::<Vec<_>>(),
        "file lists differ"
    );
    for (name, bytes) in &ta {
        assert!(bytes == &tb[name], "{name} differs");
    }
}

#[test]
fn adding_editions_one_by_one_gives_the_bytes_of_a_whole_build() {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path());
    let one_by_one = dir.path().join("site");
    let archive = Archive::new(&settings, &one_by_one).unwrap();
    // Past two range boundaries, with one edition added late (a backfill in the middle).
    let days: Vec<usize> = (0..64).filter(|d| *d != 20).chain([20]).collect();
    for (i, day) in days.iter().enumerate() {
        let id = publish(&settings, *day, 3 + day % 4);
        let summary = archive.add(&id).unwrap();
        assert_eq!(summary.full, i == 0, "only the first add builds everything");
        assert_eq!(summary.editions, i + 1);
    }
    // Refreshing an edition already there changes nothing.
    let again = archive
        .add(&EditionId::parse("2026-01-10").unwrap())
        .unwrap();
    assert_eq!(again.written, 0);

    let whole = dir.path().join("whole");
    let summary = Archive::new(&settings, &whole).unwrap().build().unwrap();
    assert_eq!((summary.editions, summary.full), (64, true));
    assert_same_tree(&one_by_one, &whole);
    assert!(whole.join("pages/3.html").is_file());
    assert!(!whole.join("pages/4.html").exists());

    // The same state gives the same bytes, and a rebuild touches nothing.
    let rebuilt = Archive::new(&settings, &whole).unwrap().build().unwrap();
    assert_eq!(rebuilt.written, 0);
}

#[test]
fn only_published_editions_with_usable_ids_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path());
    publish(&settings, 0, 5);
    // Frozen but never complete (a send cut short).
    let state = StateDir::new(&settings.state_dir);
    let unfinished = state.edition(&EditionId::parse("2026-01-05").unwrap());
    unfinished.freeze(&papers(4, 5), None).unwrap();
    // An id that names one of the archive's own files.
    let reserved = state.edition(&EditionId::parse("feed.xml").unwrap());
    reserved.freeze(&papers(5, 5), None).unwrap();
    reserved.mark_published(Utc::now()).unwrap();

    let out = dir.path().join("site");
    let summary = Archive::new(&settings, &out).unwrap().build().unwrap();
    assert_eq!(summary.editions, 1);
    assert!(out.join("2026-01-01/index.html").is_file());
    assert!(!out.join("2026-01-05").exists());
    assert!(
        out.join("feed.xml").is_file(),
        "the feed is the archive's own"
    );
}

#[test]
fn a_removed_edition_leaves_and_a_template_change_rebuilds() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(dir.path());
    for day in 0..3 {
        publish(&settings, day, 4);
    }
    let out = dir.path().join("site");
    Archive::new(&settings, &out).unwrap().build().unwrap();
    let gone = StateDir::new(&settings.state_dir).edition(&EditionId::parse("2026-01-02").unwrap());
    std::fs::remove_dir_all(gone.dir()).unwrap();
    // An add that finds its listing out of step with the state rebuilds from the state.
    let id = publish(&settings, 3, 4);
    let summary = Archive::new(&settings, &out).unwrap().add(&id).unwrap();
    assert_eq!((summary.editions, summary.full), (3, true));
    assert!(!out.join("2026-01-02").exists());

    let templates = dir.path().join("templates/web");
    std::fs::create_dir_all(&templates).unwrap();
    let original = Templates::builtin()
        .web_sources()
        .find(|(n, _)| *n == "web/edition.html.hbs")
        .map(|(_, s)| s.to_owned())
        .unwrap();
    std::fs::write(
        templates.join("edition.html.hbs"),
        original.replace("All editions", "Every edition"),
    )
    .unwrap();
    settings.templates_dir = Some(dir.path().join("templates"));
    let id = publish(&settings, 4, 4);
    let summary = Archive::new(&settings, &out).unwrap().add(&id).unwrap();
    assert!(
        summary.full,
        "other templates, other pages: everything is rebuilt"
    );
    let page = std::fs::read_to_string(out.join("2026-01-01/index.html")).unwrap();
    assert!(page.contains("Every edition"), "{page}");
}

#[test]
fn an_edition_keeps_the_sections_its_email_had() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(dir.path());
    publish(&settings, 0, 14);
    // Rules changed after the send: the archive still shows the edition's own sections.
    settings.rules.sections.truncate(1);
    let out = dir.path().join("site");
    Archive::new(&settings, &out).unwrap().build().unwrap();
    let page = std::fs::read_to_string(out.join("2026-01-01/index.html")).unwrap();
    assert!(page.contains(r#"<section id="graphs""#), "{page}");

    // An edition frozen before sections were recorded is grouped by today's rules.
    let legacy =
        StateDir::new(&settings.state_dir).edition(&EditionId::parse("2026-01-01").unwrap());
    std::fs::remove_file(legacy.sections_path()).unwrap();
    Archive::new(&settings, &out).unwrap().build().unwrap();
    let page = std::fs::read_to_string(out.join("2026-01-01/index.html")).unwrap();
    assert!(!page.contains(r#"<section id="graphs""#), "{page}");
    assert!(
        page.contains(r#"<section id="federated-learning""#),
        "{page}"
    );

    // A sections.json naming a paper the frozen list lacks is a hand edit worth pointing at.
    std::fs::write(
        legacy.sections_path(),
        r#"{"sections": [{"name": "X", "papers": ["1999.99999"]}]}"#,
    )
    .unwrap();
    let e = Archive::new(&settings, &out).unwrap().build().unwrap_err();
    assert!(
        e.to_string()
            .contains("names paper 1999.99999 in section `X`"),
        "{e}"
    );
}

#[test]
fn a_small_edition_page_and_feed_read_as_expected() {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path());
    let id = publish(&settings, 27, 2);
    let out = dir.path().join("site");
    Archive::new(&settings, &out).unwrap().add(&id).unwrap();
    let read = |rel: &str| std::fs::read_to_string(out.join(rel)).unwrap();
    insta::assert_snapshot!("edition_page", read("2026-01-28/index.html"));
    insta::assert_snapshot!("feed", read("feed.xml"));
    // The fingerprint changes with paperwire's version; what it does is tested above.
    let manifest: String = read(MANIFEST)
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("\"fingerprint\"") {
                "  \"fingerprint\": \"[sha-256]\",\n".to_owned()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    insta::assert_snapshot!("manifest", manifest);
}
