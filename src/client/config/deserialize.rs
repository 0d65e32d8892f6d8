//! Reading the file's text into the [schema](super::schema) in one pass,
//! and naming the field a failure is in.
//!
//! toml says where an error is (a byte span) and what is wrong, not which
//! field it is about; `serde_path_to_error` tracks that path. It can only
//! record a map key that reaches it as a string, and keyset names are read
//! as `Spanned<String>` (which reaches it as a map) so that later messages
//! can point at them. So the two outer levels, the file and its `keysets`
//! table, are walked here, and path tracking starts inside each keyset.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::ops::Range;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize as _;
use serde_path_to_error::{Path, Segment, Track};
use toml::Spanned;

use super::error::{keyset_field, path_segment};
use super::schema::{FileConfig, FileKeyset};

/// Why the text is not a configuration, as toml and the path tracking saw
/// it.
pub(super) struct SchemaError {
    /// Field path such as `keysets.main.servers[1].url`; empty for a
    /// syntax error, which is not about one field.
    pub(super) field: String,
    /// Byte range in the text, when toml knows it.
    pub(super) span: Option<Range<usize>>,
    /// toml's message, on one line.
    pub(super) message: String,
}

/// Deserialises `text`, parsing it once.
pub(super) fn from_str(text: &str) -> Result<FileConfig, SchemaError> {
    let failed_in = FailedIn::default();
    FileSeed(&failed_in)
        .deserialize(toml::Deserializer::new(text))
        .map_err(|e| SchemaError {
            field: failed_in.0.take().unwrap_or_default(),
            span: e.span(),
            message: e
                .message()
                .trim()
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("; "),
        })
}

/// The field path of a failure. The innermost level that sees the error
/// notes it; the levels it passes through on the way out leave it alone.
#[derive(Default)]
struct FailedIn(RefCell<Option<String>>);

impl FailedIn {
    fn note(&self, field: impl FnOnce() -> String) {
        self.0.borrow_mut().get_or_insert_with(field);
    }
}

/// The top-level table: `default_keyset` and `keysets`.
struct FileSeed<'a>(&'a FailedIn);

impl<'de> DeserializeSeed<'de> for FileSeed<'_> {
    type Value = FileConfig;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<FileConfig, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FileSeed<'_> {
    type Value = FileConfig;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a shardlock configuration table")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FileConfig, A::Error> {
        let mut file = FileConfig::default();
        while let Some(field) = map.next_key_seed(FileKey(self.0))? {
            let read = match field {
                FileField::DefaultKeyset => map
                    .next_value()
                    .map(|name| file.default_keyset = Some(name)),
                FileField::Keysets => map
                    .next_value_seed(KeysetsSeed(self.0))
                    .map(|keysets| file.keysets = keysets),
                FileField::Network => map.next_value().map(|network| file.network = Some(network)),
            };
            read.inspect_err(|_| self.0.note(|| field.name().to_string()))?;
        }
        Ok(file)
    }
}

/// A top-level key.
#[derive(Clone, Copy)]
enum FileField {
    DefaultKeyset,
    Keysets,
    Network,
}

/// The top-level keys, for "unknown field" messages.
const FILE_FIELDS: &[&str] = &["default_keyset", "keysets", "network"];

impl FileField {
    fn name(self) -> &'static str {
        match self {
            Self::DefaultKeyset => "default_keyset",
            Self::Keysets => "keysets",
            Self::Network => "network",
        }
    }
}

/// Reads a top-level key. An unknown one is refused here, while toml is
/// still reading the key, so that the error carries the key's span rather
/// than the whole file's.
struct FileKey<'a>(&'a FailedIn);

impl<'de> DeserializeSeed<'de> for FileKey<'_> {
    type Value = FileField;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<FileField, D::Error> {
        let key = String::deserialize(deserializer)?;
        match key.as_str() {
            "default_keyset" => Ok(FileField::DefaultKeyset),
            "keysets" => Ok(FileField::Keysets),
            "network" => Ok(FileField::Network),
            _ => {
                self.0.note(|| path_segment(&key));
                Err(de::Error::unknown_field(&key, FILE_FIELDS))
            }
        }
    }
}

/// The `keysets` table, by name.
struct KeysetsSeed<'a>(&'a FailedIn);

impl<'de> DeserializeSeed<'de> for KeysetsSeed<'_> {
    type Value = BTreeMap<Spanned<String>, FileKeyset>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for KeysetsSeed<'_> {
    type Value = BTreeMap<Spanned<String>, FileKeyset>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // What a derived map says, so `keysets = 5` reads as before.
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut keysets = BTreeMap::new();
        while let Some(name) = map.next_key::<Spanned<String>>()? {
            let mut track = Track::new();
            match map.next_value_seed(TrackedKeyset(&mut track)) {
                Ok(keyset) => {
                    keysets.insert(name, keyset);
                }
                Err(e) => {
                    self.0.note(|| {
                        format!("{}{}", keyset_field(name.get_ref()), render(&track.path()))
                    });
                    return Err(e);
                }
            }
        }
        Ok(keysets)
    }
}

/// One keyset, with the path of any failure inside it recorded in `.0`.
struct TrackedKeyset<'a>(&'a mut Track);

impl<'de> DeserializeSeed<'de> for TrackedKeyset<'_> {
    type Value = FileKeyset;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<FileKeyset, D::Error> {
        FileKeyset::deserialize(serde_path_to_error::Deserializer::new(deserializer, self.0))
    }
}

/// How serde_spanned names the parts of a `Spanned` value when it asks
/// toml for them; they show up in a tracked path but are not fields.
const SPANNED_PRIVATE_KEY: &str = "$__serde_spanned_private_";

/// A tracked path inside a keyset as a field path suffix: `.servers[1].url`.
fn render(path: &Path) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => {
                let _ = write!(out, "[{index}]");
            }
            Segment::Map { key } if key.starts_with(SPANNED_PRIVATE_KEY) => {}
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out.push('.');
                out.push_str(&path_segment(key));
            }
            // A key that is not a string; TOML has none.
            Segment::Unknown => out.push_str(".?"),
        }
    }
    out
}
