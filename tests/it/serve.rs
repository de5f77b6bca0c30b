//! `paperwire serve` over real HTTP on 127.0.0.1: one-click unsubscribe, the confirm page that
//! never unsubscribes, refused tokens, limits, the preview, and the real binary.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use paperwire::serve::{self, PreviewFn, ServeContext, ServeLimits};
use paperwire::subscribers::{self, FoldPolicy, SubscriberEmail, SubscriberStore, token};
use reqwest::StatusCode;

use crate::subscribers::{CONFIG, EXAMPLE, SECTIONS};

const SECRET: &str = "a test secret that is long enough";
/// Folds soon after the requests stop, so that tests see the list written.
const QUICK_FOLDS: FoldPolicy = FoldPolicy {
    idle: Duration::from_millis(100),
    max_pending: 5000,
    max_delay: Duration::from_secs(2),
    retry_after: Duration::from_millis(200),
};
const LIST_ID: &str = "trending.example.org";

/// A server on a free loopback port, serving a list in a temporary directory.
struct Server {
    dir: tempfile::TempDir,
    base: String,
    client: reqwest::Client,
}

impl Server {
    async fn start() -> Self {
        Self::start_with(
            ServeLimits::default(),
            Arc::new(|| Box::pin(async { Ok("<h1>today's digest</h1>".into()) })),
        )
        .await
    }

    async fn start_with(limits: ServeLimits, preview: PreviewFn) -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("paperwire.toml"), CONFIG).unwrap();
        fs::write(dir.path().join("subscribers.toml"), EXAMPLE).unwrap();
        let context = ServeContext {
            store: SubscriberStore::new(dir.path().join("subscribers.toml")),
            secret: Arc::from(SECRET.as_bytes()),
            list_id: LIST_ID.into(),
            title: "Trending <Papers>".into(),
            preview,
            archive: None,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(serve::serve(
            listener,
            serve::router_with_policy(context, limits, QUICK_FOLDS),
            limits,
            std::future::pending(),
        ));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self { dir, base, client }
    }

    fn list_path(&self) -> PathBuf {
        self.dir.path().join("subscribers.toml")
    }

    fn list(&self) -> String {
        fs::read_to_string(self.list_path()).unwrap()
    }

    /// The list once the server has folded the change log into it.
    async fn folded_list(&self) -> String {
        let log = SubscriberStore::new(self.list_path()).change_log();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let empty = fs::read_to_string(log.path()).map_or(true, |t| t.is_empty());
            if empty {
                return self.list();
            }
            assert!(Instant::now() < deadline, "the change log was never folded");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn url(&self, token: &str) -> String {
        format!("{}/unsubscribe?token={token}", self.base)
    }

    async fn one_click(&self, token: &str) -> reqwest::Response {
        self.client
            .post(self.url(token))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap()
    }
}

fn token_for(address: &str) -> String {
    token::sign(
        SECRET.as_bytes(),
        LIST_ID,
        &SubscriberEmail::parse(address).unwrap(),
    )
}

fn unsubscribed_at(server: &Server, address: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    subscribers::load(&server.list_path(), SECTIONS)
        .unwrap()
        .into_iter()
        .find(|s| s.email.key() == address.to_lowercase())
        .expect("on the list")
        .unsubscribed_at
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_click_post_unsubscribes_once_with_a_200_and_no_redirect_or_cookie() {
    let server = Server::start().await;
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let response = server.one_click(&token_for("Grace@Example.org")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("location").is_none());
    assert!(response.headers().get("set-cookie").is_none());
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    assert!(
        page.contains("grace@example.org") || page.contains("Grace@Example.org"),
        "{page}"
    );
    assert!(
        page.contains("Trending &lt;Papers&gt;"),
        "the title is escaped: {page}"
    );

    // It counts at once (the change log is read with the list), and is written in soon.
    let at = unsubscribed_at(&server, "grace@example.org").expect("unsubscribed");
    assert!(at >= before && at <= chrono::Utc::now() + chrono::Duration::seconds(1));
    let list = server.folded_list().await;
    assert!(
        list.starts_with(&EXAMPLE[..EXAMPLE.find("[[subscriber]]\nemail  = \"grace").unwrap()])
    );
    assert!(list.contains(&format!(
        "format = \"text\"\nunsubscribed_at = {}\n",
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )));

    // Idempotent: a second click answers 200 and changes nothing.
    let again = server.one_click(&token_for("grace@example.org")).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(server.folded_list().await, list);
    assert_eq!(unsubscribed_at(&server, "grace@example.org"), Some(at));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_and_empty_bodies_are_accepted_other_bodies_are_not() {
    let server = Server::start().await;
    let boundary = "----paperwire-test-boundary";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--{boundary}--\r\n"
    );
    let response = server
        .client
        .post(server.url(&token_for("ada@example.org")))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(multipart)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(unsubscribed_at(&server, "ada@example.org").is_some());

    // The confirm page's button may post nothing at all.
    let response = server
        .client
        .post(server.url(&token_for("alan@example.org")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(unsubscribed_at(&server, "alan@example.org").is_some());

    let before = server.folded_list().await;
    let response = server
        .client
        .post(server.url(&token_for("grace@example.org")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=Maybe-Later")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = server
        .client
        .post(server.url(&token_for("grace@example.org")))
        .body(vec![b'x'; 64 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(server.folded_list().await, before);
    assert!(unsubscribed_at(&server, "grace@example.org").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_shows_a_confirm_button_and_never_unsubscribes() {
    let server = Server::start().await;
    let url = server.url(&token_for("ada@example.org"));
    for _ in 0..3 {
        let response = server.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().get("set-cookie").is_none());
        // A page of the readers' family, with its headers: no script, no framing, no referrer.
        let headers = response.headers();
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(
            policy.starts_with("default-src 'none'; style-src 'sha256-")
                && policy.contains("frame-ancestors 'none'"),
            "{policy}"
        );
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["cache-control"], "no-store");
        let page = response.text().await.unwrap();
        assert!(page.contains("<form method=\"post\">"), "{page}");
        assert!(page.contains("name=\"List-Unsubscribe\" value=\"One-Click\""));
        assert!(page.contains("ada@example.org"));
    }
    assert_eq!(server.list(), EXAMPLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_truncated_and_garbled_tokens_change_nothing() {
    let server = Server::start().await;
    let good = token_for("ada@example.org");
    let forged = token::sign(
        b"someone else's secret",
        LIST_ID,
        &SubscriberEmail::parse("ada@example.org").unwrap(),
    );
    let (_, ada_tag) = good.split_once('.').unwrap();
    let swapped = format!(
        "{}.{ada_tag}",
        token_for("grace@example.org").split_once('.').unwrap().0
    );
    let cases = [
        (forged.as_str(), StatusCode::FORBIDDEN),
        (swapped.as_str(), StatusCode::FORBIDDEN),
        (&good[..good.len() - 4], StatusCode::BAD_REQUEST),
        (&good[..good.find('.').unwrap()], StatusCode::BAD_REQUEST),
        ("%%%garbage", StatusCode::BAD_REQUEST),
        ("", StatusCode::BAD_REQUEST),
    ];
    for (token, status) in cases {
        let post = server.one_click(token).await;
        assert_eq!(post.status(), status, "POST with {token:?}");
        let get = server.client.get(server.url(token)).send().await.unwrap();
        assert_eq!(get.status(), status, "GET with {token:?}");
    }
    let no_token = server
        .client
        .post(format!("{}/unsubscribe", server.base))
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::BAD_REQUEST);
    assert_eq!(server.list(), EXAMPLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validly_signed_address_no_longer_on_the_list_is_kept_as_a_suppression() {
    let server = Server::start().await;
    let response = server.one_click(&token_for("removed@example.org")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("will get no more"));
    // Folding leaves the list alone and keeps the request in the log, where every reader
    // finds it: an import cannot bring the address back.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(server.list(), EXAMPLE);
    let view = subscribers::read(&server.list_path(), SECTIONS).unwrap();
    assert_eq!(view.suppressed.len(), 1);
    assert_eq!(view.suppressed[0].email.as_str(), "removed@example.org");
    let store = SubscriberStore::new(server.list_path());
    let err = store
        .add(
            &subscribers::NewSubscriber::new(
                SubscriberEmail::parse("Removed@example.org").unwrap(),
            ),
            SECTIONS,
            subscribers::AddOptions::today_utc(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("--resubscribe"), "{err}");
    assert_eq!(server.list(), EXAMPLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_root_serves_the_preview() {
    let server = Server::start().await;
    let page = server.client.get(&server.base).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.text().await.unwrap(), "<h1>today's digest</h1>");

    let failing = Server::start_with(
        ServeLimits::default(),
        Arc::new(|| Box::pin(async { Err("no papers <today>".into()) })),
    )
    .await;
    let page = failing.client.get(&failing.base).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("no papers &lt;today&gt;")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_sends_headers_slowly_is_cut_off() {
    let limits = ServeLimits {
        header_read_timeout: Duration::from_millis(300),
        ..ServeLimits::default()
    };
    let server =
        Server::start_with(limits, Arc::new(|| Box::pin(async { Ok(String::new()) }))).await;
    let addr: SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let closed_after = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
        let started = Instant::now();
        let mut buf = Vec::new();
        // The server answers 408 or just closes; either way the read ends with EOF.
        let _ = stream.read_to_end(&mut buf);
        started.elapsed()
    })
    .await
    .unwrap();
    assert!(
        closed_after < Duration::from_secs(3),
        "took {closed_after:?}"
    );
}

/// A list of `n` readers, each with a comment of its own.
fn commented_list(n: usize) -> String {
    let mut text = String::from("# readers of the test list\n\n");
    for i in 0..n {
        text.push_str(&format!(
            "# note about reader {i}\n[[subscriber]]\nemail = \"reader{i}@example.org\"   # their address\n\n"
        ));
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_adds_two_hundred_clicks_and_a_hand_edit_all_land_exactly_once() {
    let server = Server::start().await;
    fs::write(server.list_path(), commented_list(200)).unwrap();
    let config = server.dir.path().join("paperwire.toml");
    let children: Vec<_> = (0..50)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_paperwire"))
                .args(["subscribers", "--config"])
                .arg(&config)
                .args(["add", &format!("added{i}@example.org")])
                .env_remove("PAPERWIRE_TEST_PAUSE_BEFORE_RENAME")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let clicks: Vec<_> = (0..200)
        .map(|i| {
            let client = server.client.clone();
            let url = server.url(&token_for(&format!("reader{i}@example.org")));
            tokio::spawn(async move {
                client
                    .post(url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("List-Unsubscribe=One-Click")
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    // Meanwhile someone adds a reader by hand (`cat >> subscribers.toml`), without the lock.
    tokio::time::sleep(Duration::from_millis(150)).await;
    fs::OpenOptions::new()
        .append(true)
        .open(server.list_path())
        .unwrap()
        .write_all(b"\n# added by hand\n[[subscriber]]\nemail = \"hand@example.org\"\n")
        .unwrap();

    for click in clicks {
        assert_eq!(click.await.unwrap(), StatusCode::OK);
    }
    for child in children {
        let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = server.folded_list().await;
    let list = subscribers::parse(&text, &server.list_path(), SECTIONS).unwrap();
    let count = |address: &str| list.iter().filter(|s| s.email.as_str() == address).count();
    for i in 0..50 {
        assert_eq!(count(&format!("added{i}@example.org")), 1, "added{i}");
    }
    for i in 0..200 {
        let reader = list
            .iter()
            .find(|s| s.email.as_str() == format!("reader{i}@example.org"))
            .unwrap();
        assert!(reader.unsubscribed_at.is_some(), "reader{i} in the file");
        assert_eq!(
            text.matches(&format!("# note about reader {i}\n")).count(),
            1
        );
    }
    assert_eq!(count("hand@example.org"), 1, "the hand edit survives");
    assert_eq!(text.matches("# added by hand\n").count(), 1);
    assert_eq!(text.matches("   # their address\n").count(), 200);
    assert!(text.starts_with("# readers of the test list\n\n# note about reader 0\n"));
    assert_eq!(list.len(), 251);
}

#[test]
fn the_binary_refuses_to_serve_without_a_secret_and_serves_with_one() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("paperwire.toml"), CONFIG).unwrap();
    fs::write(dir.path().join("subscribers.toml"), EXAMPLE).unwrap();
    let config = dir.path().join("paperwire.toml");
    let serve = |listen: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_paperwire"));
        cmd.args(["serve", "--listen", listen, "--config"])
            .arg(&config)
            .env_remove("PAPERWIRE_SECRET")
            .env_remove("PAPERWIRE_SECRET_FILE")
            .stdin(Stdio::null());
        cmd
    };

    let out = serve("127.0.0.1:0").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PAPERWIRE_SECRET"));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = serve(&listen)
        .env("PAPERWIRE_SECRET", SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let response = loop {
        let attempt = TcpStream::connect(&listen).and_then(|mut stream| {
            let body = "List-Unsubscribe=One-Click";
            write!(
                stream,
                "POST /unsubscribe?token={} HTTP/1.1\r\nHost: {listen}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                token_for("alan@example.org"),
                body.len()
            )?;
            let mut response = String::new();
            stream.read_to_string(&mut response)?;
            Ok(response)
        });
        match attempt {
            Ok(response) => break response,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("serve never answered: {e}"),
        }
    };
    // Killed at once (SIGKILL): the answered unsubscribe is on disk, and the next edit writes
    // it into the list.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let path = dir.path().join("subscribers.toml");
    let alan = |list: Vec<subscribers::Subscriber>| {
        list.into_iter()
            .find(|s| s.email.as_str() == "alan@example.org")
            .unwrap()
    };
    assert!(
        alan(subscribers::load(&path, SECTIONS).unwrap())
            .unsubscribed_at
            .is_some()
    );
    SubscriberStore::new(&path).fold().unwrap();
    let list = fs::read_to_string(&path).unwrap();
    let entry = list
        .split("[[subscriber]]")
        .find(|e| e.contains("email = \"alan@example.org\"\n"))
        .unwrap();
    assert!(entry.contains("\nunsubscribed_at = "), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsubscribe_while_the_list_is_broken_is_kept_and_folded_in_later() {
    let server = Server::start().await;
    let good = server.list();
    fs::write(server.list_path(), format!("{good}\n[[subscriber\n")).unwrap();
    let response = server.one_click(&token_for("grace@example.org")).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the request must not be lost"
    );
    // The hand edit is fixed; every load already honours the request.
    fs::write(server.list_path(), &good).unwrap();
    assert!(unsubscribed_at(&server, "grace@example.org").is_some());
    // The server's next fold writes it into the list and empties the log.
    let list = server.folded_list().await;
    assert!(list.contains("unsubscribed_at"), "{list}");
}

/// Posts one-click unsubscribes for `addresses` to `listen`, one connection each; returns those
/// answered 200. Stops at the first connection error (the server is gone).
fn post_until_gone(listen: &str, addresses: &[String]) -> Vec<String> {
    let mut answered = Vec::new();
    for address in addresses {
        let attempt = TcpStream::connect(listen).and_then(|mut stream| {
            let body = "List-Unsubscribe=One-Click";
            write!(
                stream,
                "POST /unsubscribe?token={} HTTP/1.1\r\nHost: {listen}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                token_for(address),
                body.len()
            )?;
            let mut response = String::new();
            stream.read_to_string(&mut response)?;
            Ok(response)
        });
        match attempt {
            Ok(response) if response.starts_with("HTTP/1.1 200") => answered.push(address.clone()),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    answered
}

#[test]
fn serve_killed_at_any_moment_loses_no_answered_unsubscribe() {
    for (round, kill_after_ms) in [40u64, 150, 400].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("paperwire.toml"), CONFIG).unwrap();
        let list_path = dir.path().join("subscribers.toml");
        fs::write(&list_path, commented_list(1500)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen = format!("127.0.0.1:{port}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_paperwire"))
            .args(["serve", "--listen", &listen, "--config"])
            .arg(dir.path().join("paperwire.toml"))
            .env("PAPERWIRE_SECRET", SECRET)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(&listen).is_err() {
            assert!(Instant::now() < deadline, "serve never listened");
            std::thread::sleep(Duration::from_millis(20));
        }
        let clients: Vec<_> = (0..8)
            .map(|t| {
                let listen = listen.clone();
                let addresses: Vec<String> = (0..1500)
                    .filter(|i| i % 8 == t)
                    .map(|i| format!("reader{i}@example.org"))
                    .collect();
                std::thread::spawn(move || post_until_gone(&listen, &addresses))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(kill_after_ms));
        child.kill().unwrap(); // SIGKILL: mid-append, mid-fold, or between
        child.wait().unwrap();
        let answered: Vec<String> = clients
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        assert!(
            !answered.is_empty(),
            "round {round}: nothing was answered before the kill"
        );

        // The file is whole, and every answered unsubscribe counts for every reader...
        let gone = |list: &[subscribers::Subscriber]| -> std::collections::HashSet<String> {
            list.iter()
                .filter(|s| s.unsubscribed_at.is_some())
                .map(|s| s.email.to_string())
                .collect()
        };
        let list = subscribers::load(&list_path, SECTIONS).unwrap();
        assert_eq!(list.len(), 1500);
        let unsubscribed = gone(&list);
        for address in &answered {
            assert!(
                unsubscribed.contains(address),
                "round {round}: {address} was lost"
            );
        }
        // ...and is written into the file by the next fold, once, with every comment kept.
        SubscriberStore::new(&list_path).fold().unwrap();
        let text = fs::read_to_string(&list_path).unwrap();
        let list = subscribers::parse(&text, &list_path, SECTIONS).unwrap();
        assert_eq!(gone(&list), unsubscribed);
        assert_eq!(text.matches("unsubscribed_at").count(), unsubscribed.len());
        assert_eq!(text.matches("   # their address\n").count(), 1500);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_unsubscribe_survives_an_editor_saving_an_older_copy_after_the_fold() {
    let server = Server::start().await;
    let buffer = server.list();
    let response = server.one_click(&token_for("ada@example.org")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let folded = server.folded_list().await;
    let at = unsubscribed_at(&server, "ada@example.org").expect("unsubscribed");
    let written = format!(
        "unsubscribed_at = {}",
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    assert!(folded.contains(&written), "{folded}");

    // The editor saves its stale buffer: Ada still gets no mail.
    fs::write(server.list_path(), &buffer).unwrap();
    assert_eq!(unsubscribed_at(&server, "ada@example.org"), Some(at));
    // The server's next fold writes her unsubscribe back into the list.
    let response = server.one_click(&token_for("grace@example.org")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let list = server.folded_list().await;
    assert!(list.contains(&written), "{list}");
    assert!(unsubscribed_at(&server, "grace@example.org").is_some());
}
