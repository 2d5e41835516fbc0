//! Finding paths: every path in blanked code that can lead into the crate, resolved against
//! the module it appears in.

use super::{Module, Nodes};

/// A path as written, out of any `{...}` group: its segments and the name a `use` of it binds
/// (the `as` name or the last segment; `None` for a glob).
struct Written {
    segments: Vec<String>,
    name: Option<String>,
}

/// A path resolved against the module it appears in.
pub(super) struct Reference {
    /// From the crate root, `super`/`self` applied (`["plugins", "load", "PluginFile"]`).
    pub(super) absolute: Vec<String>,
    pub(super) name: Option<String>,
    /// As written, for messages (`super::PluginError`).
    pub(super) text: String,
    /// Part of a `use` item: only those make the crate root's re-exports.
    pub(super) in_use: bool,
}

#[derive(Default)]
pub(super) struct Scanned {
    pub(super) references: Vec<Reference>,
    /// Inline `mod NAME { ... }` blocks, as module paths.
    pub(super) inline: Vec<Module>,
}

/// Finds every path in blanked `code` that can lead into the crate: those starting at `crate`
/// (`$crate` too), `super`, `self` or a child module of the one being read. `module` is the
/// file's module; an inline `mod NAME { ... }` extends it while the scan is inside.
pub(super) fn scan(code: &str, module: &[String], nodes: &Nodes) -> Scanned {
    let c: Vec<char> = code.chars().collect();
    let mut inline: Vec<(String, usize)> = Vec::new(); // with the brace depth inside each
    let mut depth = 0usize;
    let mut found = Scanned::default();
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                while inline.last().is_some_and(|(_, inside)| *inside > depth) {
                    inline.pop();
                }
            }
            _ => {}
        }
        if !is_ident_start(c[i]) || (i > 0 && is_ident(c[i - 1])) {
            i += 1;
            continue;
        }
        let here: Module = module
            .iter()
            .chain(inline.iter().map(|(name, _)| name))
            .cloned()
            .collect();
        let (word, end) = ident_at(&c, i);
        if word == "mod" {
            if let Some(name) = inline_module(&c, end) {
                let mut path = here.clone();
                path.push(name.clone());
                found.inline.push(path);
                inline.push((name, depth + 1));
            }
            i = end;
        } else if starts_path(&c, i, end, &word, &here, nodes) {
            let in_use = previous_word(&c, i).is_some_and(|(word, _)| word == "use");
            let mut written = Vec::new();
            i = parse_tree(&c, i, &[], &mut written);
            found.references.extend(
                written
                    .into_iter()
                    .filter_map(|w| reference(w, &here, in_use)),
            );
        } else {
            i = end;
        }
    }
    found
}

/// `NAME {` after a `mod` keyword: an inline module (`mod NAME;` is a file, already a node).
fn inline_module(c: &[char], after_mod: usize) -> Option<String> {
    let (name, end) = ident_at(c, skip_ws(c, after_mod));
    let brace = skip_ws(c, end);
    (!name.is_empty() && c.get(brace) == Some(&'{')).then_some(name)
}

/// Whether the word at `start..end` begins a path worth resolving: a known head followed by
/// `::`, not the tail of another path (`std::error::Error`), not `pub(in crate::x)`.
fn starts_path(
    c: &[char],
    start: usize,
    end: usize,
    word: &str,
    here: &[String],
    nodes: &Nodes,
) -> bool {
    let mut child = here.to_vec();
    child.push(word.to_string());
    let known = matches!(word, "crate" | "super" | "self") || nodes.contains_key(&child);
    if !known || path_continues(c, end).is_none() {
        return false;
    }
    let before = last_non_ws(c, start);
    let after_colons = before.is_some_and(|p| p > 0 && c[p] == ':' && c[p - 1] == ':');
    // A visibility names an ancestor; it is no use of it.
    let visibility = previous_word(c, start)
        .is_some_and(|(word, at)| word == "in" && last_non_ws(c, at).is_some_and(|p| c[p] == '('));
    !after_colons && !visibility
}

/// Parses the path or use-tree at `start` (`a::b::C`, `a::{b, c::{self, D}}`, `a::*`), pushing
/// each path it expands to onto `out` after `prefix`; returns the index after it.
fn parse_tree(c: &[char], start: usize, prefix: &[String], out: &mut Vec<Written>) -> usize {
    let mut segments = prefix.to_vec();
    let mut i = skip_ws(c, start);
    loop {
        match c.get(i).copied() {
            Some('{') => return parse_group(c, i + 1, &segments, out),
            Some('*') => {
                out.push(Written {
                    segments,
                    name: None,
                });
                return i + 1;
            }
            _ => {}
        }
        let (word, end) = ident_at(c, i);
        if word.is_empty() {
            return i;
        }
        segments.push(word);
        match path_continues(c, end) {
            Some(next) => i = next,
            None => {
                let (name, end) = bound_name(c, end, &segments);
                out.push(Written {
                    segments,
                    name: Some(name),
                });
                return end;
            }
        }
    }
}

/// The trees of a `{...}` group whose contents start at `start`; returns the index after `}`.
fn parse_group(c: &[char], start: usize, prefix: &[String], out: &mut Vec<Written>) -> usize {
    let mut i = start;
    loop {
        i = skip_ws(c, i);
        match c.get(i).copied() {
            None => return i,
            Some('}') => return i + 1,
            Some(',') => i += 1,
            Some(_) => {
                let end = parse_tree(c, i, prefix, out);
                // Step over anything that is no tree, so a stray token can't stall the parse.
                i = if end > i { end } else { i + 1 };
            }
        }
    }
}

/// The name a path binds: `as NAME` if it follows, else its last segment that is not `self`.
fn bound_name(c: &[char], end: usize, segments: &[String]) -> (String, usize) {
    let (word, after) = ident_at(c, skip_ws(c, end));
    if word == "as" {
        let (alias, after_alias) = ident_at(c, skip_ws(c, after));
        if !alias.is_empty() {
            return (alias, after_alias);
        }
    }
    let last = segments.iter().rev().find(|segment| *segment != "self");
    (last.cloned().unwrap_or_default(), end)
}

/// Resolves a written path against `here`, the module it appears in; `None` if it climbs above
/// the crate root.
fn reference(written: Written, here: &[String], in_use: bool) -> Option<Reference> {
    let (first, rest) = written.segments.split_first()?;
    let (mut absolute, rest) = match first.as_str() {
        "crate" => (Vec::new(), rest),
        "self" => (here.to_vec(), rest),
        // `super` is popped below; a child module's path is relative to `here`.
        _ => (here.to_vec(), written.segments.as_slice()),
    };
    for segment in rest {
        match segment.as_str() {
            "super" => {
                absolute.pop()?;
            }
            "self" => {}
            _ => absolute.push(segment.clone()),
        }
    }
    let mut text = written.segments.join("::");
    if let Some(shorter) = text.strip_suffix("::self") {
        text = shorter.to_string();
    }
    if written.name.is_none() {
        text.push_str("::*");
    }
    Some(Reference {
        absolute,
        name: written.name,
        text,
        in_use,
    })
}

/// Where `::` follows (after spaces) and goes on with a segment, group or glob: the index of
/// that. `None` at the end of a path, and before `::<` (a turbofish ends the module part).
fn path_continues(c: &[char], i: usize) -> Option<usize> {
    let j = skip_ws(c, i);
    if c.get(j) != Some(&':') || c.get(j + 1) != Some(&':') {
        return None;
    }
    let k = skip_ws(c, j + 2);
    c.get(k)
        .is_some_and(|&ch| is_ident_start(ch) || ch == '{' || ch == '*')
        .then_some(k)
}

pub(super) fn is_ident(ch: char) -> bool {
    ch.is_alphanumeric() || ch == '_'
}

pub(super) fn is_ident_start(ch: char) -> bool {
    ch.is_alphabetic() || ch == '_'
}

/// The identifier at `i` (empty if none) and the index after it.
fn ident_at(c: &[char], i: usize) -> (String, usize) {
    if !c.get(i).is_some_and(|&ch| is_ident_start(ch)) {
        return (String::new(), i);
    }
    let length = c[i..].iter().take_while(|&&ch| is_ident(ch)).count();
    (c[i..i + length].iter().collect(), i + length)
}

fn skip_ws(c: &[char], mut i: usize) -> usize {
    while c.get(i).is_some_and(|ch| ch.is_whitespace()) {
        i += 1;
    }
    i
}

fn last_non_ws(c: &[char], before: usize) -> Option<usize> {
    (0..before).rev().find(|&k| !c[k].is_whitespace())
}

/// The identifier just before `i` (spaces skipped) and where it starts.
fn previous_word(c: &[char], i: usize) -> Option<(String, usize)> {
    let last = last_non_ws(c, i)?;
    if !is_ident(c[last]) {
        return None;
    }
    let start = (0..=last).rev().take_while(|&k| is_ident(c[k])).last()?;
    Some((c[start..=last].iter().collect(), start))
}
