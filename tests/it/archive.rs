//! The web archive end to end: `send` adds an edition once it is complete and the email links
//! to it, `paperwire archive` rebuilds the same bytes, every link in the site is relative and
//! leads somewhere, and `serve` hands out the archive and nothing outside it.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use paperwire::serve::{self, ServeContext, ServeLimits};
use paperwire::subscribers::SubscriberStore;

use crate::harness::{Faults, SmtpServer, TestEnv};

const SECRET: (&str, &str) = ("PAPERWIRE_SECRET", "test-secret");
const FAST_RETRY: (&str, &str) = ("PAPERWIRE_RETRY_BASE_MS", "20");
const ARCHIVE: &str = "dir = \"site\"\nbase_url = \"https://digest.example.org/archive\"";

const SUBSCRIBERS: &str = r#"
[[subscriber]]
email      = "capped@example.org"
name       = "Zelda Quux"
max_papers = 3

[[subscriber]]
email      = "text@example.org"
format     = "text"
max_papers = 3
"#;

fn send(env: &TestEnv, edition: &str) -> crate::harness::Output {
    env.run_with_env(
        &["send", "-c", "paperwire.toml", "--edition", edition],
        &[SECRET, FAST_RETRY],
    )
}

/// `href="…"` values of an HTML page.
fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|h| h.replace("&amp;", "&"))
        .collect()
}

/// `id="…"` values of an HTML page.
fn ids(html: &str) -> BTreeSet<String> {
    html.split(" id=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// Every link between the site's pages is relative and names a file (and anchor) that exists;
/// returns the pages reached from `index.html`.
fn assert_links_resolve(site: &Path) -> BTreeSet<std::path::PathBuf> {
    let mut pages = vec![site.join("index.html")];
    let mut seen = BTreeSet::new();
    while let Some(page) = pages.pop() {
        let page = page.canonicalize().unwrap();
        if !seen.insert(page.clone()) {
            continue;
        }
        let html = std::fs::read_to_string(&page).unwrap();
        for href in hrefs(&html) {
            if href.starts_with("https://") || href.starts_with("http://") {
                assert!(
                    !href.contains("digest.example.org"),
                    "{}: a link into the site is absolute: {href}",
                    page.display()
                );
                continue;
            }
            assert!(!href.starts_with('/'), "{}: {href}", page.display());
            let (file, anchor) = href.split_once('#').unwrap_or((&href, ""));
            let target = if file.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(file)
            };
            assert!(target.is_file(), "{}: {href} leads nowhere", page.display());
            if !anchor.is_empty() {
                let text = std::fs::read_to_string(&target).unwrap();
                assert!(
                    ids(&text).contains(anchor),
                    "{}: no #{anchor}",
                    page.display()
                );
            }
            if target.extension().is_some_and(|e| e == "html") {
                pages.push(target);
            }
        }
    }
    seen
}

#[test]
fn a_complete_send_adds_the_edition_and_the_email_links_into_it() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    env.subscribers(SUBSCRIBERS);
    env.config_builder(Some(&server.url()))
        .with_table("archive", ARCHIVE)
        .write();
    send(&env, "2026-11-28").assert_code(0);
    let page = env.read("site/2026-11-28/index.html");
    let frozen: serde_json::Value =
        serde_json::from_str(&env.read("state/editions/2026-11-28/papers.json")).unwrap();
    let papers = frozen["papers"].as_array().unwrap();
    // Every paper, whatever the readers' caps, and nobody's name or unsubscribe link.
    assert_eq!(page.matches("<li id=\"p-").count(), papers.len());
    assert!(!page.contains("unsubscribe"), "{page}");
    assert!(!page.contains("Zelda"), "a reader's name on the page");
    let anchors = ids(&page);

    let mail = server.wait_for(2, Duration::from_secs(5));
    let html = mail.iter().find_map(|m| m.summary().html).unwrap();
    let url = "https://digest.example.org/archive/2026-11-28/";
    let view = html
        .find(&format!("href=\"{url}\""))
        .expect("a link to the page");
    assert!(
        html[view..]
            .split("</a>")
            .next()
            .unwrap()
            .ends_with(">View in browser"),
        "{html}"
    );
    let more: Vec<String> = hrefs(&html)
        .into_iter()
        .filter_map(|h| h.strip_prefix(&format!("{url}#")).map(str::to_owned))
        .collect();
    assert!(!more.is_empty(), "no \"N more in\" link: {html}");
    for anchor in &more {
        assert!(anchors.contains(anchor), "#{anchor} is not on the page");
    }
    let text = mail.iter().find_map(|m| {
        let s = m.summary();
        s.html.is_none().then_some(s.text).flatten()
    });
    let text = text.unwrap();
    assert!(text.contains(&format!("View in browser: {url}")), "{text}");
    assert!(text.contains(&format!(": {url}#{}", more[0])), "{text}");

    let reached = assert_links_resolve(&env.path("site"));
    let page_path = env
        .path("site/2026-11-28/index.html")
        .canonicalize()
        .unwrap();
    assert!(reached.contains(&page_path), "{reached:?}");
    let feed = env.read("site/feed.xml");
    assert!(
        feed.contains(
            "<link rel=\"alternate\" type=\"text/html\" href=\"2026-11-28/index.html\"/>"
        )
    );
    assert!(feed.contains("xml:base=\"https://digest.example.org/archive/\""));
}

#[test]
fn an_edition_with_deferred_recipients_waits_until_they_are_settled() {
    let server = SmtpServer::with_faults(Faults::new().temp_fail_times("text@example.org", 5));
    let env = TestEnv::new();
    env.subscribers(SUBSCRIBERS);
    env.config_builder(Some(&server.url()))
        .with_delivery("retries = 1")
        .with_table("archive", ARCHIVE)
        .write();
    send(&env, "2026-11-28").assert_code(75);
    assert!(
        !env.exists("site/2026-11-28"),
        "published before everyone got it"
    );
    assert!(!env.exists("state/editions/2026-11-28/published.json"));
    // `--only` finishes nobody's edition.
    env.run_with_env(
        &[
            "send",
            "-c",
            "paperwire.toml",
            "--edition",
            "2026-11-28",
            "--only",
            "capped@example.org",
        ],
        &[SECRET, FAST_RETRY],
    )
    .assert_code(0);
    assert!(!env.exists("site/2026-11-28"));
    let mut out = send(&env, "2026-11-28");
    while out.code == Some(75) {
        out = send(&env, "2026-11-28");
    }
    out.assert_code(0);
    assert!(env.exists("site/2026-11-28/index.html"));
    assert!(env.exists("state/editions/2026-11-28/published.json"));
}

#[test]
fn paperwire_archive_rebuilds_the_same_bytes_and_needs_a_directory() {
    let env = TestEnv::new();
    env.subscribers(SUBSCRIBERS);
    env.config_builder(None)
        .with_table("archive", ARCHIVE)
        .write();
    send(&env, "2026-11-28").assert_code(0);
    let sent = env.read("site/2026-11-28/index.html");
    let feed = env.read("site/feed.xml");
    std::fs::remove_dir_all(env.path("site")).unwrap();

    let out = env.run(&["archive", "-c", "paperwire.toml"]);
    out.assert_code(0);
    assert_eq!(out.stdout, "archive ./site: 1 edition, 5 files written\n");
    assert_eq!(env.read("site/2026-11-28/index.html"), sent);
    assert_eq!(env.read("site/feed.xml"), feed);
    let out = env.run(&["archive", "-c", "paperwire.toml", "--out", "elsewhere"]);
    out.assert_code(0);
    for file in [
        "index.html",
        "feed.xml",
        "editions.json",
        "2026-11-28/index.html",
    ] {
        assert_eq!(
            env.read(Path::new("site").join(file)),
            env.read(Path::new("elsewhere").join(file)),
            "{file}"
        );
    }

    env.config_builder(None).write();
    let out = env.run(&["archive", "-c", "paperwire.toml"]);
    out.assert_code(2);
    insta::assert_snapshot!(out.stderr, @"paperwire: error: no archive directory: pass --out DIR, or set `dir` in the [archive] table of paperwire.toml");
}

#[test]
fn a_web_template_that_does_not_compile_stops_the_send_before_anything_goes_out() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    env.subscribers(SUBSCRIBERS);
    env.write(
        "templates/web/index.html.hbs",
        "<p>{{#each editions}}</p>\n",
    );
    env.config_builder(Some(&server.url()))
        .with_table("archive", ARCHIVE)
        .with_templates("dir = \"templates\"")
        .write();
    let out = send(&env, "2026-11-28");
    out.assert_code(2);
    assert!(
        out.stderr
            .contains("templates/web/index.html.hbs:2:1: template does not compile"),
        "{out}"
    );
    assert!(!out.stderr.contains("sent"), "{out}");
    assert!(server.messages().is_empty());
    let out = env.run(&["check", "-c", "paperwire.toml"]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("templates/web/index.html.hbs:2:1"),
        "{out}"
    );
}

/// A router serving `site` under `/archive/` on a free loopback port; its address.
async fn serve_archive(root: &Path, site: &Path) -> std::net::SocketAddr {
    std::fs::write(root.join("subscribers.toml"), "").unwrap();
    let context = ServeContext {
        store: SubscriberStore::new(root.join("subscribers.toml")),
        secret: Arc::from(&b"a test secret that is long enough"[..]),
        list_id: "test.example.org".into(),
        title: "Test".into(),
        preview: Arc::new(|| Box::pin(async { Ok(String::new()) })),
        archive: Some(site.to_owned()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ServeLimits::default();
    tokio::spawn(serve::serve(
        listener,
        serve::router(context, limits),
        limits,
        std::future::pending(),
    ));
    addr
}

/// One request with the path exactly as given (no client normalizes it); the response.
fn raw_get(addr: std::net::SocketAddr, path: &str, extra: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    response.split("\r\n\r\n").next()?.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_hands_out_the_archive_and_nothing_outside_it() {
    let env = TestEnv::new();
    env.subscribers(SUBSCRIBERS);
    env.config_builder(None)
        .with_table("archive", ARCHIVE)
        .write();
    let out = tokio::task::block_in_place(|| send(&env, "2026-11-28"));
    out.assert_code(0);
    let site = env.path("site");
    env.write("secret.txt", "not for the web");
    env.write("site/.hidden", "dotfiles stay private");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(env.path("paperwire.toml"), site.join("config.html")).unwrap();
        std::os::unix::fs::symlink(env.root(), site.join("outside")).unwrap();
    }
    let addr = serve_archive(env.root(), &site).await;
    let get = |path: &'static str, extra: &'static str| {
        tokio::task::spawn_blocking(move || raw_get(addr, path, extra))
    };

    let index = get("/archive/", "").await.unwrap();
    assert!(index.starts_with("HTTP/1.1 200"), "{index}");
    assert_eq!(
        header(&index, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(header(&index, "cache-control"), Some("public, max-age=300"));
    assert_eq!(header(&index, "x-content-type-options"), Some("nosniff"));
    let page = get("/archive/2026-11-28/", "").await.unwrap();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("<li id=\"p-"));
    let feed = get("/archive/feed.xml", "").await.unwrap();
    assert_eq!(
        header(&feed, "content-type"),
        Some("application/atom+xml; charset=utf-8")
    );
    let last_modified = header(&feed, "last-modified")
        .expect("Last-Modified")
        .to_owned();
    let conditional = tokio::task::spawn_blocking(move || {
        raw_get(
            addr,
            "/archive/feed.xml",
            &format!("If-Modified-Since: {last_modified}\r\n"),
        )
    })
    .await
    .unwrap();
    assert!(conditional.starts_with("HTTP/1.1 304"), "{conditional}");
    // Directories get their trailing slash, so relative links resolve.
    let bare = get("/archive", "").await.unwrap();
    assert!(bare.starts_with("HTTP/1.1 308"), "{bare}");
    assert_eq!(header(&bare, "location"), Some("archive/"));
    let edition = get("/archive/2026-11-28", "").await.unwrap();
    assert_eq!(header(&edition, "location"), Some("2026-11-28/"));

    for path in [
        "/archive/../paperwire.toml",
        "/archive/..%2fpaperwire.toml",
        "/archive/%2e%2e/paperwire.toml",
        "/archive/%2E%2E%2Fpaperwire.toml",
        "/archive/%252e%252e/paperwire.toml",
        "/archive/%252e%252e%252fpaperwire.toml",
        "/archive/..%5cpaperwire.toml",
        "/archive/..\\paperwire.toml",
        "/archive/2026-11-28/../../paperwire.toml",
        "/archive//etc/passwd",
        "/archive/%2fetc%2fpasswd",
        "/archive/%2F..%2F..%2Fpaperwire.toml",
        "/archive/.hidden",
        "/archive/%2ehidden",
        "/archive/config.html",
        "/archive/outside/secret.txt",
        "/archive/outside/",
        "/archive/nothing-here.html",
        "/archive/index.html%00.txt",
    ] {
        let response = get(path, "").await.unwrap();
        assert!(response.starts_with("HTTP/1.1 404"), "{path}: {response}");
        assert!(!response.contains("not for the web"), "{path}");
        assert!(!response.contains("[newsletter]"), "{path}");
    }
}
