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
use paperwire::subscribers::{self, SubscriberEmail, SubscriberStore, token};
use reqwest::StatusCode;

use crate::subscribers::{CONFIG, EXAMPLE, SECTIONS};

const SECRET: &str = "a test secret that is long enough";
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
            serve::router(context, limits),
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

    let at = unsubscribed_at(&server, "grace@example.org").expect("unsubscribed");
    assert!(at >= before && at <= chrono::Utc::now() + chrono::Duration::seconds(1));
    let list = server.list();
    assert!(
        list.starts_with(&EXAMPLE[..EXAMPLE.find("[[subscriber]]\nemail  = \"grace").unwrap()])
    );

    // Idempotent: a second click answers 200 and changes nothing.
    let again = server.one_click(&token_for("grace@example.org")).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(server.list(), list);
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

    let before = server.list();
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
    assert_eq!(server.list(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_shows_a_confirm_button_and_never_unsubscribes() {
    let server = Server::start().await;
    let url = server.url(&token_for("ada@example.org"));
    for _ in 0..3 {
        let response = server.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().get("set-cookie").is_none());
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
async fn a_validly_signed_address_no_longer_on_the_list_gets_not_subscribed() {
    let server = Server::start().await;
    let response = server.one_click(&token_for("removed@example.org")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("is not subscribed"));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_parallel_adds_and_an_unsubscribe_lose_nothing() {
    let server = Server::start().await;
    let config = server.dir.path().join("paperwire.toml");
    let children: Vec<_> = (0..30)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_paperwire"))
                .args(["subscribers", "--config"])
                .arg(&config)
                .args(["add", &format!("parallel{i}@example.org")])
                .env_remove("PAPERWIRE_TEST_PAUSE_BEFORE_RENAME")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let unsubscribe = server.one_click(&token_for("ada@example.org")).await;
    assert_eq!(unsubscribe.status(), StatusCode::OK);
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
    let list = subscribers::load(&server.list_path(), SECTIONS).unwrap();
    assert_eq!(list.len(), 33);
    for i in 0..30 {
        let address = format!("parallel{i}@example.org");
        assert!(
            list.iter().any(|s| s.email.as_str() == address),
            "{address} lost"
        );
    }
    assert!(unsubscribed_at(&server, "ada@example.org").is_some());
    assert!(
        server
            .list()
            .starts_with(&EXAMPLE[..EXAMPLE.find("since").unwrap()])
    );
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
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let list = fs::read_to_string(dir.path().join("subscribers.toml")).unwrap();
    assert!(
        list.contains("email = \"alan@example.org\"\nunsubscribed_at = "),
        "{list}"
    );
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
    // The next edit writes it into the list and empties the sidecar.
    let store = SubscriberStore::new(server.list_path());
    store
        .pause(&SubscriberEmail::parse("ada@example.org").unwrap())
        .unwrap();
    assert!(
        server.list().contains("unsubscribed_at"),
        "{}",
        server.list()
    );
    let sidecar = subscribers::pending::sidecar(&server.list_path());
    assert_eq!(fs::read_to_string(sidecar).unwrap(), "");
}
