//! A client like a browser's, and reading what it gets: redirects followed by hand, hidden form fields,
//! an element by its id, the text a reader sees.

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

/// What a reader sees of `html`: the text without tags, entities of apostrophes and quotes decoded,
/// white space collapsed.
pub fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text.replace("&#39;", "'").replace("&#34;", "\"").replace("&quot;", "\"").replace("&amp;", "&").replace("&#38;", "&");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // A tag between a word and its punctuation leaves a space: "( SecurityIncident.Read.All )".
    text.replace("( ", "(").replace(" )", ")").replace(" :", ":").replace(" ,", ",")
}

/// The inside of the element whose id is `id` (an element with no element of its own kind inside).
pub fn element<'a>(html: &'a str, id: &str) -> &'a str {
    let marker = format!(" id=\"{id}\"");
    let at = html.find(&marker).unwrap_or_else(|| panic!("no #{id} in {html}"));
    let open = html[..at].rfind('<').unwrap();
    let tag: String = html[open + 1..].chars().take_while(char::is_ascii_alphanumeric).collect();
    let start = at + html[at..].find('>').unwrap() + 1;
    // Count nested elements of the same kind until the one opened here closes.
    let (opening, closing) = (format!("<{tag}"), format!("</{tag}>"));
    let mut depth = 1;
    let mut index = start;
    loop {
        let next_close = index + html[index..].find(&closing).unwrap_or_else(|| panic!("#{id} is not closed"));
        match html[index..next_close].find(&opening) {
            Some(offset) => {
                depth += 1;
                index += offset + opening.len();
            }
            None => {
                depth -= 1;
                if depth == 0 {
                    return &html[start..next_close];
                }
                index = next_close + closing.len();
            }
        }
    }
}
