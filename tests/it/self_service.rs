//! Readers' own pages over real HTTP on 127.0.0.1: signup with double opt-in (the confirmation
//! read back from the outbox with a MIME parser), the preference page reached from a digest
//! that `paperwire send` really sent, refused links, rate limits and their bounded tables, the
//! honeypot, and the headers every page carries.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mail_parser::MimeHeaders;
use paperwire::config::{self, ConfigOrigin, Settings};
use paperwire::deliver::transport::TransportSpec;
use paperwire::serve::changes::LogChanges;
use paperwire::serve::limits::Limits;
use paperwire::serve::{self, SelfService, ServeContext, ServeLimits};
use paperwire::subscribers::links::{self, SignupRequest};
use paperwire::subscribers::{
    self, ChangeWriter, FoldPolicy, MailFormat, Subscriber, SubscriberEmail, SubscriberStore, token,
};
use reqwest::StatusCode;

use crate::harness::TestEnv;

const SECRET: &str = "a self-service secret that is long enough";
const PUBLIC: &str = "https://digest.example.org";
/// Folds soon after the requests stop, so that tests see the list written.
const QUICK_FOLDS: FoldPolicy = FoldPolicy {
    idle: Duration::from_millis(100),
    max_pending: 5000,
    max_delay: Duration::from_secs(2),
    retry_after: Duration::from_millis(200),
};

/// A server for the config in a [`TestEnv`], with the readers' pages.
struct Site {
    env: TestEnv,
    settings: Arc<Settings>,
    service: SelfService,
    base: String,
    client: reqwest::Client,
    list_changes: Arc<LogChanges>,
}

impl Site {
    /// `serve` is the `[serve]` table's text; the list starts as the harness's default.
    async fn start(serve: &str) -> Self {
        Self::start_with(serve, None, QUICK_FOLDS).await
    }

    async fn start_with(serve: &str, limits: Option<Limits>, folds: FoldPolicy) -> Self {
        let env = TestEnv::new();
        // Liked papers no edition has are asked of a closed local port, never of arXiv.
        let path = env
            .config_builder(None)
            .with_table("serve", serve)
            .with_table("for_you", "arxiv_api = \"http://127.0.0.1:9/api/query\"")
            .write();
        let settings = Arc::new(config::load(&ConfigOrigin::File(path)).unwrap());
        let store = SubscriberStore::new(&settings.subscribers_path);
        let changes = ChangeWriter::folding(store.clone(), folds);
        let secret: Arc<[u8]> = Arc::from(SECRET.as_bytes());
        let list_changes = Arc::new(LogChanges::new(
            changes.clone(),
            store.path(),
            &settings.section_names(),
        ));
        let mut service = SelfService::new(
            Arc::clone(&settings),
            Arc::clone(&secret),
            Arc::clone(&list_changes) as _,
            TransportSpec::Outbox {
                dir: settings.delivery.outbox_dir.clone(),
            },
        )
        .unwrap();
        if let Some(limits) = limits {
            service = service.with_limits(limits);
        }
        let context = ServeContext {
            store,
            secret,
            list_id: settings.newsletter.list_id.clone(),
            title: settings.newsletter.title.clone(),
            preview: Arc::new(|| Box::pin(async { Ok(String::new()) })),
            archive: None,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let limits = ServeLimits::default();
        tokio::spawn(serve::serve(
            listener,
            serve::router_with(context, changes, Some(service.clone()), limits),
            limits,
            std::future::pending(),
        ));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            env,
            settings,
            service,
            base,
            client,
            list_changes,
        }
    }

    fn list_path(&self) -> PathBuf {
        self.settings.subscribers_path.clone()
    }

    /// The list's text once the server has folded its change log into it (so that a change
    /// that was recorded shows, and "nothing changed" means nothing was recorded either).
    async fn list_text(&self) -> String {
        let log = SubscriberStore::new(self.list_path()).change_log();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if std::fs::read_to_string(log.path()).map_or(true, |t| t.is_empty()) {
                return std::fs::read_to_string(self.list_path()).unwrap();
            }
            assert!(Instant::now() < deadline, "the change log was never folded");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn subscriber(&self, address: &str) -> Option<Subscriber> {
        subscribers::load(&self.list_path(), &self.settings.section_names())
            .unwrap()
            .into_iter()
            .find(|s| s.email.key() == address.to_lowercase())
    }

    /// A link from an email, pointed at this server.
    fn local(&self, public_url: &str) -> String {
        public_url.replace(PUBLIC, &self.base)
    }

    async fn post_form(&self, url: &str, body: &str, client_ip: Option<&str>) -> reqwest::Response {
        let mut request = self
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        if let Some(ip) = client_ip {
            request = request.header("x-forwarded-for", ip);
        }
        request.send().await.unwrap()
    }

    async fn subscribe(&self, body: &str) -> reqwest::Response {
        self.post_form(&format!("{}/subscribe", self.base), body, None)
            .await
    }

    fn outbox(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.env.path("outbox"))
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .map(|p| std::fs::read(p).unwrap())
            .collect()
    }

    /// Waits until the outbox holds `n` messages (the mailer sends off the request path).
    async fn wait_for_mail(&self, n: usize) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mail = self.outbox();
            if mail.len() >= n || Instant::now() > deadline {
                assert_eq!(mail.len(), n, "messages in the outbox");
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    fn confirm_token(&self, request: &SignupRequest) -> String {
        links::sign_confirm(
            SECRET.as_bytes(),
            &self.settings.newsletter.list_id,
            request,
        )
    }

    /// The body of a GET of `url`.
    async fn get_text(&self, url: &str) -> String {
        self.client
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The preference page's address for `address`, as a digest links to it (served here).
    fn preferences_url(&self, address: &str) -> String {
        format!(
            "{}/preferences?token={}",
            self.base,
            self.preferences_token(address)
        )
    }

    fn preferences_token(&self, address: &str) -> String {
        links::sign_preferences(
            SECRET.as_bytes(),
            &self.settings.newsletter.list_id,
            &SubscriberEmail::parse(address).unwrap(),
        )
    }

    fn unsubscribe_token(&self, address: &str) -> String {
        token::sign(
            SECRET.as_bytes(),
            &self.settings.newsletter.list_id,
            &SubscriberEmail::parse(address).unwrap(),
        )
    }
}

/// The first `PUBLIC…` URL after `marker` in `text`.
fn link_after(text: &str, marker: &str) -> String {
    let from = text
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in {text}"))
        + marker.len();
    let start = from + text[from..].find(PUBLIC).expect("a link");
    text[start..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .next()
        .unwrap()
        .to_owned()
}

/// The `href` of the link whose text ends with `text_end` (e.g. `>Label</a>`).
fn href_of(html: &str, text_end: &str) -> String {
    let at = html
        .find(text_end)
        .unwrap_or_else(|| panic!("no {text_end:?} in {html}"));
    let start = html[..at].rfind("href=\"").expect("an href") + "href=\"".len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].replace("&amp;", "&")
}

fn parse(raw: &[u8]) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default().parse(raw).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_confirms_by_email_and_adds_the_reader_once() {
    let site = Site::start("signup = true").await;
    let form = site
        .client
        .get(format!("{}/subscribe", site.base))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let html = form.text().await.unwrap();
    assert!(
        html.contains("name=\"topics\" value=\"Federated Learning\""),
        "{html}"
    );
    assert!(html.contains("name=\"leave_empty\""));

    let before = site.list_text().await;
    let answer = site
        .subscribe("email=Lin%40Example.org&name=Lin+Wei&topics=Losses+%26+Optimization&topics=More+papers&format=text")
        .await;
    assert_eq!(answer.status(), StatusCode::OK);
    let page = answer.text().await.unwrap();
    assert!(page.contains("Check your inbox"), "{page}");
    assert_eq!(
        site.list_text().await,
        before,
        "nothing is added before the confirmation"
    );

    let mail = site.wait_for_mail(1).await;
    let message = parse(&mail[0]);
    assert_eq!(
        message.subject(),
        Some("Confirm your subscription to Test Digest")
    );
    assert_eq!(
        message.to().unwrap().first().unwrap().address(),
        Some("Lin@Example.org")
    );
    assert!(message.header("List-Unsubscribe").is_none());
    let text = message.body_text(0).unwrap();
    assert!(
        text.contains("Topics: Losses & Optimization, More papers"),
        "{text}"
    );
    let link = link_after(&text, "press the button:");
    assert_eq!(link, link_after(&message.body_html(0).unwrap(), "Topics"));

    // Opening the link (as a mail scanner would, several times) changes nothing.
    for _ in 0..3 {
        let shown = site.client.get(site.local(&link)).send().await.unwrap();
        assert_eq!(shown.status(), StatusCode::OK);
        let shown = shown.text().await.unwrap();
        assert!(shown.contains("Lin@Example.org") && shown.contains("Plain text only"));
        assert!(shown.contains("<form method=\"post\">"));
    }
    assert_eq!(site.list_text().await, before);

    let confirmed = site.client.post(site.local(&link)).send().await.unwrap();
    assert_eq!(confirmed.status(), StatusCode::OK);
    let page = confirmed.text().await.unwrap();
    assert!(page.contains("You are subscribed"), "{page}");
    assert!(page.contains("href=\"preferences?token="));
    let lin = site.subscriber("lin@example.org").expect("on the list");
    assert_eq!(lin.topics, ["Losses & Optimization", "More papers"]);
    assert_eq!(lin.format, MailFormat::Text);
    assert_eq!(lin.name.as_deref(), Some("Lin Wei"));
    assert!(lin.is_active());

    // Pressing it again is harmless.
    let after = site.list_text().await;
    let again = site.client.post(site.local(&link)).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(site.list_text().await, after);
    assert!(
        after.starts_with(&before),
        "earlier entries kept byte for byte"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_signup_creates_the_list() {
    let site = Site::start("signup = true").await;
    std::fs::remove_file(site.list_path()).unwrap();
    let request = SignupRequest::new(
        SubscriberEmail::parse("first@example.org").unwrap(),
        None,
        vec![],
        MailFormat::Html,
        chrono::Utc::now(),
    );
    let url = format!(
        "{}/confirm?token={}",
        site.base,
        site.confirm_token(&request)
    );
    let confirmed = site.client.post(&url).send().await.unwrap();
    assert_eq!(confirmed.status(), StatusCode::OK);
    // The preference page shows the new reader at once, folded into a file or not.
    let own = site.preferences_url("first@example.org");
    let page = site.client.get(&own).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("first@example.org"));
    // The fold creates the list.
    let text = site.list_text().await;
    assert!(text.contains("email = \"first@example.org\""), "{text}");
    let first = site
        .subscriber("first@example.org")
        .expect("on the new list");
    assert!(first.is_active() && first.topics.is_empty());
    assert!(first.since.is_some());
    // Not on the list is "not subscribed", not an error.
    let prefs = site.preferences_url("someone@example.org");
    let page = site.client.get(&prefs).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("is not subscribed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsubscribed_reader_comes_back_only_through_a_newer_confirmation() {
    let site = Site::start("signup = true").await;
    let grace = SubscriberEmail::parse("grace@example.org").unwrap();
    let prefs = site.preferences_url("grace@example.org");
    let gone = site.post_form(&prefs, "action=unsubscribe", None).await;
    assert_eq!(gone.status(), StatusCode::OK);
    assert!(gone.text().await.unwrap().contains("will get no more"));
    let unsubscribed = site.subscriber("grace@example.org").unwrap();
    assert!(unsubscribed.unsubscribed_at.is_some());

    // A confirmation asked for before the unsubscribe no longer adds her.
    let asked_before = SignupRequest::new(
        grace.clone(),
        None,
        vec![],
        MailFormat::Html,
        unsubscribed.unsubscribed_at.unwrap() - chrono::Duration::minutes(5),
    );
    let old = format!(
        "{}/confirm?token={}",
        site.base,
        site.confirm_token(&asked_before)
    );
    let list = site.list_text().await;
    let refused = site.client.post(&old).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::GONE);
    assert_eq!(site.list_text().await, list);

    // The preference page now says so and changes nothing.
    let page = site.client.get(&prefs).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("is not subscribed"));
    let saved = site
        .post_form(&prefs, "action=save&format=html", None)
        .await;
    assert!(saved.text().await.unwrap().contains("is not subscribed"));
    assert_eq!(site.list_text().await, list);

    // Her own newer signup brings her back.
    let asked_after = SignupRequest::new(
        grace,
        Some("Grace".into()),
        vec!["Federated Learning".into()],
        MailFormat::Html,
        chrono::Utc::now() + chrono::Duration::seconds(1),
    );
    let new = format!(
        "{}/confirm?token={}",
        site.base,
        site.confirm_token(&asked_after)
    );
    let back = site.client.post(&new).send().await.unwrap();
    assert_eq!(back.status(), StatusCode::OK);
    let grace = site.subscriber("grace@example.org").unwrap();
    assert!(grace.is_active());
    assert_eq!(grace.topics, ["Federated Learning"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preference_link_in_a_sent_digest_changes_what_the_next_send_delivers() {
    let site = Site::start("signup = false").await;
    let env = &site.env;
    let send = |edition: &str| {
        env.run_with_env(
            &["send", "--edition", edition],
            &[("PAPERWIRE_SECRET", SECRET)],
        )
    };
    send("first").assert_code(0);
    let mail = site.outbox();
    let ada = mail
        .iter()
        .map(|m| parse(m))
        .find(|m| m.to().unwrap().first().unwrap().address() == Some("ada@example.org"))
        .expect("Ada's digest");
    let text = ada.body_text(0).unwrap();
    assert!(text.contains("Your topics: Federated Learning."), "{text}");
    let link = link_after(&text, "Manage your subscription:");
    assert_eq!(
        link,
        href_of(&ada.body_html(0).unwrap(), ">Manage your subscription</a>"),
        "both parts carry the same link"
    );
    assert!(link.starts_with(&format!("{PUBLIC}/preferences?token=")));

    let page = site.client.get(site.local(&link)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("value=\"Federated Learning\" checked>"),
        "{page}"
    );
    assert!(page.contains("value=\"Losses &amp; Optimization\">"));

    let saved = site
        .post_form(
            &site.local(&link),
            "action=save&topics=Losses+%26+Optimization&format=text&max_papers=3",
            None,
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    assert!(saved.text().await.unwrap().contains("Saved."));
    let ada = site.subscriber("ada@example.org").unwrap();
    assert_eq!(ada.topics, ["Losses & Optimization"]);
    assert_eq!((ada.format, ada.max_papers), (MailFormat::Text, Some(3)));

    // The next edition (the same papers: start the state afresh so none counts as sent).
    std::fs::remove_dir_all(env.path("state")).unwrap();
    std::fs::remove_dir_all(env.path("outbox")).unwrap();
    send("second").assert_code(0);
    let mail = site.outbox();
    let ada = mail
        .iter()
        .map(|m| parse(m))
        .find(|m| m.to().unwrap().first().unwrap().address() == Some("ada@example.org"))
        .expect("Ada's second digest");
    let content_type = ada.content_type().unwrap();
    assert_eq!(
        (content_type.ctype(), content_type.subtype()),
        ("text", Some("plain")),
        "text only now"
    );
    let text = ada.body_text(0).unwrap();
    assert!(
        text.contains("Your topics: Losses & Optimization."),
        "{text}"
    );
    assert!(!text.contains("\nFederated Learning\n"), "{text}");
    assert!(text.contains("over your limit of 3 papers"), "{text}");
}

/// The text part of Ada's digest from a real `send` of `edition`.
async fn ada_text_after_send(site: &Site, edition: &str) -> String {
    site.env
        .run_with_env(
            &["send", "--edition", edition],
            &[("PAPERWIRE_SECRET", SECRET)],
        )
        .assert_code(0);
    let mail = site.outbox();
    let ada = mail
        .iter()
        .map(|m| parse(m))
        .find(|m| m.to().unwrap().first().unwrap().address() == Some("ada@example.org"))
        .expect("Ada's digest");
    ada.body_text(0).unwrap().replace("\r\n", "\n")
}

/// Every bad field of the preference page is reported, each next to its input (named by the
/// input's `aria-describedby`), and nothing is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preference_page_reports_every_bad_field() {
    let site = Site::start("signup = false").await;
    let prefs = site.preferences_url("ada@example.org");
    let keep = "action=save&topics=Federated+Learning&format=html";
    let log = SubscriberStore::new(site.list_path()).change_log();
    // Each bad field alone: the problem is next to it.
    for (fields, id, problem) in [
        (
            "interests=federated%0D%0AKV*+cache",
            "interests",
            "Interests, entry 2: keyword `KV* cache`: `*` may only end the keyword.",
        ),
        (
            "like=2405.10111+2405.1",
            "like",
            "Papers you liked, entry 2: `2405.1` is not an arXiv id (like 2411.01234 or cs/0112017).",
        ),
        (
            "mute=%2A",
            "mute",
            "Mute, entry 1: keyword `*` has no letters or digits.",
        ),
        (
            "for_you=51",
            "for_you",
            "Papers in the block must be a whole number from 0 to 50, or empty.",
        ),
    ] {
        let answer = site
            .post_form(&prefs, &format!("{keep}&{fields}"), None)
            .await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{fields}");
        let page = answer.text().await.unwrap();
        assert!(
            page.contains(
                "role=\"alert\">Nothing was saved: one field needs a change (see below).</p>"
            ),
            "{page}"
        );
        assert!(
            page.contains(&format!(
                "<p class=\"error\" id=\"{id}_error\">{problem}</p>"
            )),
            "{page}"
        );
        assert!(
            page.contains(&format!(
                "aria-describedby=\"{id}_hint {id}_error\" aria-invalid=\"true\""
            )),
            "{page}"
        );
        assert!(std::fs::read_to_string(log.path()).map_or(true, |t| t.is_empty()));
    }
    // Every bad field is reported, each next to its input.
    let answer = site
        .post_form(
            &prefs,
            &format!("{keep}&interests=KV*+cache&like=bad&max_papers=5000"),
            None,
        )
        .await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let page = answer.text().await.unwrap();
    assert!(
        page.contains("Nothing was saved: 3 fields need a change (see below)."),
        "{page}"
    );
    for id in ["interests", "like", "max_papers"] {
        assert!(page.contains(&format!("id=\"{id}_error\"")), "{id}: {page}");
        assert!(
            page.contains(&format!("\"{id}_hint {id}_error\" aria-invalid=\"true\"")),
            "{id}: {page}"
        );
    }
    assert_eq!(page.matches("aria-invalid").count(), 3, "{page}");
    assert!(std::fs::read_to_string(log.path()).map_or(true, |t| t.is_empty()));
}

/// The "For you" fields on the preference page: shown, checked (a problem is said on the page
/// and records nothing), written through the change log, removed again, and followed by the
/// next send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preference_page_edits_the_for_you_fields() {
    let site = Site::start("signup = false").await;
    let prefs = site.preferences_url("ada@example.org");
    let page = site.get_text(&prefs).await;
    assert!(
        page.contains(
            "name=\"interests\" rows=\"3\" aria-describedby=\"interests_hint\"></textarea>"
        ),
        "{page}"
    );
    let keep = "action=save&topics=Federated+Learning&format=html";
    // What was typed stays on the page next to the problem.
    let answer = site
        .post_form(
            &prefs,
            &format!("{keep}&interests=KV*+cache&authors=Tri+Dao"),
            None,
        )
        .await;
    let page = answer.text().await.unwrap();
    assert!(page.contains(">KV* cache</textarea>") && page.contains(">Tri Dao</textarea>"));

    let fields = "interests=federated%0D%0Aprun*&authors=Dao%2C+Tri\
                  &like=arXiv%3A2405.10111v2%2C+2405.10111&mute=benchmark*&for_you=2";
    let saved = site
        .post_form(&prefs, &format!("{keep}&{fields}"), None)
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let page = saved.text().await.unwrap();
    assert!(
        page.contains("Saved.") && page.contains(">federated\nprun*</textarea>"),
        "{page}"
    );
    assert!(page.contains(">2405.10111</textarea>") && page.contains("value=\"2\""));
    let list = site.list_text().await;
    assert!(
        list.contains(
            "interests = [\"federated\", \"prun*\"]\nauthors = [\"Dao, Tri\"]\n\
             like = [\"2405.10111\"]\nmute = [\"benchmark*\"]\nfor_you = 2\n"
        ),
        "{list}"
    );
    let ada = site.subscriber("ada@example.org").unwrap();
    assert_eq!(ada.profile.block_size(), 2);
    assert_eq!(ada.profile.authors[0].as_str(), "Dao, Tri");
    let page = site.get_text(&prefs).await;
    assert!(page.contains(">Dao, Tri</textarea>") && page.contains(">benchmark*</textarea>"));

    // The next send follows them: a block of two, each saying why.
    let text = ada_text_after_send(&site, "for-you").await;
    let block = text.split("== For you ==").nth(1).expect("a For-you block");
    let block = block.split("\n== ").next().unwrap();
    assert_eq!(block.matches("\n* ").count(), 2, "{text}");
    assert!(block.contains("> matches federated"), "{text}");

    // Emptied fields remove their keys; `for_you` goes back to the default.
    let cleared = site
        .post_form(
            &prefs,
            &format!("{keep}&interests=&authors=&like=&mute=&for_you="),
            None,
        )
        .await;
    assert_eq!(cleared.status(), StatusCode::OK);
    let list = site.list_text().await;
    for key in ["interests", "authors", "like", "mute", "for_you"] {
        assert!(!list.contains(&format!("\n{key} =")), "{key}: {list}");
    }
    assert!(
        !site
            .subscriber("ada@example.org")
            .unwrap()
            .profile
            .is_personal()
    );
}

/// Every way a link can be wrong, at every page that takes one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_and_cross_purpose_links_get_403_and_change_nothing() {
    let site = Site::start("signup = true\nconfirm_expiry = \"1h\"").await;
    let list = site.settings.newsletter.list_id.clone();
    let ada = SubscriberEmail::parse("ada@example.org").unwrap();
    let request = |at: chrono::DateTime<chrono::Utc>| {
        SignupRequest::new(ada.clone(), None, vec![], MailFormat::Text, at)
    };
    let now = chrono::Utc::now();
    let confirm = site.confirm_token(&request(now));
    let expired = site.confirm_token(&request(now - chrono::Duration::minutes(61)));
    let forged_confirm = links::sign_confirm(b"not our secret", &list, &request(now));
    let preferences = site.preferences_token("ada@example.org");
    let forged_preferences = links::sign_preferences(b"not our secret", &list, &ada);
    let unsubscribe = site.unsubscribe_token("ada@example.org");
    // Grace's address with Ada's signature.
    let swapped = format!(
        "{}.{}",
        site.preferences_token("grace@example.org")
            .split_once('.')
            .unwrap()
            .0,
        preferences.split_once('.').unwrap().1
    );
    let (body, tag) = confirm.split_once('.').unwrap();
    let mut tampered_tag = tag.to_owned().into_bytes();
    tampered_tag[3] = if tampered_tag[3] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{body}.{}", String::from_utf8(tampered_tag).unwrap());

    let cases: &[(&str, &[&str])] = &[
        (
            "confirm",
            &[
                &expired,
                &forged_confirm,
                &tampered,
                &preferences,
                &unsubscribe,
                "junk",
                "a.b",
            ],
        ),
        (
            "preferences",
            &[
                &forged_preferences,
                &swapped,
                &confirm,
                &unsubscribe,
                "junk",
                "a.b",
            ],
        ),
        ("unsubscribe", &[&confirm, &preferences]),
    ];
    let before = site.list_text().await;
    for (page, tokens) in cases {
        for token in *tokens {
            let url = format!("{}/{page}?token={token}", site.base);
            let get = site.client.get(&url).send().await.unwrap();
            assert_eq!(
                get.status(),
                StatusCode::FORBIDDEN,
                "GET /{page} with {token}"
            );
            let body = match *page {
                "preferences" => "action=unsubscribe",
                "unsubscribe" => "List-Unsubscribe=One-Click",
                _ => "",
            };
            let post = site.post_form(&url, body, None).await;
            assert_eq!(
                post.status(),
                StatusCode::FORBIDDEN,
                "POST /{page} with {token}"
            );
            let text = post.text().await.unwrap();
            if *token == expired {
                assert!(text.contains("expired"), "{text}");
            }
        }
    }
    assert_eq!(site.list_text().await, before);
    assert!(!site.env.exists("subscribers.toml.unsubscribes"));
    assert!(
        !site.env.exists("subscribers.toml.changes"),
        "nothing was recorded"
    );
    assert!(site.outbox().is_empty());

    // The same links, used where they belong, work.
    let ok = site
        .client
        .get(format!("{}/confirm?token={confirm}", site.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let ok = site
        .client
        .get(format!("{}/preferences?token={preferences}", site.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let missing = site
        .client
        .get(format!("{}/preferences", site.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_signups_from_one_client_send_at_most_the_configured_number() {
    let site = Site::start(
        "signup = true\ntrust_proxy = true\nsignups_per_client = 5\nconfirmations_per_address = 2",
    )
    .await;
    let base = site.base.clone();
    let site = Arc::new(site);
    let mut statuses = Vec::new();
    for batch in 0..50 {
        let posts = (0..20).map(|i| {
            let site = Arc::clone(&site);
            let body = format!("email=flood{}%40example.org", batch * 20 + i);
            let url = format!("{base}/subscribe");
            async move { site.post_form(&url, &body, Some("198.51.100.7")).await }
        });
        for response in futures_join(posts).await {
            statuses.push(response.status());
        }
    }
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((ok, limited), (5, 995));
    site.wait_for_mail(5).await;

    // Many clients asking for one address: at most two confirmations reach it.
    for i in 0..50 {
        let response = site
            .post_form(
                &format!("{}/subscribe", site.base),
                "email=victim%40example.org",
                Some(&format!("203.0.113.{i}")),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "the same page every time"
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mail = site.wait_for_mail(7).await;
    let to_victim = mail
        .iter()
        .filter(|m| parse(m).to().unwrap().first().unwrap().address() == Some("victim@example.org"))
        .count();
    assert_eq!(to_victim, 2);
    // The tables hold one entry per client and per address, nothing per request.
    assert_eq!(site.service.limits.signups.len(), 51);
    assert_eq!(site.service.limits.confirmations.len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_tables_stay_bounded_under_a_flood_of_distinct_addresses() {
    let capacity = std::num::NonZeroUsize::new(50).unwrap();
    let site = Site::start_with(
        "signup = true\ntrust_proxy = true",
        Some(Limits::with_capacity(10, 3, capacity)),
        QUICK_FOLDS,
    )
    .await;
    let mut full = 0;
    for i in 0..300u32 {
        let response = site
            .post_form(
                &format!("{}/subscribe", site.base),
                &format!("email=someone{i}%40example.org"),
                Some(&format!("2001:db8:{i:x}::1")),
            )
            .await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            full += 1;
        }
        assert!(site.service.limits.signups.len() <= 50);
        assert!(site.service.limits.confirmations.len() <= 50);
    }
    assert_eq!(site.service.limits.signups.capacity(), 50);
    assert_eq!(
        full, 250,
        "new clients are turned away while the table is full"
    );
    site.wait_for_mail(50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_and_the_honeypot_send_nothing() {
    let site = Site::start("signup = true").await;
    let trapped = site
        .subscribe("email=bot%40example.org&leave_empty=http%3A%2F%2Fspam.example")
        .await;
    assert_eq!(trapped.status(), StatusCode::OK);
    assert!(trapped.text().await.unwrap().contains("Check your inbox"));

    for (body, says) in [
        (
            "email=not+an+address&name=Ada",
            "is not a valid email address",
        ),
        ("email=", "enter your email address"),
        (
            "email=a%40example.org&topics=Cooking",
            "unknown topic `Cooking`",
        ),
        ("email=a%40example.org&format=pdf", "unknown format"),
        (
            "email=a%40example.org&name=Eve%0ABcc%3A+x%40example.org",
            "line break",
        ),
    ] {
        let response = site.subscribe(body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let page = response.text().await.unwrap();
        assert!(page.contains(says), "{body}: {page}");
        assert!(page.contains("role=\"alert\""));
    }
    // What was typed is shown again, escaped.
    let page = site
        .subscribe("email=%22%3E%3Cscript%3E&topics=Federated+Learning")
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("<script>"));
    assert!(page.contains("value=\"Federated Learning\" checked>"));
    let json = site
        .client
        .post(format!("{}/subscribe", site.base))
        .header("content-type", "application/json")
        .body("{\"email\":\"a@example.org\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = site
        .subscribe(&format!("email={}", "a".repeat(64 * 1024)))
        .await;
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(site.outbox().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_is_closed_unless_turned_on_but_preferences_always_work() {
    let site = Site::start("signup = false").await;
    let get = site
        .client
        .get(format!("{}/subscribe", site.base))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        site.subscribe("email=a%40example.org").await.status(),
        StatusCode::NOT_FOUND
    );
    let request = SignupRequest::new(
        SubscriberEmail::parse("a@example.org").unwrap(),
        None,
        vec![],
        MailFormat::Html,
        chrono::Utc::now(),
    );
    let confirm = format!(
        "{}/confirm?token={}",
        site.base,
        site.confirm_token(&request)
    );
    assert_eq!(
        site.client.post(&confirm).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert!(site.subscriber("a@example.org").is_none());
    let prefs = site.preferences_url("ada@example.org");
    let page = site.client.get(&prefs).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(!page.contains("href=\"subscribe\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_forbids_scripts_framing_sniffing_and_referrers() {
    let site = Site::start("signup = true").await;
    let prefs = site.preferences_url("ada@example.org");
    let unsubscribe = format!(
        "{}/unsubscribe?token={}",
        site.base,
        site.unsubscribe_token("grace@example.org")
    );
    let one_click = site
        .post_form(&unsubscribe, "List-Unsubscribe=One-Click", None)
        .await;
    assert_eq!(one_click.status(), StatusCode::OK);
    let mut answers = vec![one_click];
    for url in [
        format!("{}/subscribe", site.base),
        prefs.clone(),
        format!("{}/confirm?token=forged.token", site.base),
        unsubscribe.clone(),
        format!("{}/unsubscribe?token=forged.token", site.base),
    ] {
        answers.push(site.client.get(&url).send().await.unwrap());
    }
    for response in answers {
        let url = response.url().clone();
        let headers = response.headers().clone();
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(
            policy.starts_with("default-src 'none'; style-src 'sha256-"),
            "{policy}"
        );
        assert!(policy.contains("frame-ancestors 'none'") && policy.contains("form-action 'self'"));
        assert!(
            !policy.contains("script") && !policy.contains("unsafe"),
            "{policy}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["cache-control"], "no-store");
        assert!(headers.get("set-cookie").is_none());
        let html = response.text().await.unwrap();
        assert!(!html.contains("<script"), "{url}");
        // One family: the same layout everywhere, the one-click pages included.
        assert!(
            html.contains("<p class=\"brand\">Test Digest</p>"),
            "{url}: {html}"
        );
    }
    // A validation error and a save keep the same headers.
    let saved = site.post_form(&prefs, "max_papers=zero", None).await;
    assert_eq!(saved.status(), StatusCode::BAD_REQUEST);
    assert_eq!(saved.headers()["referrer-policy"], "no-referrer");
}

/// A server that does not fold while the test runs: every change stays in the change log.
const NO_FOLDS: FoldPolicy = FoldPolicy {
    idle: Duration::from_secs(3600),
    max_pending: usize::MAX,
    max_delay: Duration::from_secs(3600),
    retry_after: Duration::from_secs(3600),
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_show_changes_the_fold_has_not_written_yet() {
    let site = Site::start_with("signup = true", None, NO_FOLDS).await;
    let before = std::fs::read_to_string(site.list_path()).unwrap();
    let prefs = site.preferences_url("ada@example.org");
    let saved = site
        .post_form(
            &prefs,
            "action=save&topics=Losses+%26+Optimization&format=text&max_papers=4&paused=1",
            None,
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    assert!(saved.text().await.unwrap().contains("paused"));
    // The page as the reader opens it again: the new choices, from the log.
    let page = site.client.get(&prefs).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(
        page.contains("value=\"Losses &amp; Optimization\" checked>"),
        "{page}"
    );
    assert!(!page.contains("value=\"Federated Learning\" checked>"));
    assert!(page.contains("value=\"text\" checked>") && page.contains("value=\"4\""));
    assert!(page.contains("name=\"paused\" value=\"1\" checked>"));
    // Saving the same choices again records nothing.
    let log = SubscriberStore::new(site.list_path()).change_log();
    let lines = std::fs::read_to_string(log.path()).unwrap();
    site.post_form(
        &prefs,
        "action=save&topics=Losses+%26+Optimization&format=text&max_papers=4&paused=1",
        None,
    )
    .await;
    assert_eq!(std::fs::read_to_string(log.path()).unwrap(), lines);
    let ops: Vec<String> = lines
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["op"].to_string())
        .collect();
    assert_eq!(ops, ["\"update\"", "\"pause\""]);

    // A confirmed signup is on the preference page at once; an unsubscribe too.
    let request = SignupRequest::new(
        SubscriberEmail::parse("new@example.org").unwrap(),
        None,
        vec!["More papers".into()],
        MailFormat::Html,
        chrono::Utc::now(),
    );
    let confirm = format!(
        "{}/confirm?token={}",
        site.base,
        site.confirm_token(&request)
    );
    assert_eq!(
        site.client.post(&confirm).send().await.unwrap().status(),
        StatusCode::OK
    );
    let new_prefs = site.preferences_url("new@example.org");
    let page = site.client.get(&new_prefs).send().await.unwrap();
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("value=\"More papers\" checked>")
    );
    let gone = site.post_form(&new_prefs, "action=unsubscribe", None).await;
    assert!(gone.text().await.unwrap().contains("will get no more"));
    let page = site.client.get(&new_prefs).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("is not subscribed"));

    // None of it is in the file yet; all of it counts; the next fold writes it.
    assert_eq!(std::fs::read_to_string(site.list_path()).unwrap(), before);
    let view = subscribers::read(&site.list_path(), &site.settings.section_names()).unwrap();
    assert_eq!(view.pending, 4);
    SubscriberStore::new(site.list_path()).fold().unwrap();
    let ada = site.subscriber("ada@example.org").unwrap();
    assert_eq!(ada.topics, ["Losses & Optimization"]);
    assert_eq!(
        (ada.format, ada.max_papers, ada.paused),
        (MailFormat::Text, Some(4), true)
    );
    let new = site.subscriber("new@example.org").unwrap();
    assert!(new.unsubscribed_at.is_some() && new.topics == ["More papers"]);
    let text = std::fs::read_to_string(site.list_path()).unwrap();
    assert!(text.starts_with(&before[..before.find("[[subscriber]]").unwrap()]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_cannot_be_recorded_is_a_503_with_retry_after_and_changes_nothing() {
    let site = Site::start("signup = true").await;
    let before = std::fs::read_to_string(site.list_path()).unwrap();
    // A directory where the change log goes: nothing can be appended (or read) there.
    let log = SubscriberStore::new(site.list_path()).change_log();
    std::fs::create_dir(log.path()).unwrap();
    let unsubscribe = format!(
        "{}/unsubscribe?token={}",
        site.base,
        site.unsubscribe_token("ada@example.org")
    );
    let prefs = site.preferences_url("ada@example.org");
    let request = SignupRequest::new(
        SubscriberEmail::parse("new@example.org").unwrap(),
        None,
        vec![],
        MailFormat::Html,
        chrono::Utc::now(),
    );
    let confirm = format!(
        "{}/confirm?token={}",
        site.base,
        site.confirm_token(&request)
    );
    let answers = [
        site.post_form(&unsubscribe, "List-Unsubscribe=One-Click", None)
            .await,
        site.post_form(&confirm, "", None).await,
        site.post_form(&prefs, "action=save&format=text", None)
            .await,
        site.post_form(&prefs, "action=unsubscribe", None).await,
    ];
    for answer in answers {
        let url = answer.url().path().to_owned();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE, "{url}");
        assert!(answer.headers().contains_key("retry-after"), "{url}");
        assert_eq!(answer.headers()["referrer-policy"], "no-referrer");
        assert!(answer.text().await.unwrap().contains("Please try again"));
    }
    // The button page never writes, so it still works.
    let page = site.client.get(&unsubscribe).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(std::fs::read_to_string(site.list_path()).unwrap(), before);

    // Once the log can be written again, the same request goes through.
    std::fs::remove_dir(log.path()).unwrap();
    let again = site
        .post_form(&unsubscribe, "List-Unsubscribe=One-Click", None)
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    assert!(
        site.subscriber("ada@example.org")
            .unwrap()
            .unsubscribed_at
            .is_some()
    );
}

/// Runs the futures at once and collects their outputs in order.
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// A reader whose address bounced can pause and un-pause on the preference page, but only the
/// operator (`subscribers resume`, `add --resubscribe`) brings the address back: the page's
/// un-pause is an `unpause`, never a `resume`, and the page says why no mail comes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preference_page_does_not_bring_back_a_bounced_address() {
    let site = Site::start("signup = true").await;
    let grace = SubscriberEmail::parse("grace@example.org").unwrap();
    let store = SubscriberStore::new(site.list_path());
    // What `bounces import` records when it retires an address.
    store
        .change_log()
        .append(&[subscribers::Change::new(
            grace.clone(),
            chrono::Utc::now(),
            subscribers::ChangeKind::Bounced,
        )])
        .unwrap();
    store.fold().unwrap();
    let bounced_at = site.subscriber("grace@example.org").unwrap().bounced_at;
    assert!(bounced_at.is_some());

    let prefs = site.preferences_url("grace@example.org");
    let page = site.client.get(&prefs).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("Messages to grace@example.org bounced, so it gets no"),
        "{page}"
    );
    assert!(
        !page.contains("550") && !page.contains("bounced_at"),
        "{page}"
    );
    let form = "action=save&format=text";
    let paused = site
        .post_form(&prefs, &format!("{form}&paused=1"), None)
        .await;
    assert_eq!(paused.status(), StatusCode::OK);
    let unpaused = site.post_form(&prefs, form, None).await;
    assert_eq!(unpaused.status(), StatusCode::OK);
    let unpaused = unpaused.text().await.unwrap();
    assert!(unpaused.contains("Saved."), "{unpaused}");
    assert!(unpaused.contains("bounced, so it gets no"), "{unpaused}");
    assert!(!unpaused.contains("The next edition follows"), "{unpaused}");

    site.list_text().await;
    let grace_now = site.subscriber("grace@example.org").unwrap();
    assert!(!grace_now.paused);
    assert_eq!(grace_now.bounced_at, bounced_at, "still bounced");
    let out = site
        .env
        .run(&["subscribers", "list", "--bounced", "--json"]);
    out.assert_code(0);
    assert!(out.stdout.contains("grace@example.org"), "{out}");

    // The operator's resume clears it; the page then says nothing about bounces.
    site.env
        .run(&["subscribers", "resume", "grace@example.org"])
        .assert_code(0);
    let page = site.client.get(&prefs).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(!page.contains("bounced"), "{page}");
}

/// A burst of readers opening their preference pages reads the list a few times, not once
/// each (at a million readers, each read is a second and a couple of hundred megabytes); every
/// page still shows its own reader, and a page opened after a change shows the change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_preference_pages_shares_reads_of_the_list() {
    let site = Site::start("signup = false").await;
    let entries: String = (0..60)
        .map(|i| format!("[[subscriber]]\nemail = \"r{i}@example.org\"\n\n"))
        .collect();
    site.env.write("subscribers.toml", &entries);
    let pages: Vec<_> = (0..60)
        .map(|i| {
            let url = site.preferences_url(&format!("r{i}@example.org"));
            let client = site.client.clone();
            tokio::spawn(async move { client.get(&url).send().await.unwrap().text().await })
        })
        .collect();
    for (i, page) in pages.into_iter().enumerate() {
        let page = page.await.unwrap().unwrap();
        assert!(page.contains(&format!("r{i}@example.org")), "{page}");
    }
    let reads = site.list_changes.reads();
    assert!(reads < 20, "{reads} reads for 60 pages");
    let prefs = site.preferences_url("r7@example.org");
    let saved = site
        .post_form(&prefs, "action=save&format=text", None)
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let page = site.get_text(&prefs).await;
    assert!(page.contains("value=\"text\" checked"), "{page}");
}
