//! The setup pages: the form that asks for the setup token, and, for a visitor who presented
//! it, the page whose button posts the manifest to GitHub. Every page is uncached, unframed
//! and posts only where it says.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::manifest::{manifest, registration_url};
use super::{SetupError, check_host};
use crate::state::AppState;

/// The fields of the setup form (`POST /`).
#[derive(Debug, Default)]
pub struct SetupForm {
    pub token: Option<String>,
    pub org: Option<String>,
}

impl SetupForm {
    /// Lenient on purpose: an extra field from a browser extension must not break setup.
    pub fn parse(body: &[u8]) -> Self {
        let mut f = SetupForm::default();
        for (k, v) in url::form_urlencoded::parse(body) {
            match k.as_ref() {
                "token" => f.token = Some(v.into_owned()),
                "org" => f.org = Some(v.into_owned()),
                _ => {}
            }
        }
        f
    }
}

/// `GET /` on the public listener: the form that asks for the setup token. It hands out
/// nothing (no `state`), so it needs no token itself.
pub async fn entry(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match token_page(&state, &headers) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn token_page(state: &AppState, headers: &HeaderMap) -> Result<Response, SetupError> {
    if state.configured() {
        return Err(SetupError::Closed);
    }
    check_host(&state.settings.public_url, headers)?;
    let version = crate::model::FOLIO_VERSION;
    let body = format!(
        "<h1>Folio {version}: set up the GitHub App</h1>\
         <p>This Folio has no GitHub App yet. Registering one takes the one-time setup token, so \
         that nobody else can register an app of their own on this Folio. Print it where Folio \
         runs: <code>folio setup-token</code> (in a container, <code>docker exec CONTAINER folio \
         setup-token</code> or <code>kubectl exec POD -- folio setup-token</code>). It is \
         <code>FOLIO_SETUP_TOKEN</code> if you set one, else Folio keeps it in a private file \
         beside its credentials file until setup is done.</p>\
         <form id=\"token\" method=\"post\" action=\"/\">\
         <p><label>Setup token <input name=\"token\" type=\"password\" autocomplete=\"off\" required></label></p>\
         <p><label>Organization that will own the app (leave empty for your own account) \
         <input name=\"org\" pattern=\"[A-Za-z0-9-]{{1,39}}\"></label></p>\
         <button id=\"token-button\" type=\"submit\">Continue</button></form>\
         {PRIVATE_REPO_ADVICE}"
    );
    let mut res = page_response(StatusCode::OK, "Folio: setup", &body);
    set_csp(&mut res, "'self'");
    Ok(res)
}

/// `POST /` on the public listener: with the setup token, the page that registers the app.
pub async fn register(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match registration_page(&state, &headers, &SetupForm::parse(&body)) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// The registration page for a visitor who presented the setup token.
pub fn registration_page(
    state: &AppState,
    headers: &HeaderMap,
    form: &SetupForm,
) -> Result<Response, SetupError> {
    if state.configured() {
        return Err(SetupError::Closed);
    }
    check_host(&state.settings.public_url, headers)?;
    let token = form.token.as_deref().unwrap_or("");
    if !state.setup.token_matches(token) {
        return Err(SetupError::Forbidden);
    }
    let org = form.org.as_deref().map(str::trim).filter(|o| !o.is_empty());
    let manifest = manifest(&state.settings.public_url)?;
    let manifest_json = serde_json::to_string(&manifest)
        .map_err(|e| SetupError::Internal(format!("app manifest: {e}")))?;
    // Checked before a state is minted, so that a mistyped organization costs none.
    registration_url(&state.settings.web_url, org, "")?;
    let st = state
        .setup
        .issue_state()
        .map_err(|e| SetupError::Internal(e.to_string()))?;
    let action = registration_url(&state.settings.web_url, org, &st)?;
    let public = state.settings.public_url.as_str().trim_end_matches('/');
    let owner = match org {
        Some(o) => format!("the organization <strong>{}</strong>", escape(o)),
        None => "your own GitHub account".to_string(),
    };
    let version = crate::model::FOLIO_VERSION;
    // The token goes back in the organization form's hidden field (a POST body, like the one
    // it came in), so that changing the organization needs no second paste.
    let body = format!(
        "<h1>Folio {version}: set up the GitHub App</h1>\
         <p>The button below registers a GitHub App from Folio's \
         manifest: permissions <em>issues: write; pull requests, contents, metadata, checks: read</em>, \
         events <em>issues</em> and <em>issue comment</em>, webhooks sent to \
         <code>{webhook}</code>. The app will belong to {owner}.</p>\
         <form id=\"register\" method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"manifest\" value=\"{manifest}\">\
         <button id=\"register-button\" type=\"submit\">Register the GitHub App on GitHub</button>\
         </form>\
         <h2>Register it under an organization instead</h2>\
         <form id=\"organization\" method=\"post\" action=\"/\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <label>Organization <input name=\"org\" value=\"{org}\" pattern=\"[A-Za-z0-9-]{{1,39}}\"></label> \
         <button type=\"submit\">Use this organization</button></form>\
         <p>GitHub sends you back here afterwards. Folio then stores the app's key and webhook \
         secret in <code>{path}</code> and starts taking webhooks at once.</p>\
         <p>If <code>{public}</code> is not the address GitHub should call, stop Folio, set \
         <code>FOLIO_PUBLIC_URL</code> and start it again.</p>\
         {PRIVATE_REPO_ADVICE}",
        webhook = escape(&format!("{public}/webhook")),
        action = escape(&action),
        manifest = escape(&manifest_json),
        token = escape(token),
        org = escape(org.unwrap_or("")),
        path = escape(&state.settings.credentials_path.display().to_string()),
        public = escape(public),
    );
    let mut res = page_response(StatusCode::OK, "Folio: setup", &body);
    set_csp(
        &mut res,
        &format!("'self' {}", origin(&state.settings.web_url)),
    );
    Ok(res)
}

/// Shown before and after registration: the choice of hiring repository is the operator's, and
/// its visibility decides who can see a candidate's job search.
pub(super) const PRIVATE_REPO_ADVICE: &str = "<h2 id=\"private-repository\">Use a private hiring repository</h2>\
     <p>In a public repository, the tracking issue and Folio's comment are public, and GitHub \
     adds a \"mentioned this\" reference to every linked public pull request, which can \
     reveal that the candidate is looking for a job. Install Folio on a private repository that \
     only your hiring team can read.</p>";

fn origin(u: &url::Url) -> String {
    u.origin().ascii_serialization()
}

/// Forms may post only where the page says; nothing loads from elsewhere, nothing frames it.
fn set_csp(res: &mut Response, form_action: &str) {
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action {form_action}; frame-ancestors 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
}

pub(super) fn page_response(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title></head><body>{body}</body></html>",
        escape(title)
    );
    let mut res = (status, Html(html)).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_gives_token_and_organization() {
        let f = SetupForm::parse(b"token=a%2Bb+c&org=acme&extra=1");
        assert_eq!(f.token.as_deref(), Some("a+b c"));
        assert_eq!(f.org.as_deref(), Some("acme"));
        let empty = SetupForm::parse(b"");
        assert!(empty.token.is_none() && empty.org.is_none());
    }

    #[test]
    fn escape_covers_attribute_breakers() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
