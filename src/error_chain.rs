//! Printing an error with its causes on one line, `: `-separated, each
//! cause once: shared by the CLI (the one place it reports errors) and the
//! server (its stderr log), so both spell failures the same way.

/// An error and its causes on one line. A wrapper whose message already
/// ends with its cause's (a transparent or `"...: {0}"` variant) does not
/// repeat it.
pub fn one_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let text = e.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = e.source();
    }
    out
}
