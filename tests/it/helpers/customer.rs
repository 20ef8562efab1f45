//! A customer's admin onboarding through the portal's pages and the fake (in auto mode: no page of
//! Microsoft's to click).

use reqwest::StatusCode;

use super::{follow_visiting, hidden_value};

/// Opens the landing page and presses "Continue with Microsoft"; returns the answer of the POST.
pub async fn continue_from_landing(client: &reqwest::Client, url: &str) -> reqwest::Response {
    let landing = client.get(url).send().await.unwrap();
    assert_eq!(landing.status(), StatusCode::OK, "the landing page (reading it needs no write)");
    let html = landing.text().await.unwrap();
    let csrf = hidden_value(&html, "csrf");
    client.post(url).form(&[("csrf", csrf.as_str())]).send().await.unwrap()
}

/// The whole journey from the landing page of `url` in auto mode; returns the status and the page it
/// ends on, and the URLs visited on the way.
pub async fn journey(client: &reqwest::Client, url: &str) -> (StatusCode, String, Vec<String>) {
    let started = continue_from_landing(client, url).await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let (done, visited) = follow_visiting(client, started).await;
    let status = done.status();
    (status, done.text().await.unwrap(), visited)
}
