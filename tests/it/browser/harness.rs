//! The browser tests' harness: Debian's headless Chromium driven through chromedriver (spawned per
//! test on a free port, killed on drop), and the checks every page of a journey gets — screenshots at
//! desktop and phone width, axe-core (no serious or critical violation at either width nor in the dark
//! theme), no console error, and no request to an origin other than the portal's and the fake's.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use thirtyfour::prelude::*;
use thirtyfour::{ChromiumLikeCapabilities, LoggingPrefsLogLevel};

use crate::helpers::{ChildGuard, Missing, eventually, within};

/// How long a page may take to appear.
const PAGE_TIMEOUT: Duration = Duration::from_secs(20);

pub const DESKTOP: (u32, u32) = (1280, 900);
pub const PHONE: (u32, u32) = (390, 844);

/// What the browser tests need on the machine.
pub struct Tools {
    chromium: PathBuf,
    chromedriver: PathBuf,
    axe: PathBuf,
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| candidate.is_file())
}

/// `name`, from the variable `variable` when it is set (the binary it names must exist), else on PATH.
fn program(variable: &str, name: &str) -> Option<PathBuf> {
    match std::env::var_os(variable) {
        Some(path) => Some(PathBuf::from(path)).filter(|p| p.is_file()),
        None => find_in_path(name),
    }
}

/// Chromium, chromedriver and axe-core, or what is missing of them and how to install it.
pub fn tools() -> Result<Tools, Missing> {
    let chromium = program("CHROMIUM", "chromium");
    let chromedriver = program("CHROMEDRIVER", "chromedriver");
    let axe = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/node_modules/axe-core/axe.min.js");
    match (chromium, chromedriver, axe.is_file()) {
        (Some(chromium), Some(chromedriver), true) => Ok(Tools { chromium, chromedriver, axe }),
        (chromium, chromedriver, has_axe) => {
            let (mut needs, mut packages, mut variables) = (Vec::new(), Vec::new(), Vec::new());
            if chromium.is_none() {
                needs.push("chromium");
                packages.push("chromium");
                variables.push("CHROMIUM");
            }
            if chromedriver.is_none() {
                needs.push("chromedriver");
                packages.push("chromium-driver");
                variables.push("CHROMEDRIVER");
            }
            let mut install = Vec::new();
            if !packages.is_empty() {
                install.push(format!("apt-get install {}, or {} naming another binary", packages.join(" "), variables.join(" and ")));
            }
            if !has_axe {
                needs.push("axe-core");
                install.push("npm ci --prefix tests/browser".to_owned());
            }
            let needs = match needs.split_last() {
                Some((last, [])) => last.to_string(),
                Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
                None => unreachable!("something is missing"),
            };
            Err(Missing { needs, install: install.join("; ") })
        }
    }
}

/// Where the screenshots go: `target/screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().map_or_else(|| PathBuf::from("target"), Path::to_path_buf).join("screenshots")
}

/// A headless Chromium for one test, and the journey it is on.
pub struct Browser {
    pub driver: WebDriver,
    axe_source: Arc<String>,
    /// The origins pages may load anything from: the portal's and the fake's.
    allowed_origins: Vec<String>,
    journey: String,
    step: usize,
    /// Set by `error_page`: the document's own status line is expected in the console.
    expected_status: Option<u16>,
    _profile: tempfile::TempDir,
    _chromedriver: ChildGuard,
}

/// Starts Chromium for `journey`, allowed to load from `allowed_origins`.
pub async fn start(tools: Tools, journey: &str, allowed_origins: &[&str]) -> Browser {
    let port = crate::helpers::free_port();
    let chromedriver = Command::new(&tools.chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", tools.chromedriver.display()));
    let chromedriver = ChildGuard(chromedriver);
    let server = format!("http://127.0.0.1:{port}");
    wait_for_chromedriver(&server).await;

    let profile = tempfile::tempdir().unwrap();
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(&tools.chromium.to_string_lossy()).unwrap();
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--disable-extensions",
        "--disable-features=Translate,OptimizationHints,MediaRouter",
        "--hide-scrollbars",
        "--force-color-profile=srgb",
        "--lang=en-US",
        // Nothing but loopback resolves: a request to any other host fails (and shows in the console).
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        &format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
        &format!("--user-data-dir={}", profile.path().display()),
    ] {
        caps.add_arg(arg).unwrap();
    }
    caps.set_browser_log_level(LoggingPrefsLogLevel::All).unwrap();
    let t0 = Instant::now();
    let driver = WebDriver::new(&server, caps).await.expect("chromedriver starts a Chromium session");
    eprintln!("[{journey}] chromium started in {:?}", t0.elapsed());
    driver.set_page_load_timeout(PAGE_TIMEOUT).await.unwrap();
    driver.set_script_timeout(Duration::from_secs(30)).await.unwrap();
    let axe_source = Arc::new(std::fs::read_to_string(&tools.axe).unwrap());
    let browser = Browser {
        driver,
        axe_source,
        allowed_origins: allowed_origins.iter().map(|o| o.trim_end_matches('/').to_owned()).collect(),
        journey: journey.to_owned(),
        step: 0,
        expected_status: None,
        _profile: profile,
        _chromedriver: chromedriver,
    };
    browser.viewport(DESKTOP, false).await;
    // This journey's screenshots of an earlier run go: the folder holds only what this run saw.
    std::fs::create_dir_all(screenshot_dir()).unwrap();
    for entry in std::fs::read_dir(screenshot_dir()).unwrap().flatten() {
        if entry.file_name().to_string_lossy().starts_with(&format!("{journey}-")) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    browser
}

async fn wait_for_chromedriver(server: &str) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
    eventually(&format!("chromedriver to get ready at {server}"), async || {
        let status: Value = client.get(format!("{server}/status")).send().await.ok()?.json().await.ok()?;
        (status["value"]["ready"] == true).then_some(())
    })
    .await;
}

impl Browser {
    /// Sends a Chrome DevTools Protocol command.
    pub async fn cdp(&self, method: &str, params: Value) -> Value {
        self.driver.cdp().send_raw(method, params).await.unwrap_or_else(|e| panic!("[{}] {method}: {e}", self.journey))
    }

    pub async fn goto(&self, url: &str) {
        self.driver.goto(url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    pub async fn quit(self) {
        let Browser { driver, .. } = self;
        let _ = driver.quit().await;
    }

    /// Deletes every cookie of 127.0.0.1 (the portal's and the fake's: cookies ignore the port), as if
    /// another person used the browser.
    pub async fn forget_everyone(&self) {
        self.driver.delete_all_cookies().await.unwrap();
    }

    /// Runs `script` and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.driver.execute(script, args).await.unwrap_or_else(|e| panic!("script failed: {e}\n{script}")).json().clone()
    }

    /// Waits until `script` returns true.
    pub async fn wait_until(&self, what: &str, script: &str, args: Vec<Value>) {
        let done = within(PAGE_TIMEOUT, async || {
            let value = self.driver.execute(script, args.clone()).await.ok()?;
            (value.json() == &Value::Bool(true)).then_some(())
        })
        .await;
        if done.is_none() {
            let url = self.driver.current_url().await.map(|u| u.to_string()).unwrap_or_default();
            let text = self.js("return document.body ? document.body.innerText : ''", vec![]).await;
            panic!("[{}] timed out waiting for {what} on {url}; the page says:\n{}", self.journey, text.as_str().unwrap_or(""));
        }
    }

    /// The first element matching `css` on the current page (waiting for it).
    pub async fn find(&self, css: &str) -> WebElement {
        self.wait_until(
            &format!("`{css}`"),
            "return document.readyState === 'complete' && !!document.querySelector(arguments[0])",
            vec![json!(css)],
        )
        .await;
        self.driver.find(By::Css(css)).await.unwrap_or_else(|e| panic!("[{}] `{css}`: {e}", self.journey))
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("[{}] click `{css}`: {e}", self.journey));
    }

    /// The text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    /// The page's visible text.
    pub async fn body_text(&self) -> String {
        self.text("body").await
    }

    pub async fn url(&self) -> String {
        self.driver.current_url().await.unwrap().to_string()
    }

    /// The `lang` of the document.
    pub async fn lang(&self) -> String {
        self.js("return document.documentElement.getAttribute('lang') || ''", vec![]).await.as_str().unwrap_or("").to_owned()
    }

    /// Waits for the page that `css` identifies, then checks it: screenshots at desktop and phone
    /// width, axe-core, the origins of everything it loaded, and the console.
    pub async fn page(&mut self, step: &str, css: &str) -> WebElement {
        let found = self.find(css).await;
        self.check_page(step).await;
        found
    }

    /// `page` for a page served with an error status on purpose (e.g. 403 for "only an administrator
    /// can approve"): Chromium reports the document's own status in the console, which is allowed.
    pub async fn error_page(&mut self, step: &str, css: &str, status: u16) -> WebElement {
        self.expected_status = Some(status);
        let found = self.page(step, css).await;
        self.expected_status = None;
        found
    }

    async fn check_page(&mut self, step: &str) {
        self.step += 1;
        let name = format!("{}-{:02}-{step}", self.journey, self.step);
        let started = Instant::now();
        let dir = screenshot_dir();
        self.capture(&dir.join(format!("{name}-desktop.png"))).await;
        self.axe(&format!("{name} at desktop width")).await;
        // The portal has a dark theme: it has to pass too.
        self.cdp("Emulation.setEmulatedMedia", json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]})).await;
        self.axe(&format!("{name} in dark mode")).await;
        self.cdp("Emulation.setEmulatedMedia", json!({"features": [{"name": "prefers-color-scheme", "value": "light"}]})).await;
        self.viewport(PHONE, true).await;
        let overflow = self.overflow().await;
        self.capture(&dir.join(format!("{name}-phone.png"))).await;
        self.axe(&format!("{name} at phone width")).await;
        self.viewport(DESKTOP, false).await;
        assert_eq!(overflow, json!([]), "[{name}] the page is wider than a {}px phone", PHONE.0);
        self.origins(&name).await;
        self.console(&name).await;
        eprintln!("[{name}] checked in {:?}", started.elapsed());
    }

    async fn viewport(&self, (width, height): (u32, u32), mobile: bool) {
        self.cdp("Emulation.setDeviceMetricsOverride", json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}))
            .await;
        self.wait_until("the new width", "return document.documentElement.clientWidth <= arguments[0]", vec![json!(width)]).await;
    }

    /// A full-page PNG (the whole height, not just the window).
    async fn capture(&self, path: &Path) {
        let metrics = self.cdp("Page.getLayoutMetrics", json!({})).await;
        let size = &metrics["cssContentSize"];
        let (width, height) = (size["width"].as_f64().unwrap_or(1280.0), size["height"].as_f64().unwrap_or(900.0));
        let clip = json!({"x": 0, "y": 0, "width": width, "height": height.min(6000.0), "scale": 1});
        let shot = self.cdp("Page.captureScreenshot", json!({"format": "png", "captureBeyondViewport": true, "clip": clip})).await;
        let png = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// At phone width, the elements wider than the screen (innermost first); none when it fits.
    async fn overflow(&self) -> Value {
        self.js(
            "const width = document.documentElement.clientWidth;
             if (document.documentElement.scrollWidth <= width) return [];
             return [...document.body.querySelectorAll('*')]
               .filter(e => e.getBoundingClientRect().right > width + 1)
               .reverse().slice(0, 5)
               .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + String(e.className).split(' ').join('.') : '')
                    + ' right=' + Math.round(e.getBoundingClientRect().right))
               .concat(['scrollWidth=' + document.documentElement.scrollWidth]);",
            vec![],
        )
        .await
    }

    /// axe-core, injected into the page: its serious and critical violations.
    pub async fn serious_violations(&self) -> Vec<Value> {
        let loaded = self.js("return typeof window.axe === 'object'", vec![]).await;
        if loaded != Value::Bool(true) {
            self.driver.execute(self.axe_source.as_str(), vec![]).await.unwrap();
        }
        let result = self
            .driver
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                       nodes: v.nodes.map(n => n.target.join(' ') + ' — ' + n.failureSummary) }))))
                   .catch(e => done({ error: String(e) }));",
                vec![],
            )
            .await
            .unwrap();
        let violations = result.json();
        assert!(violations.get("error").is_none(), "[{}] axe failed: {violations}", self.journey);
        violations.as_array().unwrap().iter().filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical"))).cloned().collect()
    }

    async fn axe(&self, name: &str) {
        let serious = self.serious_violations().await;
        assert!(
            serious.is_empty(),
            "[{name}] accessibility (axe-core), serious or critical: {}",
            serde_json::to_string_pretty(&serious).unwrap()
        );
    }

    /// The URLs the page was loaded from or loaded that are not on the portal's or the fake's origin.
    pub async fn foreign_requests(&self) -> Vec<String> {
        let urls = self
            .js(
                "return [location.href]
                   .concat(performance.getEntriesByType('navigation').map(e => e.name))
                   .concat(performance.getEntriesByType('resource').map(e => e.name));",
                vec![],
            )
            .await;
        urls.as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .filter(|url| match url::Url::parse(url) {
                Ok(parsed) if parsed.scheme() == "data" => false,
                Ok(parsed) => !self.allowed_origins.contains(&parsed.origin().ascii_serialization()),
                Err(_) => true,
            })
            .map(str::to_owned)
            .collect()
    }

    async fn origins(&self, name: &str) {
        let foreign = self.foreign_requests().await;
        assert!(foreign.is_empty(), "[{name}] requests to foreign origins (allowed: {:?}): {foreign:?}", self.allowed_origins);
    }

    /// The console's SEVERE entries since the last call (Chromium's report of the document's own
    /// status is left out when `error_page` expects it).
    pub async fn console_errors(&self) -> Vec<String> {
        let url = self.url().await;
        let entries = self.driver.browser_log().await.unwrap();
        entries
            .into_iter()
            .filter(|e| e.level == "SEVERE")
            .map(|e| e.message)
            .filter(|message| match self.expected_status {
                // "<url> - Failed to load resource: the server responded with a status of 403 (Forbidden)"
                Some(status) => {
                    !(message.starts_with(&format!("{url} - "))
                        && message.contains(&format!("the server responded with a status of {status}")))
                }
                None => true,
            })
            .collect()
    }

    async fn console(&self, name: &str) {
        let errors = self.console_errors().await;
        assert!(errors.is_empty(), "[{name}] console errors on {}:\n{}", self.url().await, errors.join("\n"));
    }

    // -------------------------------------------------------------------------------------------
    // The keyboard

    /// Presses one key (Tab, Shift+Tab, Enter, Space) on whatever has the focus.
    pub async fn press(&self, key: Key) {
        self.driver.action_chain().send_keys(key).perform().await.unwrap();
    }

    pub async fn shift_tab(&self) {
        self.driver.action_chain().key_down(Key::Shift).send_keys(Key::Tab).key_up(Key::Shift).perform().await.unwrap();
    }

    /// Presses Tab until the focused element matches `css` (at most 40 times), and checks that the focus
    /// can be seen (an outline or a box shadow).
    pub async fn tab_to(&self, css: &str) {
        for _ in 0..40 {
            self.press(Key::Tab).await;
            let focused =
                self.js("return !!document.activeElement && document.activeElement.matches(arguments[0])", vec![json!(css)]).await;
            if focused == Value::Bool(true) {
                let visible = self
                    .js(
                        "const s = getComputedStyle(document.activeElement);
                         return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';",
                        vec![],
                    )
                    .await;
                assert_eq!(visible, Value::Bool(true), "[{}] `{css}` has the focus but shows no focus indicator", self.journey);
                return;
            }
        }
        let url = self.url().await;
        panic!("[{}] Tab never reached `{css}` on {url}", self.journey);
    }
}
