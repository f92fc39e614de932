//! Page-number pagination with GitHub's `Link` header, in the shape
//! `recorded/paginate-issues.json` shows: absolute URLs, the request's own query kept in order
//! with `page` moved to the end; `next` + `last` on the first page, `prev`, `next`, `last`,
//! `first` in the middle, `prev` + `first` on the last.

use serde_json::Value;

pub const DEFAULT_PER_PAGE: usize = 30;
pub const MAX_PER_PAGE: usize = 100;

fn param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `per_page` and `page` as GitHub reads them: out-of-range values fall back or clamp.
pub fn page_params(query: &str) -> (usize, usize) {
    let per_page = param(query, "per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_PER_PAGE)
        .min(MAX_PER_PAGE);
    let page = param(query, "page")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1);
    (per_page, page)
}

/// Builds the `Link` header for `page` of `last` pages at `url_path` (absolute, no query).
pub fn link_header(url_path: &str, query: &str, page: usize, last: usize) -> Option<String> {
    if last <= 1 && page <= 1 {
        return None;
    }
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("page="))
        .collect();
    let url = |n: usize| {
        let mut q = kept.join("&");
        if !q.is_empty() {
            q.push('&');
        }
        format!("<{url_path}?{q}page={n}>")
    };
    let mut parts = Vec::new();
    if page > 1 {
        parts.push(format!("{}; rel=\"prev\"", url(page - 1)));
    }
    if page < last {
        parts.push(format!("{}; rel=\"next\"", url(page + 1)));
        parts.push(format!("{}; rel=\"last\"", url(last)));
    }
    if page > 1 {
        parts.push(format!("{}; rel=\"first\"", url(1)));
    }
    Some(parts.join(", "))
}

/// Slices `items` for the request's page and returns the page with its `Link` header.
pub fn paginate(items: Vec<Value>, query: &str, url_path: &str) -> (Vec<Value>, Option<String>) {
    let (per_page, page) = page_params(query);
    let total = items.len();
    let last = total.div_ceil(per_page).max(1);
    let link = link_header(url_path, query, page, last);
    let page_items = items
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    (page_items, link)
}
