//! One HTTP exchange with GitHub under Folio's rules: redirects are followed only to GitHub's
//! own hosts, the token goes only to the API's origin and is marked sensitive (so that no debug
//! print or trace shows it), and bodies are read up to a cap, refused as soon as they pass it.

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::Body as _;

use super::{GhError, GitHub};

pub(super) type Body = BoxBody<Bytes, octocrab::Error>;

/// Redirects followed for one request; GitHub needs one (a renamed repository, a tarball).
const MAX_REDIRECTS: usize = 5;

/// Whether a redirect from the API to `target` is followed: https on the API's own host and
/// port, or on a codeload host (`codeload.github.com`, and `codeload.` beside any `api.` host,
/// as GitHub Enterprise Cloud names them). Plain http only when the API itself is on loopback,
/// which is where tests run their fake GitHub.
pub(crate) fn redirect_allowed(api: &url::Url, target: &url::Url) -> bool {
    let scheme_ok = match target.scheme() {
        "https" => true,
        "http" => is_loopback(api),
        _ => false,
    };
    let Some(host) = target.host_str() else {
        return false;
    };
    let on_api = host.eq_ignore_ascii_case(api.host_str().unwrap_or(""))
        && target.port_or_known_default() == api.port_or_known_default();
    let codeload = api
        .host_str()
        .and_then(|h| h.strip_prefix("api."))
        .map(|rest| format!("codeload.{rest}"));
    let on_codeload = (host.eq_ignore_ascii_case("codeload.github.com")
        || codeload.is_some_and(|c| host.eq_ignore_ascii_case(&c)))
        && target.port_or_known_default() == Some(443);
    scheme_ok && (on_api || on_codeload)
}

fn is_loopback(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn same_origin(a: &url::Url, b: &url::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
}

/// An `Authorization` value that `Debug` prints as `Sensitive` and HTTP/2 never indexes.
pub(super) fn authorization(value: &str) -> Result<HeaderValue, GhError> {
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| GhError::Config("the credentials are not a valid header value".into()))?;
    v.set_sensitive(true);
    Ok(v)
}

/// Why an exchange gave no response.
#[derive(Debug)]
pub(super) enum ExchangeError {
    Transport(String),
    /// A redirect to somewhere that is not GitHub, or one too many.
    Redirect(String),
}

/// What to send; `auth` goes only to the API's origin.
pub(super) struct Outgoing<'a> {
    pub method: Method,
    pub url: &'a str,
    pub headers: HeaderMap,
    pub auth: Option<&'a HeaderValue>,
    pub body: Option<Vec<u8>>,
}

impl GitHub {
    /// Sends `out`, following GitHub's redirects under [`redirect_allowed`], and returns the
    /// first answer that is not a redirect, its body unread.
    pub(super) async fn exchange(
        &self,
        out: Outgoing<'_>,
    ) -> Result<http::Response<Body>, ExchangeError> {
        let mut target = url::Url::parse(out.url)
            .map_err(|e| ExchangeError::Transport(format!("bad URL {}: {e}", out.url)))?;
        let mut method = out.method;
        let mut body = out.body;
        for _ in 0..=MAX_REDIRECTS {
            let mut builder = http::Request::builder()
                .method(method.clone())
                .uri(target.as_str());
            for (name, value) in &out.headers {
                builder = builder.header(name, value);
            }
            if let Some(auth) = out.auth
                && same_origin(&target, &self.api_url)
            {
                builder = builder.header(header::AUTHORIZATION, auth.clone());
            }
            let request = match &body {
                Some(b) => builder
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(octocrab::OctoBody::from(b.clone())),
                None => builder.body(octocrab::OctoBody::empty()),
            }
            .map_err(|e| ExchangeError::Transport(format!("bad request: {e}")))?;
            let response = self
                .octo
                .execute(request)
                .await
                .map_err(|e| ExchangeError::Transport(e.to_string()))?;
            let status = response.status();
            let redirect = matches!(
                status,
                StatusCode::MOVED_PERMANENTLY
                    | StatusCode::FOUND
                    | StatusCode::SEE_OTHER
                    | StatusCode::TEMPORARY_REDIRECT
                    | StatusCode::PERMANENT_REDIRECT
            );
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok());
            let Some(location) = location.filter(|_| redirect) else {
                return Ok(response);
            };
            let next = target
                .join(location)
                .map_err(|_| ExchangeError::Redirect(location.to_string()))?;
            if !redirect_allowed(&self.api_url, &next) {
                return Err(ExchangeError::Redirect(next.to_string()));
            }
            // As browsers do: 301, 302 and 303 turn a request with a body into a GET.
            if status != StatusCode::TEMPORARY_REDIRECT
                && status != StatusCode::PERMANENT_REDIRECT
                && method != Method::GET
                && method != Method::HEAD
            {
                method = Method::GET;
                body = None;
            }
            target = next;
        }
        Err(ExchangeError::Redirect(format!(
            "{target} (more than {MAX_REDIRECTS} redirects)"
        )))
    }
}

/// The whole body, or `None` once it is over `limit` bytes: refused from its declared length
/// when it has one, else as soon as the bytes read pass the cap.
pub(super) async fn read_capped(
    mut body: Body,
    limit: usize,
) -> Result<Option<Bytes>, octocrab::Error> {
    if body.size_hint().lower() > limit as u64 {
        return Ok(None);
    }
    let mut out = BytesMut::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            if out.len() + data.len() > limit {
                return Ok(None);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(Some(out.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn redirects_stay_on_github() {
        let api = u("https://api.github.com");
        let ok = |t: &str| redirect_allowed(&api, &u(t));
        assert!(ok("https://api.github.com/repositories/1/pulls/2"));
        assert!(ok("https://codeload.github.com/o/r/legacy.tar.gz/abc"));
        assert!(!ok("http://codeload.github.com/o/r/legacy.tar.gz/abc"));
        assert!(!ok("http://api.github.com/repos/o/r"));
        assert!(!ok("https://api.github.com:8443/repos/o/r"));
        assert!(!ok("https://evil.example/o/r"));
        assert!(!ok("https://codeload.github.com.evil.example/x"));
        assert!(!ok("https://169.254.169.254/latest/meta-data"));
        assert!(!ok("file:///etc/passwd"));

        let ghe = u("https://api.acme.ghe.com");
        assert!(redirect_allowed(
            &ghe,
            &u("https://codeload.acme.ghe.com/o/r/x")
        ));
        assert!(!redirect_allowed(
            &ghe,
            &u("https://codeload.other.ghe.com/o/r/x")
        ));
        let server = u("https://ghe.acme.internal/api/v3");
        assert!(redirect_allowed(
            &server,
            &u("https://ghe.acme.internal/_codeload/o/r")
        ));
    }

    #[test]
    fn plain_http_only_for_a_loopback_api_and_its_own_host() {
        let fake = u("http://127.0.0.1:8123");
        assert!(redirect_allowed(
            &fake,
            &u("http://127.0.0.1:8123/codeload/o/r")
        ));
        assert!(!redirect_allowed(
            &fake,
            &u("http://127.0.0.1:9999/codeload/o/r")
        ));
        assert!(!redirect_allowed(
            &fake,
            &u("http://localhost:8123/codeload/o/r")
        ));
        assert!(!redirect_allowed(
            &fake,
            &u("http://10.0.0.1:8123/codeload/o/r")
        ));
        let named = u("http://localhost:8123");
        assert!(redirect_allowed(&named, &u("http://localhost:8123/x")));
    }

    #[test]
    fn the_token_is_marked_sensitive() {
        let v = authorization("token ghs_secret").unwrap();
        assert!(v.is_sensitive());
        assert_eq!(format!("{v:?}"), "Sensitive");
    }

    fn body(chunks: &[&'static [u8]], declared: Option<u64>) -> Body {
        let frames: Vec<Result<hyper::body::Frame<Bytes>, octocrab::Error>> = chunks
            .iter()
            .map(|c| Ok(hyper::body::Frame::data(Bytes::from_static(c))))
            .collect();
        let stream = http_body_util::StreamBody::new(futures::stream::iter(frames));
        match declared {
            Some(n) => Sized(stream, n).boxed(),
            None => stream.boxed(),
        }
    }

    /// A body declaring its length, as `Content-Length` does.
    struct Sized<B>(B, u64);

    impl<B: hyper::body::Body + Unpin> hyper::body::Body for Sized<B> {
        type Data = B::Data;
        type Error = B::Error;
        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
            std::pin::Pin::new(&mut self.0).poll_frame(cx)
        }
        fn size_hint(&self) -> hyper::body::SizeHint {
            hyper::body::SizeHint::with_exact(self.1)
        }
    }

    #[tokio::test]
    async fn bodies_are_read_up_to_the_cap() {
        let read = read_capped(body(&[b"abc", b"def"], None), 6).await.unwrap();
        assert_eq!(read.as_deref(), Some(&b"abcdef"[..]));
        let over = read_capped(body(&[b"abc", b"defg"], None), 6)
            .await
            .unwrap();
        assert_eq!(over, None);
        // Refused from its declared length, before a byte is read.
        let declared = read_capped(body(&[], Some(7)), 6).await.unwrap();
        assert_eq!(declared, None);
    }
}
