//! Partner staff signing in through the fake (in auto mode: no page to click).

use reqwest::StatusCode;

use super::{Portal, follow, hidden_value, http_client, set_auto};

/// Presses "Sign in with Microsoft" on the staff sign-in page; returns the answer of the POST (a
/// redirect to the fake's authorize endpoint).
pub async fn press_sign_in(portal: &impl Portal, client: &reqwest::Client) -> reqwest::Response {
    let page = client.get(portal.url("/staff/sign-in")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign in with Microsoft"), "{html}");
    let csrf = hidden_value(&html, "csrf");
    let started = client.post(portal.url("/staff/sign-in")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    started
}

/// Signs `upn` in as staff in a new browser; returns the browser and the page it ends on.
pub async fn sign_in_as(portal: &impl Portal, upn: &str) -> (reqwest::Client, StatusCode, String) {
    set_auto(portal, Some(upn), None).await;
    let client = http_client();
    let started = press_sign_in(portal, &client).await;
    let done = follow(&client, started).await;
    let status = done.status();
    (client, status, done.text().await.unwrap())
}

/// A signed-in staff browser and its CSRF token.
pub async fn staff(portal: &impl Portal, upn: &str) -> (reqwest::Client, String) {
    let (client, status, html) = sign_in_as(portal, upn).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let csrf = hidden_value(&html, "csrf");
    (client, csrf)
}
