//! Text encodings shared by every layer: lower-case hex (keyset ids,
//! temp-file suffixes), unpadded base64url (the wire protocol and the
//! config, RFC 4648 section 5), certificate fingerprints (`sha256:<64
//! hex>`) and RFC 3339 UTC timestamps (audit lines, JSON summaries). One
//! implementation of each, so the client, the server and the docs can
//! never disagree on a spelling.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Parses exactly 64 hex digits (either case) into 32 bytes; `None` for any
/// other length or character. Callers trim first where their input allows
/// surrounding whitespace.
pub fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    parse_hex_array(text)
}

/// Parses exactly `2 * N` hex digits (either case) into `N` bytes.
pub fn parse_hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = (hex_digit(pair[0])? << 4) | hex_digit(pair[1])?;
    }
    Some(out)
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Unpadded base64url encoding.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Unpadded base64url decoding; `None` on any malformed input (padding,
/// the standard alphabet, stray characters).
pub fn unb64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Renders a certificate fingerprint the way configs and `server init`
/// print it: `sha256:` followed by 64 lower-case hex digits.
pub fn format_fingerprint(fingerprint: &[u8; 32]) -> String {
    format!("sha256:{}", hex(fingerprint))
}

/// Parses `sha256:<64 hex>`: the `sha256:` prefix is optional, colons
/// between hex pairs are allowed (as `openssl x509 -fingerprint` prints
/// them), case does not matter.
pub fn parse_fingerprint(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    let hex_part = text
        .strip_prefix("sha256:")
        .or_else(|| text.strip_prefix("SHA256:"))
        .unwrap_or(text);
    let digits: String = hex_part.chars().filter(|c| *c != ':').collect();
    parse_hex32(&digits)
}

/// The current UTC time as RFC 3339, e.g. `2024-05-01T12:34:56.789Z`.
pub fn now_rfc3339() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format_rfc3339(since.as_secs(), since.subsec_millis())
}

/// Formats seconds since the Unix epoch (UTC) with milliseconds.
pub fn format_rfc3339(secs: u64, millis: u32) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (the well-known
/// era-based conversion: 400-year eras of 146097 days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_wrong_lengths_and_digits() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 37) as u8);
        let text = hex(&bytes);
        assert_eq!(text.len(), 64);
        assert_eq!(text, text.to_lowercase());
        assert_eq!(parse_hex32(&text), Some(bytes));
        assert_eq!(parse_hex32(&text.to_uppercase()), Some(bytes));
        assert_eq!(parse_hex32(&text[..62]), None);
        assert_eq!(parse_hex32(&format!("{}zz", &text[..62])), None);
        assert_eq!(parse_hex32(&format!(" {}", &text[..63])), None);
        // A multi-byte character must not be split into a "digit pair".
        assert_eq!(parse_hex32(&format!("é{}", &text[..62])), None);
        assert_eq!(hex(&[0x00, 0xff, 0x0a]), "00ff0a");
    }

    #[test]
    fn base64url_is_unpadded_and_strict() {
        assert_eq!(b64(&[0xfb, 0xff]), "-_8");
        assert_eq!(unb64("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(unb64("-_8="), None);
        assert_eq!(unb64("+/8"), None);
    }

    #[test]
    fn fingerprints_round_trip_in_every_accepted_spelling() {
        let fp = [0xabu8; 32];
        let text = format_fingerprint(&fp);
        assert_eq!(parse_fingerprint(&text), Some(fp));
        assert_eq!(
            parse_fingerprint(&text.to_uppercase().replace("SHA256", "sha256")),
            Some(fp)
        );
        let colons: Vec<String> = fp.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(parse_fingerprint(&colons.join(":")), Some(fp));
        assert_eq!(parse_fingerprint("sha256:abcd"), None);
        assert_eq!(parse_fingerprint(&"zz".repeat(32)), None);
    }
}
