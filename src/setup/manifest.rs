//! The App manifest Folio registers, with its URLs pointing at this service, and where on
//! GitHub it is posted.

use super::SetupError;

/// The manifest as committed; the URLs in it are placeholders replaced at runtime.
pub const MANIFEST_TEMPLATE: &str = include_str!("../../deploy/github-app-manifest.json");

/// The manifest with its URLs pointing at this service.
pub fn manifest(public_url: &url::Url) -> Result<serde_json::Value, SetupError> {
    let mut m: serde_json::Value = serde_json::from_str(MANIFEST_TEMPLATE)
        .map_err(|e| SetupError::Internal(format!("embedded app manifest: {e}")))?;
    let base = public_url.as_str().trim_end_matches('/');
    let obj = m
        .as_object_mut()
        .ok_or_else(|| SetupError::Internal("embedded app manifest is not an object".into()))?;
    obj.insert("url".into(), base.into());
    obj.insert(
        "redirect_url".into(),
        format!("{base}/setup/callback").into(),
    );
    obj.insert(
        "hook_attributes".into(),
        serde_json::json!({"url": format!("{base}/webhook"), "active": true}),
    );
    Ok(m)
}

/// Where the manifest is posted: the user's own account, or an organization.
pub fn registration_url(
    web_url: &url::Url,
    org: Option<&str>,
    state: &str,
) -> Result<String, SetupError> {
    let base = web_url.as_str().trim_end_matches('/');
    match org {
        None => Ok(format!("{base}/settings/apps/new?state={state}")),
        Some(o) if crate::submission::valid_login(o) => Ok(format!(
            "{base}/organizations/{o}/settings/apps/new?state={state}"
        )),
        Some(_) => Err(SetupError::BadRequest(
            "an organization name has 1 to 39 letters, digits or single hyphens".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_urls_follow_the_public_url() {
        let m = manifest(&url::Url::parse("https://ci.example.com/folio/").unwrap()).unwrap();
        assert_eq!(m["url"], "https://ci.example.com/folio");
        assert_eq!(
            m["hook_attributes"]["url"],
            "https://ci.example.com/folio/webhook"
        );
        assert_eq!(
            m["redirect_url"],
            "https://ci.example.com/folio/setup/callback"
        );
        // Everything else comes from the committed file.
        let committed: serde_json::Value = serde_json::from_str(MANIFEST_TEMPLATE).unwrap();
        assert_eq!(m["default_permissions"], committed["default_permissions"]);
        assert_eq!(m["default_events"], committed["default_events"]);
        assert_eq!(m["description"], committed["description"]);
    }

    #[test]
    fn registration_targets_account_or_organization() {
        let web = url::Url::parse("https://ghe.example.com").unwrap();
        assert_eq!(
            registration_url(&web, None, "abc").unwrap(),
            "https://ghe.example.com/settings/apps/new?state=abc"
        );
        assert_eq!(
            registration_url(&web, Some("acme-2"), "abc").unwrap(),
            "https://ghe.example.com/organizations/acme-2/settings/apps/new?state=abc"
        );
        for bad in [
            "",
            "-acme",
            "acme-",
            "a--b",
            "acme/x",
            "a b",
            &"x".repeat(40),
        ] {
            assert!(registration_url(&web, Some(bad), "abc").is_err(), "{bad:?}");
        }
    }
}
