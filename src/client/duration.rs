//! Durations as people write them in a config file or on the command line
//! (`2s`, `1.5s`, `500ms`, `1m`) and as messages print them (`2 s`,
//! `150 ms`): one syntax for the `[network]` keys, the `--timeout` and
//! `--connect-timeout` flags, and "timed out after ..." errors.

use std::fmt;
use std::time::Duration;

/// Longest duration accepted: an hour is already far past any sensible
/// network timeout, and the bound keeps `Instant` arithmetic from
/// overflowing.
const MAX: Duration = Duration::from_secs(3600);

/// Parses `NUMBER UNIT` with UNIT one of `ms`, `s`, `m` (spaces allowed
/// between them). The result is more than zero and at most an hour; the
/// error says what is wrong in words meant for the user.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = (&text[..split], text[split..].trim());
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "" => {
            return Err(format!(
                "{text:?} has no unit (write e.g. \"2s\" or \"500ms\")"
            ))
        }
        _ => {
            return Err(format!(
                "{text:?} has an unknown unit {unit:?} (use ms, s or m)"
            ))
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (write e.g. \"2s\" or \"500ms\")"))?;
    let seconds = value * scale;
    // Compare in f64 before converting: from_secs_f64 panics on huge values.
    if seconds <= 0.0 {
        return Err(format!("{text:?} must be more than zero"));
    }
    if seconds > MAX.as_secs_f64() {
        return Err(format!("{text:?} is longer than an hour"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// A duration in the units a person would say: `150 ms`, `2 s`, `1.5 s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plain(pub Duration);

impl fmt::Display for Plain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms < 1000 {
            write!(f, "{ms} ms")
        } else if ms.is_multiple_of(1000) {
            write!(f, "{} s", ms / 1000)
        } else {
            // One decimal is precise enough for a timeout in a message.
            write!(f, "{:.1} s", self.0.as_secs_f64())
        }
    }
}

/// The config file's spelling of a duration (`2s`, `500ms`), which
/// [`parse_duration`] reads back exactly.
pub fn config_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_the_usual_units() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration(" 1.5 s "), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        for bad in [
            "",
            "2",
            "s",
            "0s",
            "2h",
            "-1s",
            "1.2.3s",
            "2 seconds",
            "61m",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert!(parse_duration("2").unwrap_err().contains("no unit"));
    }

    #[test]
    fn durations_print_plainly_and_round_trip_through_the_config() {
        assert_eq!(Plain(Duration::from_millis(150)).to_string(), "150 ms");
        assert_eq!(Plain(Duration::from_secs(2)).to_string(), "2 s");
        assert_eq!(Plain(Duration::from_millis(1500)).to_string(), "1.5 s");
        for d in [Duration::from_secs(10), Duration::from_millis(250)] {
            assert_eq!(parse_duration(&config_duration(d)), Ok(d));
        }
    }
}
