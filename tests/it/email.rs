//! E-mails over real components: the portal's router and its e-mail worker, a real SMTP server
//! (aiosmtpd, `tests/smtp_sink.py`, which decodes each message with Python's own e-mail parser), the
//! built-in fake identity platform, and the real binary for `invite create --send`. Without aiosmtpd
//! the tests that need it are skipped, saying so (in CI they fail: `helpers::require`).

use std::time::{Duration, Instant};

use crate::helpers::*;
use consent_portal::db;
use consent_portal::domain::TenantId;
use consent_portal::email::{self, SmtpUrl, TransportSettings, worker};
use consent_portal::i18n::{Language, Messages};
use reqwest::StatusCode;
use serde_json::Value;
use time::OffsetDateTime;

// ---------------------------------------------------------------------------------------------------
// The SMTP server

fn smtp_settings(config: &mut consent_portal::config::Config, port: u16) {
    config.email.transport = TransportSettings::Smtp(SmtpUrl::parse(&format!("smtp://127.0.0.1:{port}")).unwrap());
}

/// The portal sending through SMTP on `port`, staff notifications to `notify`.
async fn mail_app(port: u16, notify: &[&str]) -> TestApp {
    let notify: Vec<_> = notify.iter().map(|n| email::parse_address(n).unwrap()).collect();
    spawn_app_configured(move |config| {
        smtp_settings(config, port);
        config.email.notify = notify;
    })
    .await
}

// ---------------------------------------------------------------------------------------------------
// Helpers

async fn outbox(app: &TestApp) -> Vec<db::outbox::OutboxRow> {
    let mut rows = db::outbox::list_recent(&app.db, 1000).await.unwrap();
    rows.reverse();
    rows
}

/// The onboarding link in a text part.
fn link_in(text: &str, app: &TestApp) -> String {
    let start = text.find(&format!("{}/onboard/", app.base_url)).unwrap_or_else(|| panic!("no link in {text}"));
    text[start..].split_whitespace().next().unwrap().to_owned()
}

/// Every absolute URL in a text.
fn urls_in(text: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for scheme in ["http://", "https://", "//"] {
        for (at, _) in text.match_indices(scheme) {
            if scheme == "//" && at > 0 && text[..at].ends_with(':') {
                continue;
            }
            urls.push(text[at..].split(|c: char| c.is_whitespace() || c == '"' || c == '<').next().unwrap().to_owned());
        }
    }
    urls
}

fn expiry_of(rows: &[db::outbox::OutboxRow]) -> String {
    rows[0].invite_id.clone().unwrap()
}

async fn expires_at(app: &TestApp, invite_id: &str) -> OffsetDateTime {
    let invite = db::invites::find(&app.db, invite_id).await.unwrap().unwrap();
    invite.invite.expires_at.as_datetime()
}

// ---------------------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn the_onboarding_email_in_english_has_everything_and_its_link_opens_the_landing_page() {
    let Some(smtp) = require(aiosmtpd()) else { return };
    let port = free_port();
    let sink = smtp.start(port);
    let app = mail_app(port, &[]).await;
    let (client, csrf) = staff(&app, ALEX).await;
    let (status, html) = status_and_text(
        post_invite(&app, &client, &csrf, &[("customer", "<b>Contoso</b> & Co"), ("email", "it@contoso.example"), ("send", "on")]).await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("is queued"), "{html}");

    let pass = worker::run_once(&app.state, OffsetDateTime::now_utc()).await.unwrap();
    assert_eq!(pass.sent, 1, "{pass:?}");
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    let mail = &messages[0];
    let rows = outbox(&app).await;
    assert_eq!(rows[0].status, "sent");
    assert!(rows[0].last_reply.as_deref().unwrap().starts_with("250"), "{:?}", rows[0].last_reply);
    assert_eq!(mail["rcpt_tos"], serde_json::json!(["it@contoso.example"]));
    assert_eq!(mail["from"], "Fabrikam Partner <onboarding@fabrikampartner.example>");
    assert_eq!(mail["message_id"], format!("<{}@127.0.0.1>", rows[0].id));
    let subject = mail["subject"].as_str().unwrap();
    assert!(subject.contains("Fabrikam Partner") && subject.contains("<b>Contoso</b> & Co"), "{subject}");

    let text = mail["text"].as_str().unwrap();
    let html = mail["html"].as_str().unwrap();
    let expires = Messages::new(Language::English).date(expires_at(&app, &expiry_of(&rows)).await);
    for part in [text, html] {
        assert!(part.contains("Fabrikam Partner"), "{part}");
        assert!(part.contains(&expires), "the expiry date in words ({expires}): {part}");
        assert!(part.contains("onboarding@fabrikampartner.example"), "who to contact: {part}");
        assert!(part.contains("Read your security incidents and their alerts"), "the roles in plain words: {part}");
        assert!(part.contains("Global Administrator"), "{part}");
    }
    // The name: raw in the text part, escaped in the HTML part.
    assert!(text.contains("<b>Contoso</b> & Co"), "{text}");
    assert!(!html.contains("<b>Contoso</b>"), "{html}");
    assert!(html.contains("&#60;b&#62;Contoso&#60;/b&#62; &#38; Co") || html.contains("&lt;b&gt;Contoso&lt;/b&gt; &amp; Co"), "{html}");
    // No tracking: no image, nothing external; the one link is the portal's.
    assert!(!html.to_lowercase().contains("<img"), "{html}");
    assert_eq!(html.matches("<a ").count(), 1, "one call to action: {html}");
    let link = link_in(text, &app);
    for url in urls_in(html).into_iter().chain(urls_in(text)) {
        assert!(url.starts_with(&format!("{}/onboard/", app.base_url)), "an external URL: {url}");
    }
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");

    // The link works: the landing page answers (and it is not the invite's own link, never stored).
    let landing = app.client.get(&link).send().await.unwrap();
    assert_eq!(landing.status(), StatusCode::OK);
    let landing = landing.text().await.unwrap();
    assert!(landing.contains("Fabrikam Partner"), "{landing}");
    let token = link.rsplit('/').next().unwrap();
    let stored: i64 = sql(&app.db, "SELECT COUNT(*) FROM invite_links WHERE token_hash = $1")
        .bind(consent_portal::domain::hash_secret(token))
        .scalar()
        .await;
    assert_eq!(stored, 1, "only the link's hash is stored");
    let dump: Vec<(String,)> = sql(&app.db, "SELECT detail FROM outbox").rows().await;
    assert!(dump.iter().all(|(d,)| !d.contains(token)));

    // invite.sent is on the invite's timeline.
    let kinds: Vec<String> = sql(&app.db, "SELECT kind FROM audit_events ORDER BY id").scalars().await;
    assert!(kinds.contains(&"invite.sent".to_owned()), "{kinds:?}");
}

#[tokio::test]
async fn the_command_line_sends_the_italian_email() {
    let Some(smtp) = require(aiosmtpd()) else { return };
    let port = free_port();
    let sink = smtp.start(port);
    let app = mail_app(port, &[]).await;
    let database = database_url(&app.state.config.database);
    let run = |extra: &[&str], smtp: Option<&str>| {
        let mut command = command_in(app.dir.path());
        command.args(["invite", "create", "--json"]).args(extra);
        command.env("PORTAL_PUBLIC_URL", &app.base_url).env("PORTAL_DATABASE_URL", &database);
        if let Some(smtp) = smtp {
            command.env("PORTAL_SMTP_URL", smtp);
        }
        command.output().unwrap()
    };
    let smtp = format!("smtp://127.0.0.1:{port}");
    let output = run(&["--customer", "Contoso Italia", "--email", "it@contoso.example", "--send", "--language", "it"], Some(smtp.as_str()));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let created: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(created["email_id"].is_string(), "{created}");

    worker::run_once(&app.state, OffsetDateTime::now_utc()).await.unwrap();
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    let mail = &messages[0];
    let subject = mail["subject"].as_str().unwrap();
    assert!(subject.contains("collegate Contoso Italia"), "{subject}");
    let text = mail["text"].as_str().unwrap();
    let html = mail["html"].as_str().unwrap();
    let expires = Messages::new(Language::Italian).date(expires_at(&app, created["id"].as_str().unwrap()).await);
    for part in [text, html] {
        assert!(part.contains(&format!("Il link è valido fino al {expires}")), "{part}");
        assert!(part.contains("Leggere i vostri eventi imprevisti di sicurezza"), "{part}");
        assert!(part.contains("Contattate Fabrikam Partner"), "{part}");
    }
    assert!(html.contains("lang=\"it\""));
    let landing = app.client.get(link_in(text, &app)).send().await.unwrap();
    assert_eq!(landing.status(), StatusCode::OK);

    // Refusals, each exit status 2 with one clear line.
    let refused = run(&["--customer", "X", "--email", "it@contoso.example", "--send"], None);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("PORTAL_SMTP_URL is not set"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let refused = run(&["--customer", "X", "--email", "not an address", "--send"], Some(smtp.as_str()));
    assert_eq!(refused.status.code(), Some(2));
    let refused = run(&["--customer", "X", "--send"], Some(smtp.as_str()));
    assert_eq!(refused.status.code(), Some(2), "--send needs --email");
    let refused = run(&["--customer", "X", "--email", "it@contoso.example", "--send"], Some("smtp://mail.example.com:25"));
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("loopback"));
    let refused = run(&["--customer", "X", "--language", "de"], None);
    assert_eq!(refused.status.code(), Some(2));
}

#[tokio::test]
async fn bad_addresses_and_header_injection_are_refused() {
    let Some(smtp) = require(aiosmtpd()) else { return };
    let port = free_port();
    let sink = smtp.start(port);
    let app = mail_app(port, &[]).await;
    let (client, csrf) = staff(&app, ALEX).await;
    for (customer, address, expected) in [
        ("Contoso", "not an address", "is not an e-mail address"),
        ("Contoso", "it@contoso.example\r\nBcc: victim@example.com", "the e-mail address holds U+000D"),
        ("Contoso\r\nBcc: victim@example.com", "it@contoso.example", "control characters"),
        ("Contoso", "", "needs the customer"),
    ] {
        let (status, html) =
            status_and_text(post_invite(&app, &client, &csrf, &[("customer", customer), ("email", address), ("send", "on")]).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{customer:?} {address:?}");
        assert!(html.contains(expected), "{expected}: {html}");
    }
    assert!(outbox(&app).await.is_empty());

    // A name that got a line break past the checks (written straight to the database) is refused when
    // the message is composed: nothing is sent.
    create_invite(&app, Invite::new("Contoso").send_to("it@contoso.example")).await;
    sql(&app.db, "UPDATE customers SET name = $1").bind("Contoso\r\nBcc: victim@example.com").execute().await;
    let pass = worker::run_once(&app.state, OffsetDateTime::now_utc()).await.unwrap();
    assert_eq!(pass.failed, 1, "{pass:?}");
    let rows = outbox(&app).await;
    assert_eq!(rows[0].status, "failed");
    assert!(rows[0].last_reply.as_deref().unwrap().contains("header injection"), "{:?}", rows[0].last_reply);
    let links: i64 = sql(&app.db, "SELECT COUNT(*) FROM invite_links").scalar().await;
    assert_eq!(links, 0, "the link of a message never sent is dropped");
    assert!(sink.messages().is_empty());

    // The server's permanent refusal is recorded as failed, with its reply.
    create_invite(&app, Invite::new("Fabrikam Test").send_to("reject@contoso.example")).await;
    worker::run_once(&app.state, OffsetDateTime::now_utc()).await.unwrap();
    let rows = outbox(&app).await;
    assert_eq!(rows[1].status, "failed");
    assert!(rows[1].last_reply.as_deref().unwrap().contains("550"), "{:?}", rows[1].last_reply);
}

#[tokio::test]
async fn resend_sends_a_new_link_and_revoking_kills_every_link() {
    let Some(smtp) = require(aiosmtpd()) else { return };
    let port = free_port();
    let sink = smtp.start(port);
    let app = mail_app(port, &[]).await;
    let _worker = worker::spawn(app.state.clone());
    let (invite, _) = create_invite(&app, Invite::new("Contoso").send_to("it@contoso.example")).await;
    app.state.mailer.wake();
    assert_eq!(sink.wait_for(1).await.len(), 1);

    let (client, csrf) = staff(&app, ALEX).await;
    let resent = client.post(app.url(&format!("/invites/{invite}/resend"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(resent.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resent), "/outbox");
    let messages = sink.wait_for(2).await;
    assert_eq!(messages.len(), 2);
    let first = link_in(messages[0]["text"].as_str().unwrap(), &app);
    let second = link_in(messages[1]["text"].as_str().unwrap(), &app);
    assert_ne!(first, second, "each e-mail carries its own link");
    assert_ne!(messages[0]["message_id"], messages[1]["message_id"]);
    for link in [&first, &second] {
        assert_eq!(app.client.get(link).send().await.unwrap().status(), StatusCode::OK);
    }
    recorded(&app).await;
    let page = client.get(app.url("/outbox")).send().await.unwrap().text().await.unwrap();
    assert_eq!(page.matches(">sent<").count(), 2, "{page}");

    // A viewer cannot resend; a forged form neither.
    let forged = client.post(app.url(&format!("/invites/{invite}/resend"))).form(&[("csrf", "forged")]).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    let revoked = client.post(app.url(&format!("/invites/{invite}/revoke"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    for link in [&first, &second] {
        assert_eq!(app.client.get(link).send().await.unwrap().status(), StatusCode::GONE);
    }
    let again = client.post(app.url(&format!("/invites/{invite}/resend"))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT, "a revoked invite is not sent again");
}

#[tokio::test]
async fn reminders_follow_the_schedule() {
    let Some(smtp) = require(aiosmtpd()) else { return };
    let port = free_port();
    let sink = smtp.start(port);
    let app = spawn_app_configured(move |config| {
        smtp_settings(config, port);
        config.email.reminder_after_days = 3;
        config.email.reminder_max = 2;
    })
    .await;
    let start = OffsetDateTime::now_utc();
    let day = time::Duration::days(1);
    let minute = time::Duration::minutes(1);
    let (open, _) = create_invite(&app, Invite::new("Open Ltd").send_to("open@contoso.example")).await;
    let (completed, _) = create_invite(&app, Invite::new("Done Ltd").send_to("done@contoso.example")).await;
    let (revoked, _) = create_invite(&app, Invite::new("Revoked Ltd").send_to("revoked@contoso.example")).await;
    let (expiring, _) =
        create_invite(&app, Invite::new("Short Ltd").send_to("short@contoso.example").language("it").expires_in(time::Duration::days(5)))
            .await;
    assert_eq!(worker::run_once(&app.state, start).await.unwrap().sent, 4);
    db::invites::complete_for_tenant(&app.db, &completed, TenantId::new_random(), start.into()).await.unwrap();
    db::invites::revoke(&app.db, &revoked, start.into()).await.unwrap();

    let queue = |at: OffsetDateTime| {
        let db = app.db.clone();
        let settings = app.state.config.email.clone();
        async move { worker::queue_reminders(&db, &settings, at).await.unwrap() }
    };
    assert_eq!(queue(start + 2 * day).await, 0, "not before 3 days");
    let first = start + 3 * day + minute;
    assert_eq!(queue(first).await, 2, "the open invite and the one that expires in 5 days");
    assert_eq!(queue(first).await, 0, "never twice for the same due moment");
    assert_eq!(queue(first + minute).await, 0, "nor while one waits");
    let pass = worker::run_once(&app.state, first).await.unwrap();
    assert_eq!(pass.sent, 2, "{pass:?}");
    let reminders: Vec<Value> = sink.messages().into_iter().skip(4).collect();
    assert!(reminders.iter().any(|m| m["subject"].as_str().unwrap().starts_with("Reminder")), "{reminders:?}");
    assert!(reminders.iter().any(|m| m["subject"].as_str().unwrap().starts_with("Promemoria")), "{reminders:?}");
    let reminder = reminders.iter().find(|m| m["rcpt_tos"][0] == "open@contoso.example").unwrap();
    assert!(reminder["text"].as_str().unwrap().contains("still waiting"));

    assert_eq!(queue(first + 2 * day).await, 0, "3 days after the reminder, not after the first e-mail");
    let second = first + 3 * day + minute;
    assert_eq!(queue(second).await, 1, "the second reminder (the short invite has expired)");
    assert_eq!(worker::run_once(&app.state, second).await.unwrap().sent, 1);
    assert_eq!(queue(second + 3 * day + minute).await, 0, "at most 2 reminders");
    assert_eq!(queue(second + 30 * day).await, 0);

    let per_invite = |invite: String| {
        let db = app.db.clone();
        async move { db::outbox::for_invite(&db, &invite).await.unwrap().iter().filter(|r| r.kind == "reminder").count() }
    };
    assert_eq!(per_invite(open).await, 2);
    assert_eq!(per_invite(expiring).await, 1);
    assert_eq!(per_invite(completed).await, 0);
    assert_eq!(per_invite(revoked).await, 0);
    assert_eq!(sink.messages().len(), 7);
}

#[tokio::test]
async fn smtp_down_queues_then_delivers_once_across_a_restart() {
    let Some(smtp) = require(aiosmtpd()) else { return };
    let port = free_port();
    let app = mail_app(port, &[]).await;
    create_invite(&app, Invite::new("Contoso").send_to("it@contoso.example")).await;
    let now = OffsetDateTime::now_utc();
    let pass = worker::run_once(&app.state, now).await.unwrap();
    assert_eq!(pass.retried, 1, "{pass:?}");
    let rows = outbox(&app).await;
    assert_eq!((rows[0].status.as_str(), rows[0].attempts), ("queued", 1));
    assert!(!rows[0].last_reply.as_deref().unwrap_or_default().is_empty(), "the connection error is kept");
    assert!(rows[0].next_attempt_at > db::timestamp_text(now), "retried later");
    let links: i64 = sql(&app.db, "SELECT COUNT(*) FROM invite_links").scalar().await;
    assert_eq!(links, 1, "a retried attempt keeps its link: a connection lost after the message went out can mean it arrived");
    assert_eq!(worker::run_once(&app.state, now).await.unwrap(), worker::Pass::default(), "not before its time");

    // The portal restarts (a new application on the same database) and the server comes back.
    let sink = smtp.start(port);
    let database = app.state.config.database.clone();
    let pool = db::open(&database).await.unwrap();
    let restarted = spawn_app_full(tempfile::tempdir().unwrap(), database, pool, move |config| smtp_settings(config, port)).await;
    let later = now + time::Duration::hours(2);
    assert_eq!(worker::run_once(&restarted.state, later).await.unwrap().sent, 1);
    assert_eq!(worker::run_once(&restarted.state, later + time::Duration::hours(1)).await.unwrap().sent, 0);
    let _worker = worker::spawn(restarted.state.clone());
    // The pause is the test: it gives a running worker the time to send the message again, which it
    // must not (there is nothing to wait for when it behaves).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 1, "delivered once, never twice");
    let rows = outbox(&restarted).await;
    assert_eq!((rows[0].status.as_str(), rows[0].attempts), ("sent", 2));
    let landing = restarted.client.get(link_in(sink.messages()[0]["text"].as_str().unwrap(), &restarted)).send().await.unwrap();
    assert_eq!(landing.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_request_never_waits_on_smtp() {
    // A server that accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let app = mail_app(port, &[]).await;
    let _worker = worker::spawn(app.state.clone());
    let (client, csrf) = staff(&app, ALEX).await;
    for n in 0..3 {
        let started = Instant::now();
        let customer = format!("Contoso {n}");
        let (status, html) = status_and_text(
            post_invite(&app, &client, &csrf, &[("customer", customer.as_str()), ("email", "it@contoso.example"), ("send", "on")]).await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(started.elapsed() < Duration::from_secs(2), "the request waited {:?}", started.elapsed());
    }
    assert_eq!(outbox(&app).await.len(), 3);
    drop(silent);
}

#[tokio::test]
async fn an_interrupted_email_is_not_sent_again_until_staff_resend_it() {
    let Some(smtp) = require(aiosmtpd()) else { return };
    let port = free_port();
    let sink = smtp.start(port);
    let app = mail_app(port, &[]).await;
    create_invite(&app, Invite::new("Contoso").send_to("it@contoso.example")).await;
    // As if the process had stopped between the SMTP conversation and recording its answer (long ago:
    // on PostgreSQL, where replicas share the outbox, a claim is interrupted once its lease ran out).
    sql(&app.db, "UPDATE outbox SET status = 'sending', attempts = 1, next_attempt_at = '2000-01-01T00:00:00Z'").execute().await;
    let _worker = worker::spawn(app.state.clone());
    let rows = eventually("the worker to look at the message left in `sending`", async || {
        let rows = outbox(&app).await;
        (rows[0].status != "sending").then_some(rows)
    })
    .await;
    assert_eq!(rows[0].status, "interrupted");
    assert!(rows[0].last_reply.as_deref().unwrap().contains("may or may not have been delivered"));
    worker::run_once(&app.state, OffsetDateTime::now_utc() + time::Duration::days(1)).await.unwrap();
    assert!(sink.messages().is_empty(), "never re-sent automatically");

    let (client, csrf) = staff(&app, ALEX).await;
    let page = client.get(app.url("/outbox")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("interrupted") && page.contains(&format!("/outbox/{}/resend", rows[0].id)), "{page}");
    let resent = client.post(app.url(&format!("/outbox/{}/resend", rows[0].id))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(resent.status(), StatusCode::SEE_OTHER);
    assert_eq!(sink.wait_for(1).await.len(), 1);
    // The server has the message; the worker records its answer right after.
    let rows = recorded(&app).await;
    assert_eq!((rows[0].status.as_str(), rows[1].status.as_str()), ("interrupted", "sent"));
    assert_eq!(rows[0].resent_as.as_deref(), Some(rows[1].id.as_str()));

    // Once: a second click (or a second admin) queues nothing more, and the button is gone.
    let again = client.post(app.url(&format!("/outbox/{}/resend", rows[0].id))).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(outbox(&app).await.len(), 2);
    let page = client.get(app.url("/outbox")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains(&format!("/outbox/{}/resend", rows[0].id)) && page.contains("sent again as"), "{page}");
}

#[tokio::test]
async fn staff_are_told_when_a_tenant_connects_and_when_it_degrades() {
    let Some(smtp) = require(aiosmtpd()) else { return };
    let port = free_port();
    let sink = smtp.start(port);
    let app = mail_app(port, &["alex@fabrikampartner.example", "ops@fabrikampartner.example"]).await;
    let _worker = worker::spawn(app.state.clone());
    // A customer connects (the real journey against the fake).
    let (_, url) = create_invite(&app, "Contoso").await;
    set_auto(&app, Some(MEGAN), Some("accept")).await;
    let (status, _, _) = journey(&http_client(), &url).await;
    assert_eq!(status, StatusCode::OK);
    let messages = sink.wait_for(2).await;
    assert_eq!(messages.len(), 2, "one per recipient");
    let mut to: Vec<String> = messages.iter().map(|m| m["rcpt_tos"][0].as_str().unwrap().to_owned()).collect();
    to.sort();
    assert_eq!(to, ["alex@fabrikampartner.example", "ops@fabrikampartner.example"]);
    for m in &messages {
        assert!(m["subject"].as_str().unwrap().starts_with("Tenant connected: Contoso"), "{m}");
        assert!(m["text"].as_str().unwrap().contains(MEGAN), "{m}");
    }

    // The tenant was verified and gets worse.
    let tenant: String = sql(&app.db, "SELECT tenant_id FROM tenants").scalar().await;
    sql(&app.db, "UPDATE tenants SET status = 'verified'").execute().await;
    let now = consent_portal::domain::Timestamp::new(OffsetDateTime::now_utc());
    let result = db::monitoring::CheckResult {
        tenant_id: TenantId::parse(&tenant).unwrap(),
        started_at: now,
        finished_at: now,
        status: consent_portal::domain::TenantStatus::MissingRoles,
        reason: "AdvancedHunting.Read.All is no longer granted.".into(),
        roles_present: consent_portal::domain::RoleList::default(),
        roles_missing: consent_portal::domain::RoleList::from_json("[\"defender:AdvancedHunting.Read.All\"]").unwrap(),
        error_code: None,
        trace_id: None,
        token_header: None,
        token_claims: None,
        api_status: None,
        apis: consent_portal::domain::ApiResults::default(),
        next_check_at: now,
        not_before: None,
    };
    let notify = app.state.config.email.notify.iter().map(ToString::to_string).collect::<Vec<_>>();
    db::monitoring::record_results(&app.state.db, &[result], &notify).await.unwrap();
    app.state.mailer.wake();
    let messages = sink.wait_for(4).await;
    assert_eq!(messages.len(), 4);
    for m in &messages[2..] {
        assert!(m["subject"].as_str().unwrap().starts_with("Tenant degraded: Contoso"), "{m}");
        let text = m["text"].as_str().unwrap();
        assert!(text.contains("from verified to missing_roles") && text.contains("no longer granted"), "{text}");
        assert!(text.contains(&format!("{}/tenants/{tenant}", app.base_url)));
    }
}

#[tokio::test]
async fn the_demo_outbox_shows_each_email_as_it_would_arrive() {
    // The demo's configuration: the in-memory mailbox.
    let app = spawn_app().await;
    let (client, csrf) = staff(&app, ALEX).await;
    let (status, html) = status_and_text(
        post_invite(&app, &client, &csrf, &[("customer", "Contoso"), ("email", "it@contoso.example"), ("send", "on"), ("language", "it")])
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    worker::run_once(&app.state, OffsetDateTime::now_utc()).await.unwrap();
    let page = client.get(app.url("/outbox")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("collegate Contoso"), "{page}");
    assert!(page.contains("in memory only"), "{page}");
    let marker = format!("<a href=\"{}/onboard/", app.base_url);
    let start = page.find(&marker).unwrap_or_else(|| panic!("no clickable link: {page}")) + "<a href=\"".len();
    let link = &page[start..start + page[start..].find('"').unwrap()];
    assert_eq!(app.client.get(link).send().await.unwrap().status(), StatusCode::OK);
    let id = &outbox(&app).await[0].id;
    let preview = client.get(app.url(&format!("/outbox/{id}/html"))).send().await.unwrap();
    assert_eq!(preview.status(), StatusCode::OK);
    assert!(preview.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"));
    assert!(preview.text().await.unwrap().contains("Apri la pagina di attivazione"));
    // Only staff see it.
    assert_ne!(app.client.get(app.url("/outbox")).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn without_smtp_the_send_option_is_disabled() {
    let app = spawn_app_configured(|config| config.email.transport = TransportSettings::Off).await;
    let (client, csrf) = staff(&app, ALEX).await;
    let page = client.get(app.url("/invites")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("name=\"send\" value=\"on\" disabled"), "{page}");
    assert!(page.contains("PORTAL_SMTP_URL"));
    let (status, html) = status_and_text(
        post_invite(&app, &client, &csrf, &[("customer", "Contoso"), ("email", "it@contoso.example"), ("send", "on")]).await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("PORTAL_SMTP_URL is not set"));
}

/// The outbox once the worker has recorded the server's answer for every message it is sending (the
/// sink has a message a moment before the worker writes "sent").
async fn recorded(app: &TestApp) -> Vec<db::outbox::OutboxRow> {
    eventually("every message out of `sending`", async || {
        let rows = outbox(app).await;
        rows.iter().all(|r| r.status != "sending").then_some(rows)
    })
    .await
}

#[tokio::test]
async fn mail_goes_over_starttls_and_implicit_tls_and_the_certificate_is_checked() {
    let Some(smtp) = require(aiosmtpd()) else { return };
    let pki = tempfile::tempdir().unwrap();
    fake_entra::server::tls_self_signed(pki.path()).unwrap();
    let ca = std::fs::read(pki.path().join("ca.pem")).unwrap();
    for (mode, url) in [("starttls", "smtp://127.0.0.1:{port}?tls=required"), ("smtps", "smtps://127.0.0.1:{port}")] {
        let port = free_port();
        let sink = smtp.start_tls(port, mode, pki.path());
        let url = SmtpUrl::parse(&url.replace("{port}", &port.to_string())).unwrap();

        // Without the server's CA, its certificate is refused: nothing is sent, the row waits.
        let untrusting = url.clone();
        let app = spawn_app_configured(move |config| config.email.transport = TransportSettings::Smtp(untrusting)).await;
        create_invite(&app, Invite::new("Contoso").send_to("it@contoso.example")).await;
        worker::run_once(&app.state, OffsetDateTime::now_utc()).await.unwrap();
        let rows = outbox(&app).await;
        assert_eq!(rows[0].status, "queued", "{mode}: {:?}", rows[0].last_reply);
        assert!(
            rows[0].last_reply.as_deref().unwrap_or_default().to_lowercase().contains("certificate"),
            "{mode}: {:?}",
            rows[0].last_reply
        );
        assert!(sink.messages().is_empty());

        // Trusting it (PORTAL_SMTP_CA_FILE), the e-mail goes, encrypted all the way.
        let trusting = url.trusting(&ca).unwrap();
        let app = spawn_app_configured(move |config| config.email.transport = TransportSettings::Smtp(trusting)).await;
        create_invite(&app, Invite::new("Contoso").send_to("it@contoso.example")).await;
        worker::run_once(&app.state, OffsetDateTime::now_utc()).await.unwrap();
        let rows = outbox(&app).await;
        assert_eq!(rows[0].status, "sent", "{mode}: {:?}", rows[0].last_reply);
        let messages = sink.messages();
        assert_eq!(messages.len(), 1, "{mode}");
        assert_eq!(messages[0]["rcpt_tos"][0], "it@contoso.example");
    }
}

#[tokio::test]
async fn the_onboarding_email_lists_the_permissions_under_each_api_in_its_language() {
    // The demo's configuration: the in-memory mailbox, and permissions on Graph and the Defender XDR API.
    let app = spawn_app().await;
    for (language, one_approval) in
        [("en", "One approval covers every API listed."), ("it", "Una sola approvazione vale per tutte le API elencate.")]
    {
        Invite::new("Contoso").send_to("it@contoso.example").language(language).create(&app.db).await;
        let pass = worker::run_once(&app.state, OffsetDateTime::now_utc()).await.unwrap();
        assert_eq!(pass.sent, 1, "{pass:?}");
        let mail = app.state.mailer.memory().unwrap().messages().remove(0);
        let groups = demo_permissions_in_words(language);
        // The text part: each API's name on a line of its own, its roles under it, one to a line.
        for (heading, roles) in &groups {
            let at = mail.text.find(&format!("\n\n{heading}\n")).unwrap_or_else(|| panic!("no heading {heading:?}: {}", mail.text));
            let lines: Vec<&str> = mail.text[at + 2..].lines().skip(1).take(roles.len()).collect();
            let listed: Vec<String> = roles.iter().map(|role| format!("- {role}")).collect();
            assert_eq!(lines, listed, "{}", mail.text);
        }
        assert_grouped(&mail.text, &groups, one_approval);
        assert!(!mail.text.contains('<') && !mail.text.contains("&#"), "plain text: {}", mail.text);
        // The HTML part says the same.
        assert_grouped(&visible_text(&mail.html), &groups, one_approval);
    }
}
