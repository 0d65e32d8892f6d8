//! Locating fields in the source text (to be replaced by toml's spans).

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use super::error::path_segment;
use super::Position;

/// Byte offset → 1-based line and character column.
pub(super) fn position_of(text: &str, offset: usize) -> Position {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

fn join_path(segments: &[String]) -> String {
    let mut out = String::new();
    for seg in segments {
        if !out.is_empty() && !seg.starts_with('[') {
            out.push('.');
        }
        out.push_str(seg);
    }
    out
}

/// A span-carrying skeleton of the TOML document: every key with its
/// source span, nested as in the document.
enum Tree {
    Table(Vec<(Spanned<String>, Tree)>),
    Array(Vec<Tree>),
    Leaf,
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TreeVisitor;
        impl<'de> Visitor<'de> for TreeVisitor {
            type Value = Tree;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any TOML value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_str<E>(self, _: &str) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Tree::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(Tree::Table(entries))
            }
        }
        deserializer.deserialize_any(TreeVisitor)
    }
}

/// Every key of the document with its path and span.
pub(super) struct Locator {
    /// (path segments, key span, whether the value is a leaf)
    keys: Vec<(Vec<String>, Range<usize>, bool)>,
}

impl Locator {
    /// Indexes `text`; an unparseable document yields an empty index.
    pub(super) fn new(text: &str) -> Self {
        let mut keys = Vec::new();
        if let Ok(tree) = toml::from_str::<Tree>(text) {
            Self::walk(&tree, &mut Vec::new(), &mut keys);
        }
        Self { keys }
    }

    fn walk(tree: &Tree, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Range<usize>, bool)>) {
        match tree {
            Tree::Leaf => {}
            Tree::Table(entries) => {
                for (key, value) in entries {
                    path.push(path_segment(key.get_ref()));
                    out.push((path.clone(), key.span(), matches!(value, Tree::Leaf)));
                    Self::walk(value, path, out);
                    path.pop();
                }
            }
            Tree::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    match path.last_mut() {
                        Some(last) => last.push_str(&format!("[{i}]")),
                        None => continue,
                    }
                    Self::walk(item, path, out);
                    if let Some(last) = path.last_mut() {
                        let cut = last.rfind('[').unwrap_or(last.len());
                        last.truncate(cut);
                    }
                }
            }
        }
    }

    /// Path → position of its key, for semantic errors after parsing.
    pub(super) fn positions(&self, text: &str) -> BTreeMap<String, Position> {
        let mut out = BTreeMap::new();
        for (path, span, _) in &self.keys {
            out.entry(join_path(path))
                .or_insert_with(|| position_of(text, span.start));
        }
        out
    }

    /// The field a deserialisation error at `span` is about.
    pub(super) fn path_for_span(&self, span: Range<usize>, text: &str) -> Option<String> {
        // An error on a key itself (unknown field).
        if let Some((path, _, _)) = self
            .keys
            .iter()
            .find(|(_, k, _)| k.start <= span.start && span.start < k.end.max(k.start + 1))
        {
            return Some(join_path(path));
        }
        // An error on a whole table (missing field): the common parent of
        // the leaf keys inside it.
        let mut parents = self
            .keys
            .iter()
            .filter(|(_, k, leaf)| *leaf && span.start <= k.start && k.end <= span.end)
            .map(|(path, _, _)| &path[..path.len().saturating_sub(1)]);
        if let Some(first) = parents.next() {
            let common = parents.fold(first, |acc, p| {
                let n = acc.iter().zip(p).take_while(|(a, b)| a == b).count();
                &acc[..n]
            });
            if !common.is_empty() {
                return Some(join_path(common));
            }
        }
        // A table header with nothing under it.
        let rest = text.get(span.start..).unwrap_or_default();
        if rest.starts_with('[') {
            let header = rest.lines().next().unwrap_or_default();
            let name = header.trim_matches(|c: char| c == '[' || c == ']' || c.is_whitespace());
            return Some(name.to_string());
        }
        // An error on a value: the nearest key before it.
        self.keys
            .iter()
            .filter(|(_, k, _)| k.start <= span.start)
            .max_by_key(|(_, k, _)| k.start)
            .map(|(path, _, _)| join_path(path))
    }
}
