//! A client like a browser's, and reading what it gets: redirects followed by hand, hidden form fields.

use std::time::Duration;

/// A client like a browser's, but one that shows redirects instead of following them.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Follows GET redirects from `response`; returns the last response.
pub async fn follow(client: &reqwest::Client, response: reqwest::Response) -> reqwest::Response {
    follow_visiting(client, response).await.0
}

/// Follows GET redirects from `response`; returns the last response and the locations it went
/// through, as the redirects named them.
pub async fn follow_visiting(client: &reqwest::Client, mut response: reqwest::Response) -> (reqwest::Response, Vec<String>) {
    let mut visited = Vec::new();
    for _ in 0..10 {
        if !response.status().is_redirection() {
            return (response, visited);
        }
        let next = location(&response);
        let url = response.url().join(&next).unwrap();
        visited.push(next);
        response = client.get(url).send().await.unwrap();
    }
    panic!("too many redirects: {visited:?}");
}

/// A response's status and body.
pub async fn status_and_text(response: reqwest::Response) -> (reqwest::StatusCode, String) {
    (response.status(), response.text().await.unwrap())
}

/// The value of the hidden form field `name` in a page.
pub fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in {html}")) + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// A redirect's target.
pub fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}
