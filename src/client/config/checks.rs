//! Checks on single values (keyset names, URLs, tokens, environment
//! variable names), shared by loading a file and building entries in code.

/// Longest keyset name.
const MAX_NAME_LEN: usize = 64;

/// A token must be non-empty, one line, without spaces (it goes into an
/// HTTP header).
pub(super) fn check_token(token: &str) -> Result<(), String> {
    if token.is_empty() {
        return Err("token is empty".into());
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("token contains whitespace or control characters".into());
    }
    Ok(())
}

/// An environment variable name: not empty, no `=` or NUL, which no
/// variable can be looked up by.
pub(super) fn check_env_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains('=') || name.contains('\0') {
        return Err("expected the name of an environment variable".into());
    }
    Ok(())
}

/// A keyset name: short and from `[A-Za-z0-9_-]`, so it is a bare TOML
/// key and a plain command-line argument.
pub(super) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > MAX_NAME_LEN
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "invalid keyset name {name:?}: use 1 to {MAX_NAME_LEN} characters from A-Z a-z 0-9 _ -"
        ));
    }
    Ok(())
}

/// A server URL: `https://` (or `http://`, for local test clusters) with a
/// host, and no whitespace that would break the request.
pub(super) fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => {}
        _ => return Err(format!("expected an https:// URL, got {url:?}")),
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("URL contains whitespace".into());
    }
    Ok(())
}

/// A URL in the form two names of one server compare equal in (case, a
/// trailing slash).
pub(super) fn normalise_url(url: &str) -> String {
    url.trim_end_matches('/').to_ascii_lowercase()
}

/// Participant ids for a message: `1, 2, 3`.
pub(super) fn join_ids(ids: &[u16]) -> String {
    ids.iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
