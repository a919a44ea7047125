//! A browser for the bot's Google connect pages, as strict as a real one where the bot relies
//! on it: it keeps the cookies a page sets (by host and name; `Max-Age=0` deletes), sends
//! them back, follows the start page's form with a POST that carries the page's `Origin`,
//! and follows no redirect by itself, so tests see each hop.
//!
//! [`Browser::connect`] is the whole walk: the bot's start page → Continue → the fake
//! Google's consent → the bot's callback. [`confirm_in_dm`] then presses Confirm in the DM
//! the bot sends, as the Discord user.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::Url;

use crate::fake::FakeDiscord;
use crate::message::Message;
use crate::people::FakeUser;

/// One answer, as the browser saw it.
#[derive(Debug, Clone)]
pub struct Page {
    /// The HTTP status.
    pub status: u16,
    /// The body (HTML for the bot's pages).
    pub body: String,
    /// Where a redirect points, if it is one.
    pub location: Option<String>,
    /// The `Set-Cookie` headers, as sent.
    pub set_cookies: Vec<String>,
}

/// A browser with its own cookie jar. Two `Browser`s are two different browsers.
#[derive(Debug)]
pub struct Browser {
    http: reqwest::Client,
    /// Cookies by host, then name.
    jar: Mutex<HashMap<String, HashMap<String, String>>>,
}

impl Default for Browser {
    fn default() -> Self {
        Browser::new()
    }
}

impl Browser {
    /// A browser with no cookies.
    pub fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("an HTTP client without TLS settings builds"),
            jar: Mutex::new(HashMap::new()),
        }
    }

    /// The cookie `name` this browser holds for `url`'s host.
    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        let host = Url::parse(url).ok()?.host_str()?.to_owned();
        self.jar.lock().ok()?.get(&host)?.get(name).cloned()
    }

    /// Puts the cookie `name=value` for `url`'s host into the jar, as a browser that kept a
    /// cookie the site cleared (or a copy of it) would send it.
    pub fn set_cookie(&self, url: &str, name: &str, value: &str) {
        let host = Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        if let Ok(mut jar) = self.jar.lock() {
            jar.entry(host)
                .or_default()
                .insert(name.to_owned(), value.to_owned());
        }
    }

    /// `GET url` with this browser's cookies.
    pub async fn get(&self, url: &str) -> Result<Page, String> {
        let request = self.http.get(url);
        self.send(url, request).await
    }

    /// `POST url` of a form, as a browser submits it from a page of `origin` (`None`: a
    /// client that sends no `Origin`).
    pub async fn post_form(
        &self,
        url: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Result<Page, String> {
        let mut request = self.http.post(url).form(fields);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        self.send(url, request).await
    }

    /// Opens the bot's start page at `link` and presses its Continue button. Returns the
    /// start page and the answer to Continue (a 303 to Google when accepted).
    pub async fn open_and_continue(&self, link: &str) -> Result<(Page, Page), String> {
        let start = self.get(link).await?;
        if start.status != 200 {
            return Err(format!(
                "the start page answered {}: {}",
                start.status, start.body
            ));
        }
        let (action, state) = continue_form(&start.body)?;
        let base = Url::parse(link).map_err(|e| format!("{link}: {e}"))?;
        let target = base.join(&action).map_err(|e| format!("{action}: {e}"))?;
        let origin = base.origin().ascii_serialization();
        let next = self
            .post_form(target.as_str(), &[("state", &state)], Some(&origin))
            .await?;
        Ok((start, next))
    }

    /// The whole walk from `link` to the bot's callback page (the fake Google consents as
    /// set with `FakeGoogle::set_consent`). Returns the callback page and its URL.
    pub async fn connect(&self, link: &str) -> Result<(String, Page), String> {
        let (_, next) = self.open_and_continue(link).await?;
        let consent = redirect(&next, 303, "Continue")?;
        let from_google = self.get(&consent).await?;
        let callback = redirect(&from_google, 302, "Google's consent page")?;
        let page = self.get(&callback).await?;
        Ok((callback, page))
    }

    async fn send(&self, url: &str, request: reqwest::RequestBuilder) -> Result<Page, String> {
        let host = Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .ok_or_else(|| format!("{url} has no host"))?;
        let cookies = self
            .jar
            .lock()
            .map_err(|_| "the cookie jar is poisoned".to_string())?
            .get(&host)
            .map(|c| {
                c.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        let request = if cookies.is_empty() {
            request
        } else {
            request.header("cookie", cookies)
        };
        let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let set_cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        {
            let mut jar = self
                .jar
                .lock()
                .map_err(|_| "the cookie jar is poisoned".to_string())?;
            let cookies = jar.entry(host).or_default();
            for set in &set_cookies {
                let Some((name, value)) = set.split(';').next().and_then(|p| p.split_once('='))
                else {
                    continue;
                };
                if set.contains("Max-Age=0") {
                    cookies.remove(name.trim());
                } else {
                    cookies.insert(name.trim().to_owned(), value.trim().to_owned());
                }
            }
        }
        let body = response.text().await.map_err(|e| format!("{url}: {e}"))?;
        Ok(Page {
            status,
            body,
            location,
            set_cookies,
        })
    }
}

/// The `Location` of a redirect answered with `status`.
fn redirect(page: &Page, status: u16, what: &str) -> Result<String, String> {
    match (&page.location, page.status == status) {
        (Some(location), true) => Ok(location.clone()),
        _ => Err(format!(
            "{what} answered {} (not a {status} redirect): {}",
            page.status, page.body
        )),
    }
}

/// The start page's form: its `action` and the hidden `state`.
fn continue_form(html: &str) -> Result<(String, String), String> {
    let form = html
        .split("<form")
        .nth(1)
        .ok_or_else(|| format!("no form on the start page: {html}"))?;
    let attribute = |text: &str, name: &str| -> Option<String> {
        let start = text.find(&format!("{name}=\""))? + name.len() + 2;
        let end = text[start..].find('"')? + start;
        Some(text[start..end].to_owned())
    };
    if attribute(form, "method").as_deref() != Some("post") {
        return Err(format!("the start page's form is not a POST: {form}"));
    }
    let action = attribute(form, "action").ok_or("the form has no action")?;
    let state = form
        .split("<input")
        .skip(1)
        .find(|input| attribute(input, "name").as_deref() == Some("state"))
        .and_then(|input| attribute(input, "value"))
        .ok_or("the form has no state field")?;
    Ok((action, state))
}

/// Waits for the bot's "Connect …?" DM to `user` and presses `label` ("Confirm" or
/// "Not me") on the newest one. Returns the DM as it reads afterwards.
pub async fn answer_in_dm(
    fake: &FakeDiscord,
    user: &FakeUser,
    label: &str,
    timeout: Duration,
) -> Result<Message, String> {
    let deadline = tokio::time::Instant::now() + timeout;
    let question = loop {
        let asked = fake
            .dms(user.id)
            .into_iter()
            .rev()
            .find(|m| m.button_id("Not me").is_some());
        if let Some(question) = asked {
            break question;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "no Confirm / Not me DM reached {} (DMs: {:?})",
                user.name,
                fake.dms(user.id)
                    .iter()
                    .map(Message::text)
                    .collect::<Vec<_>>()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let button = question
        .button_id(label)
        .ok_or_else(|| format!("no {label:?} button on {}", question.text()))?;
    fake.click(user, &question, &button).await.settled().await
}

/// [`answer_in_dm`] with Confirm.
pub async fn confirm_in_dm(
    fake: &FakeDiscord,
    user: &FakeUser,
    timeout: Duration,
) -> Result<Message, String> {
    answer_in_dm(fake, user, "Confirm", timeout).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_continue_form_is_read_from_the_start_page() {
        let html = r#"<p>x</p><form method="post" action="start"><input type="hidden" name="state" value="abc"><button type="submit">Go</button></form>"#;
        assert_eq!(
            continue_form(html),
            Ok(("start".to_string(), "abc".to_string()))
        );
        assert!(continue_form("<p>no form</p>").is_err());
        assert!(continue_form(r#"<form method="get" action="x">"#).is_err());
    }
}
