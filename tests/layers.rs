//! Owns the layering rule of ARCHITECTURE.md: every top-level module of a crate sits in one of
//! the numbered layers its `<!-- layers: DIR -->` block lists, uses only its own layer and
//! those below, and neither files nor sibling modules use each other in a circle.
//!
//! The check reads source text, not compiler output, so it needs no crate beyond std: comments,
//! literals and `#[cfg(test)]` items are blanked first (test code may reach anywhere), then every
//! path starting at `crate`, `super`, `self` or a child module is resolved to the file that
//! defines it. The checker works on in-memory files, so the tests at the bottom can prove it
//! fails when it should.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::path::Path;

/// The repository root: this file is a `[[test]]` of the `runtime` package.
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The source folders ARCHITECTURE.md must give layers for: deleting a block must fail, not
/// quietly switch its crate's check off.
const LAYERED: [&str; 2] = ["runtime/src", "host-collectors/src"];

/// A module's path below its crate root (`["plugins", "engine"]`); never empty.
type Module = Vec<String>;

/// Source files by path relative to their `src` folder, `/`-separated (`plugins/engine.rs`).
type Files = BTreeMap<String, String>;

/// Every module that has a file of its own, with the file to name in messages.
type Nodes = BTreeMap<Module, String>;

/// One numbered line of a layers block: its number and the top-level modules in it.
#[derive(Debug, PartialEq)]
struct Layer {
    number: u32,
    modules: Vec<String>,
}

/// One `<!-- layers: DIR -->` ... `<!-- /layers -->` block of ARCHITECTURE.md.
#[derive(Debug)]
struct Block {
    dir: String,
    layers: Vec<Layer>,
}

#[test]
fn modules_follow_the_layers_of_architecture_md() {
    let repo = Path::new(REPO);
    let path = repo.join("ARCHITECTURE.md");
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let blocks = parse_architecture(&text).unwrap_or_else(|e| panic!("{e}"));
    let mut failures: Vec<String> = LAYERED
        .iter()
        .filter(|dir| !blocks.iter().any(|block| block.dir == **dir))
        .map(|dir| format!("ARCHITECTURE.md: no `<!-- layers: {dir} -->` block"))
        .collect();
    for block in &blocks {
        let files = read_sources(&repo.join(&block.dir));
        if files.is_empty() {
            failures.push(format!("ARCHITECTURE.md: {} holds no .rs files", block.dir));
        }
        failures.extend(check(&block.dir, &files, &block.layers));
    }
    assert!(
        failures.is_empty(),
        "{} problem(s) with the module layers of ARCHITECTURE.md:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---- ARCHITECTURE.md ----------------------------------------------------------------------

/// A `<!-- layers: DIR -->` or `<!-- /layers -->` line.
enum Marker {
    Open(String),
    Close,
}

/// Reads every layers block. A malformed block or layer line is an error naming its line, so a
/// typo can't quietly drop a module out of the check.
fn parse_architecture(text: &str) -> Result<Vec<Block>, String> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, Block)> = None;
    for (index, line) in text.lines().enumerate() {
        let at = format!("ARCHITECTURE.md:{}", index + 1);
        match (marker(line), open.take()) {
            (Some(Marker::Open(dir)), None) if dir.is_empty() => {
                return Err(format!("{at}: `<!-- layers: -->` names no source folder"));
            }
            (Some(Marker::Open(dir)), None) => {
                open = Some((
                    index + 1,
                    Block {
                        dir,
                        layers: Vec::new(),
                    },
                ));
            }
            (Some(Marker::Open(_)), Some((start, _))) => {
                return Err(format!(
                    "{at}: a layers block opens inside the one of line {start}"
                ));
            }
            (Some(Marker::Close), None) => {
                return Err(format!("{at}: `<!-- /layers -->` closes no block"));
            }
            (Some(Marker::Close), Some((start, block))) => {
                if block.layers.is_empty() {
                    return Err(format!(
                        "ARCHITECTURE.md:{start}: the layers block of {} has no numbered lines",
                        block.dir
                    ));
                }
                blocks.push(block);
            }
            (None, Some((start, mut block))) => {
                if is_layer_line(line) {
                    let layer = parse_layer_line(line).map_err(|e| format!("{at}: {e}"))?;
                    match block.layers.last() {
                        Some(last) if layer.number <= last.number => {
                            return Err(format!(
                                "{at}: layer {} follows layer {}; number the layers upwards",
                                layer.number, last.number
                            ));
                        }
                        _ => block.layers.push(layer),
                    }
                }
                open = Some((start, block));
            }
            (None, None) => {}
        }
    }
    if let Some((start, block)) = open {
        return Err(format!(
            "ARCHITECTURE.md:{start}: the layers block of {} never closes (no `<!-- /layers -->`)",
            block.dir
        ));
    }
    if blocks.is_empty() {
        return Err("ARCHITECTURE.md has no `<!-- layers: DIR -->` block".to_string());
    }
    Ok(blocks)
}

/// Recognises the two marker comments, whatever the spacing inside them.
fn marker(line: &str) -> Option<Marker> {
    let inner = line
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim();
    if inner == "/layers" {
        return Some(Marker::Close);
    }
    let dir = inner.strip_prefix("layers:")?.trim().trim_end_matches('/');
    Some(Marker::Open(dir.to_string()))
}

/// A numbered list item (`2. ...`). Other lines in a block (wrapped text, blanks) are prose.
fn is_layer_line(line: &str) -> bool {
    let line = line.trim_start();
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && line[digits..].starts_with('.')
}

/// Parses ``N. `a`, `b` — what the layer holds``: the names before the em dash.
fn parse_layer_line(line: &str) -> Result<Layer, String> {
    let shape = "expected ``N. `module`, `module` — what the layer holds``";
    let text = line.trim_start();
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    let number = text[..digits]
        .parse::<u32>()
        .map_err(|e| format!("{shape}, got {line:?}: {e}"))?;
    let rest = text[digits..]
        .strip_prefix('.')
        .ok_or_else(|| format!("{shape}, got {line:?}"))?;
    let Some((names, _)) = rest.split_once('—') else {
        return Err(format!("{shape} (no ` — ` after the names), got {line:?}"));
    };
    let modules = names
        .split(',')
        .map(|name| {
            let name = name.trim();
            name.strip_prefix('`')
                .and_then(|n| n.strip_suffix('`'))
                .filter(|n| is_identifier(n))
                .map(str::to_string)
                .ok_or_else(|| format!("{shape}; {name:?} is not one backticked module name"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Layer { number, modules })
}

fn is_identifier(text: &str) -> bool {
    text.chars().next().is_some_and(is_ident_start) && text.chars().all(is_ident)
}

// ---- Reading the tree ---------------------------------------------------------------------

/// Every `.rs` file under `root`, keyed by its `/`-separated path relative to `root`.
fn read_sources(root: &Path) -> Files {
    let mut files = Files::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries =
            fs::read_dir(&dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
                .path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().and_then(|x| x.to_str()) != Some("rs") {
                continue;
            }
            let relative = path.strip_prefix(root).unwrap_or_else(|e| {
                panic!("{} is outside {}: {e}", path.display(), root.display())
            });
            let key: Vec<String> = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect();
            let text = fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            files.insert(key.join("/"), text);
        }
    }
    files
}

/// The module a file holds, or `None` for files that are no node of the graph: `lib.rs` only
/// declares modules, `main.rs` and `bin/` are binaries of their own, and `tests.rs` files and
/// `tests/` folders are test code.
fn module_of(relative: &str) -> Option<Module> {
    let stem = relative.strip_suffix(".rs")?;
    let mut segments: Module = stem.split('/').map(str::to_string).collect();
    if matches!(stem, "lib" | "main") || (segments.len() > 1 && segments[0] == "bin") {
        return None;
    }
    if segments.iter().any(|segment| segment == "tests") {
        return None;
    }
    if segments.last().is_some_and(|last| last == "mod") {
        segments.pop();
    }
    (!segments.is_empty()).then_some(segments)
}

// ---- Blanking what is not code ------------------------------------------------------------

/// The code of a file as the scan should see it: comments, literals and test items blanked.
fn code_of(source: &str) -> String {
    without_test_items(&blank_comments_and_literals(source))
}

/// Replaces comments and string/char literals with spaces (newlines kept), so a `crate::` in a
/// doc comment or a template string is not read as a use, and braces in them can't unbalance
/// the scan.
fn blank_comments_and_literals(source: &str) -> String {
    let c: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < c.len() {
        let end = literal_end(&c, i);
        if end > i {
            out.extend(
                c[i..end]
                    .iter()
                    .map(|&ch| if ch == '\n' { '\n' } else { ' ' }),
            );
            i = end;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// Where the comment or literal starting at `i` ends; `i` itself if none starts there.
fn literal_end(c: &[char], i: usize) -> usize {
    let next = c.get(i + 1).copied();
    match c[i] {
        '/' if next == Some('/') => c[i..]
            .iter()
            .position(|&ch| ch == '\n')
            .map_or(c.len(), |k| i + k),
        '/' if next == Some('*') => block_comment_end(c, i),
        '"' => string_end(c, i + 1),
        'r' if raw_string_may_start(c, i) => raw_string_end(c, i).unwrap_or(i),
        '\'' => char_literal_end(c, i).unwrap_or(i),
        _ => i,
    }
}

/// Block comments nest in Rust.
fn block_comment_end(c: &[char], start: usize) -> usize {
    let mut depth = 0usize;
    let mut j = start;
    while j + 1 < c.len() {
        match (c[j], c[j + 1]) {
            ('/', '*') => {
                depth += 1;
                j += 2;
            }
            ('*', '/') => {
                depth = depth.saturating_sub(1);
                j += 2;
                if depth == 0 {
                    return j;
                }
            }
            _ => j += 1,
        }
    }
    c.len()
}

/// The end of a `"..."` literal whose contents start at `j` (escapes skipped).
fn string_end(c: &[char], mut j: usize) -> usize {
    while j < c.len() {
        match c[j] {
            '\\' => j += 2,
            '"' => return j + 1,
            _ => j += 1,
        }
    }
    c.len()
}

/// An `r` that is a token of its own, or the `r` of `br`/`cr`, may open a raw string.
fn raw_string_may_start(c: &[char], i: usize) -> bool {
    let token_starts = |k: usize| k == 0 || !is_ident(c[k - 1]);
    token_starts(i) || (matches!(c[i - 1], 'b' | 'c') && token_starts(i - 1))
}

/// The end of `r#"..."#` at `i`; `None` if the `r` opens no raw string (`r#ident`, `r` alone).
fn raw_string_end(c: &[char], i: usize) -> Option<usize> {
    let hashes = c[i + 1..].iter().take_while(|&&ch| ch == '#').count();
    let mut j = i + 1 + hashes;
    if c.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < c.len() {
        if c[j] == '"' && (1..=hashes).all(|k| c.get(j + k) == Some(&'#')) {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(c.len())
}

/// The end of a char literal at `i`; `None` for a lifetime or label (`'a`, `'static`).
fn char_literal_end(c: &[char], i: usize) -> Option<usize> {
    match (c.get(i + 1).copied(), c.get(i + 2).copied()) {
        (Some('\\'), _) => {
            let rest = c.get(i + 3..)?;
            let close = rest
                .iter()
                .take_while(|&&ch| ch != '\n')
                .position(|&ch| ch == '\'')?;
            Some(i + 3 + close + 1)
        }
        (Some(ch), Some('\'')) if ch != '\'' => Some(i + 3),
        _ => None,
    }
}

/// Blanks every item under `#[cfg(test)]` (a whole file under `#![cfg(test)]`). Runs on blanked
/// code, so the braces it matches are the code's own.
fn without_test_items(code: &str) -> String {
    let mut c: Vec<char> = code.chars().collect();
    let blank = |chars: &mut [char]| {
        chars
            .iter_mut()
            .filter(|ch| **ch != '\n')
            .for_each(|ch| *ch = ' ')
    };
    if find(&c, 0, "#![cfg(test)]").is_some() {
        blank(c.as_mut_slice());
        return c.into_iter().collect();
    }
    let attribute = "#[cfg(test)]";
    let mut from = 0;
    while let Some(at) = find(&c, from, attribute) {
        let end = item_end(&c, at + attribute.len());
        blank(&mut c[at..end]);
        from = end;
    }
    c.into_iter().collect()
}

fn find(c: &[char], from: usize, pattern: &str) -> Option<usize> {
    let pattern: Vec<char> = pattern.chars().collect();
    let found = c
        .get(from..)?
        .windows(pattern.len())
        .position(|w| w == pattern.as_slice());
    found.map(|k| from + k)
}

/// The end of the item starting at `from`: its `;`, the end of its `{ ... }` body, or the close
/// of the block around it (an attribute on the last field or arm). Further attributes are
/// skipped as bracketed text.
fn item_end(c: &[char], from: usize) -> usize {
    let mut nesting = 0usize; // ( and [ open since `from`
    for (k, &ch) in c.iter().enumerate().skip(from) {
        match ch {
            '(' | '[' => nesting += 1,
            ')' | ']' | '}' if nesting == 0 => return k,
            ')' | ']' => nesting -= 1,
            ';' if nesting == 0 => return k + 1,
            '{' if nesting == 0 => return block_end(c, k),
            _ => {}
        }
    }
    c.len()
}

/// The index after the `}` matching the `{` at `open`.
fn block_end(c: &[char], open: usize) -> usize {
    let mut depth = 0usize;
    for (k, &ch) in c.iter().enumerate().skip(open) {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return k + 1;
                }
            }
            _ => {}
        }
    }
    c.len()
}

// ---- Finding paths ------------------------------------------------------------------------

/// A path as written, out of any `{...}` group: its segments and the name a `use` of it binds
/// (the `as` name or the last segment; `None` for a glob).
struct Written {
    segments: Vec<String>,
    name: Option<String>,
}

/// A path resolved against the module it appears in.
struct Reference {
    /// From the crate root, `super`/`self` applied (`["plugins", "load", "PluginFile"]`).
    absolute: Vec<String>,
    name: Option<String>,
    /// As written, for messages (`super::PluginError`).
    text: String,
    /// Part of a `use` item: only those make the crate root's re-exports.
    in_use: bool,
}

#[derive(Default)]
struct Scanned {
    references: Vec<Reference>,
    /// Inline `mod NAME { ... }` blocks, as module paths.
    inline: Vec<Module>,
}

/// Finds every path in blanked `code` that can lead into the crate: those starting at `crate`
/// (`$crate` too), `super`, `self` or a child module of the one being read. `module` is the
/// file's module; an inline `mod NAME { ... }` extends it while the scan is inside.
fn scan(code: &str, module: &[String], nodes: &Nodes) -> Scanned {
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

fn is_ident(ch: char) -> bool {
    ch.is_alphanumeric() || ch == '_'
}

fn is_ident_start(ch: char) -> bool {
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

// ---- The graph ----------------------------------------------------------------------------

/// The modules of one crate and which uses which, each arrow with the first path that made it.
struct Graph {
    /// The source folder, as ARCHITECTURE.md names it (`runtime/src`).
    dir: String,
    nodes: Nodes,
    edges: BTreeMap<(Module, Module), String>,
}

impl Graph {
    fn build(dir: &str, files: &Files) -> Graph {
        let code: BTreeMap<&str, String> = files
            .iter()
            .map(|(relative, source)| (relative.as_str(), code_of(source)))
            .collect();
        let mut nodes = Nodes::new();
        for relative in files.keys() {
            if let Some(module) = module_of(relative) {
                nodes
                    .entry(module)
                    .or_insert_with(|| format!("{dir}/{relative}"));
            }
        }
        // A top-level module written inline in lib.rs (`pub mod embedded { ... }`) is a node
        // too, so layers can name it and arrows into it are checked.
        let root = code.get("lib.rs").map(String::as_str).unwrap_or_default();
        for module in scan(root, &[], &nodes)
            .inline
            .into_iter()
            .filter(|m| m.len() == 1)
        {
            let file = format!("{dir}/lib.rs (inline `mod {}`)", module[0]);
            nodes.entry(module).or_insert(file);
        }
        let aliases = root_aliases(root, &nodes);
        let mut edges = BTreeMap::new();
        for (relative, code) in &code {
            let Some(from) = module_of(relative) else {
                continue;
            };
            for found in scan(code, &from, &nodes).references {
                let Some(to) = resolve(&found.absolute, &nodes, &aliases) else {
                    continue;
                };
                if to != from {
                    edges.entry((from.clone(), to)).or_insert(found.text);
                }
            }
        }
        Graph {
            dir: dir.to_string(),
            nodes,
            edges,
        }
    }

    fn file(&self, module: &[String]) -> &str {
        self.nodes.get(module).map_or("?", String::as_str)
    }

    /// Each top-level module with the file to name for it: its own (`a.rs`, `a/mod.rs`) if it
    /// has one, else its first.
    fn top_level(&self) -> BTreeMap<&str, &str> {
        let mut tops = BTreeMap::new();
        for (module, file) in &self.nodes {
            tops.entry(module[0].as_str()).or_insert(file.as_str());
        }
        tops
    }

    /// Whether other modules' files sit below this one's (it is a folder, not a lone file).
    fn is_folder(&self, module: &[String]) -> bool {
        self.nodes
            .keys()
            .any(|other| other.len() > module.len() && other.starts_with(module))
    }
}

/// The names the crate root re-exports (`pub use error::CollectError;`), so that
/// `crate::CollectError` resolves to the file defining it rather than to nothing.
fn root_aliases(root: &str, nodes: &Nodes) -> BTreeMap<String, Vec<String>> {
    let tops: BTreeSet<&String> = nodes.keys().map(|module| &module[0]).collect();
    scan(root, &[], nodes)
        .references
        .into_iter()
        .filter(|found| found.in_use && found.absolute.first().is_some_and(|f| tops.contains(f)))
        .filter_map(|found| Some((found.name?, found.absolute)))
        .collect()
}

/// The node defining an absolute path: its longest prefix that has a file. A head that is no
/// module but a root re-export is replaced by what it re-exports first.
fn resolve(
    absolute: &[String],
    nodes: &Nodes,
    aliases: &BTreeMap<String, Vec<String>>,
) -> Option<Module> {
    let (first, rest) = absolute.split_first()?;
    let is_module = nodes.keys().any(|module| &module[0] == first);
    let path: Vec<String> = match aliases.get(first) {
        Some(target) if !is_module => target.iter().chain(rest).cloned().collect(),
        _ => absolute.to_vec(),
    };
    (1..=path.len())
        .rev()
        .map(|k| &path[..k])
        .find(|prefix| nodes.contains_key(*prefix))
        .map(<[String]>::to_vec)
}

// ---- The checks ---------------------------------------------------------------------------

/// Every failure of one crate's source tree against its layers, as messages naming files.
fn check(dir: &str, files: &Files, layers: &[Layer]) -> Vec<String> {
    let graph = Graph::build(dir, files);
    let mut failures = layer_names(&graph, layers);
    failures.extend(layer_order(&graph, layers));
    failures.extend(file_cycles(&graph));
    failures.extend(folder_cycles(&graph));
    failures
}

/// Each module's layer, by the first line naming it.
fn levels(layers: &[Layer]) -> BTreeMap<&str, u32> {
    let mut levels = BTreeMap::new();
    for layer in layers {
        for name in &layer.modules {
            levels.entry(name.as_str()).or_insert(layer.number);
        }
    }
    levels
}

/// Layers and modules must match one to one: a module in no layer escapes the rule, and a
/// layer naming no module is a stale document.
fn layer_names(graph: &Graph, layers: &[Layer]) -> Vec<String> {
    let (dir, tops, levels) = (&graph.dir, graph.top_level(), levels(layers));
    let mut failures = Vec::new();
    for layer in layers {
        for name in &layer.modules {
            let first = levels.get(name.as_str()).copied().unwrap_or(layer.number);
            if first != layer.number || layer.modules.iter().filter(|n| *n == name).count() > 1 {
                failures.push(format!(
                    "ARCHITECTURE.md: `{name}` is named twice in the layers of {dir} (layers {first} and {})",
                    layer.number
                ));
            }
            if !tops.contains_key(name.as_str()) {
                failures.push(format!(
                    "ARCHITECTURE.md: layer {} of {dir} names `{name}`, which is no module of {dir}",
                    layer.number
                ));
            }
        }
    }
    for (name, file) in &tops {
        if !levels.contains_key(name) {
            failures.push(format!(
                "{file}: module `{name}` is in no layer of ARCHITECTURE.md"
            ));
        }
    }
    failures
}

/// A module may use its own layer and those below, never one above.
fn layer_order(graph: &Graph, layers: &[Layer]) -> Vec<String> {
    let levels = levels(layers);
    let mut failures = Vec::new();
    for ((from, to), text) in &graph.edges {
        let (user, used) = (from[0].as_str(), to[0].as_str());
        let (Some(&below), Some(&above)) = (levels.get(user), levels.get(used)) else {
            continue; // reported by `layer_names`
        };
        if user != used && above > below {
            failures.push(format!(
                "{} uses {text} ({}): `{user}` (layer {below}) may not use `{used}` (layer {above})",
                graph.file(from),
                graph.file(to)
            ));
        }
    }
    failures
}

/// Files that use each other, however indirectly.
fn file_cycles(graph: &Graph) -> Vec<String> {
    let arrows: BTreeSet<(Module, Module)> = graph.edges.keys().cloned().collect();
    let mut failures = Vec::new();
    for cycle in cycles(&arrows) {
        let mut message = format!("cycle: {}", graph.file(&cycle.path[0]));
        for pair in cycle.path.windows(2) {
            let text = graph
                .edges
                .get(&(pair[0].clone(), pair[1].clone()))
                .map_or("?", String::as_str);
            message.push_str(&format!(" -({text})-> {}", graph.file(&pair[1])));
        }
        if cycle.members.len() + 1 > cycle.path.len() {
            let all: Vec<&str> = cycle.members.iter().map(|m| graph.file(m)).collect();
            message.push_str(&format!(
                "; these files all reach each other: {}",
                all.join(", ")
            ));
        }
        failures.push(message);
    }
    failures
}

/// Sibling modules that use each other: within each folder, every file under a sub-folder
/// counts as that sub-folder, so `stats/store.rs -> plugins/host.rs -> stats/render.rs` is a
/// circle between `stats` and `plugins` even though no two files close it.
fn folder_cycles(graph: &Graph) -> Vec<String> {
    let mut arrows: BTreeMap<(Module, Module), (&Module, &Module)> = BTreeMap::new();
    for (from, to) in graph.edges.keys() {
        let shared = from.iter().zip(to).take_while(|(a, b)| a == b).count();
        // A use of an ancestor's own file (`tui/app.rs -> tui.rs`) is no sibling arrow.
        if from.len() > shared && to.len() > shared {
            let siblings = (from[..=shared].to_vec(), to[..=shared].to_vec());
            arrows.entry(siblings).or_insert((from, to));
        }
    }
    let keys: BTreeSet<(Module, Module)> = arrows.keys().cloned().collect();
    let mut failures = Vec::new();
    // A circle of lone files is already a file cycle: report only those a folder takes part in.
    for cycle in cycles(&keys)
        .into_iter()
        .filter(|c| c.members.iter().any(|m| graph.is_folder(m)))
    {
        let parent = &cycle.path[0][..cycle.path[0].len() - 1];
        let folder = [graph.dir.as_str()]
            .into_iter()
            .chain(parent.iter().map(String::as_str));
        let names: Vec<String> = cycle
            .path
            .iter()
            .map(|m| format!("`{}`", m.join("::")))
            .collect();
        let uses: Vec<String> = cycle
            .path
            .windows(2)
            .filter_map(|pair| arrows.get(&(pair[0].clone(), pair[1].clone())))
            .map(|(from, to)| {
                let text = graph
                    .edges
                    .get(&(from.to_vec(), to.to_vec()))
                    .map_or("?", String::as_str);
                format!("{} uses {text} ({})", graph.file(from), graph.file(to))
            })
            .collect();
        failures.push(format!(
            "module cycle in {}: {} ({})",
            folder.collect::<Vec<_>>().join("/"),
            names.join(" -> "),
            uses.join("; ")
        ));
    }
    failures
}

// ---- Cycles -------------------------------------------------------------------------------

/// One circle of a graph: a shortest path from a node back to itself, and every node of its
/// strongly connected component (all of which reach each other).
struct Cycle {
    path: Vec<Module>,
    members: Vec<Module>,
}

/// One cycle per strongly connected component of more than one node (self-arrows are never
/// recorded), starting at the component's first node so reports are stable.
fn cycles(arrows: &BTreeSet<(Module, Module)>) -> Vec<Cycle> {
    let names: Vec<&Module> = arrows
        .iter()
        .flat_map(|(a, b)| [a, b])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let index: BTreeMap<&Module, usize> = names.iter().enumerate().map(|(k, m)| (*m, k)).collect();
    let mut successors = vec![Vec::new(); names.len()];
    for (a, b) in arrows {
        if let (Some(&from), Some(&to)) = (index.get(a), index.get(b)) {
            successors[from].push(to);
        }
    }
    let mut found: Vec<Cycle> = components(&successors)
        .into_iter()
        .filter(|component| component.len() > 1)
        .map(|mut component| {
            component.sort_unstable();
            let path = shortest_cycle(component[0], &successors, &component);
            Cycle {
                path: path.into_iter().map(|k| names[k].clone()).collect(),
                members: component.into_iter().map(|k| names[k].clone()).collect(),
            }
        })
        .collect();
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

/// Tarjan's strongly connected components of a graph given as successor lists.
fn components(successors: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = successors.len();
    let mut tarjan = Tarjan {
        successors,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in 0..n {
        if tarjan.index[v].is_none() {
            tarjan.visit(v);
        }
    }
    tarjan.found
}

struct Tarjan<'g> {
    successors: &'g [Vec<usize>],
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    next: usize,
    found: Vec<Vec<usize>>,
}

impl Tarjan<'_> {
    // Recursive: a crate's module graph is a few hundred nodes at most.
    fn visit(&mut self, v: usize) {
        self.index[v] = Some(self.next);
        self.low[v] = self.next;
        self.next += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
        let successors = self.successors;
        for &w in &successors[v] {
            match self.index[w] {
                None => {
                    self.visit(w);
                    self.low[v] = self.low[v].min(self.low[w]);
                }
                Some(seen) if self.on_stack[w] => self.low[v] = self.low[v].min(seen),
                Some(_) => {}
            }
        }
        if self.index[v] == Some(self.low[v]) {
            let mut component = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            self.found.push(component);
        }
    }
}

/// A shortest path `start -> ... -> start` inside `members` (sorted), by breadth-first search.
fn shortest_cycle(start: usize, successors: &[Vec<usize>], members: &[usize]) -> Vec<usize> {
    let mut parent: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in &successors[v] {
            if w == start {
                let mut path = vec![start];
                let mut at = v;
                while at != start {
                    path.push(at);
                    match parent.get(&at) {
                        Some(&before) => at = before,
                        None => break,
                    }
                }
                path.push(start);
                path.reverse();
                return path;
            }
            if members.binary_search(&w).is_ok() && !parent.contains_key(&w) {
                parent.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    vec![start]
}

// ---- Tests of the checker itself ----------------------------------------------------------

/// The checker on small in-memory trees, so it can't silently pass by finding nothing.
mod checker {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> Files {
        files
            .iter()
            .map(|(path, source)| (path.to_string(), source.to_string()))
            .collect()
    }

    /// Layers numbered from 0, one per slice.
    fn stack(layers: &[&[&str]]) -> Vec<Layer> {
        layers
            .iter()
            .zip(0..)
            .map(|(names, number)| Layer {
                number,
                modules: names.iter().map(|n| n.to_string()).collect(),
            })
            .collect()
    }

    /// The graph's arrows as `from -> to (example)`.
    fn arrows(files: &[(&str, &str)]) -> Vec<String> {
        let graph = Graph::build("src", &tree(files));
        graph
            .edges
            .iter()
            .map(|((from, to), text)| {
                format!("{} -> {} ({text})", graph.file(from), graph.file(to))
            })
            .collect()
    }

    /// The paths found in `code` read as module `a::b`, as `written = absolute`.
    fn paths(code: &str) -> Vec<String> {
        let here = ["a".to_string(), "b".to_string()];
        scan(&code_of(code), &here, &Nodes::new())
            .references
            .into_iter()
            .map(|r| format!("{} = {}", r.text, r.absolute.join("::")))
            .collect()
    }

    #[test]
    fn parses_every_block_and_its_layer_lines() {
        let text = "# Architecture\n\
            <!-- layers: runtime/src -->\n\
            0. `bindings`, `embedded` — the WIT contract\n   \
               wrapped prose is no layer\n\
            1. `settings` — config, manifest\n\
            <!-- /layers -->\n\
            Prose.\n\
            <!--layers: host-collectors/src/-->\n\
            0. `error`, `clock` — basics\n\
            <!-- /layers -->\n";
        let blocks = parse_architecture(text).unwrap_or_else(|e| panic!("{e}"));
        let dirs: Vec<&str> = blocks.iter().map(|b| b.dir.as_str()).collect();
        assert_eq!(dirs, ["runtime/src", "host-collectors/src"]);
        assert_eq!(
            blocks[0].layers,
            stack(&[&["bindings", "embedded"], &["settings"]])
        );
        assert_eq!(blocks[1].layers, stack(&[&["error", "clock"]]));
    }

    #[test]
    fn a_malformed_block_is_an_error_naming_its_line() {
        let unticked = "<!-- layers: src -->\n0. settings — config\n<!-- /layers -->\n";
        let error = parse_architecture(unticked).err().unwrap_or_default();
        assert!(error.starts_with("ARCHITECTURE.md:2:"), "{error}");
        let no_dash = "<!-- layers: src -->\n0. `settings` - config\n<!-- /layers -->\n";
        assert!(
            parse_architecture(no_dash)
                .err()
                .unwrap_or_default()
                .contains(" — ")
        );
        let downwards = "<!-- layers: src -->\n1. `a` — x\n0. `b` — y\n<!-- /layers -->\n";
        assert!(
            parse_architecture(downwards)
                .err()
                .unwrap_or_default()
                .contains("upwards")
        );
        let open = "<!-- layers: src -->\n0. `a` — x\n";
        assert!(
            parse_architecture(open)
                .err()
                .unwrap_or_default()
                .contains("never closes")
        );
        assert!(parse_architecture("no blocks at all").is_err());
    }

    #[test]
    fn grouped_and_multi_line_uses_expand_to_one_path_each() {
        let code = "use crate::{a::X, b::{self, Y}};\n\
                    use crate::c::{\n    D,\n    E as F,\n};\n\
                    use crate::d::*;\n";
        let expected = [
            "crate::a::X = a::X",
            "crate::b = b",
            "crate::b::Y = b::Y",
            "crate::c::D = c::D",
            "crate::c::E = c::E",
            "crate::d::* = d",
        ];
        assert_eq!(paths(code), expected);
    }

    #[test]
    fn super_and_self_resolve_against_the_files_module() {
        let code = "use super::c::Z;\n\
                    fn f() { let _ = super::super::top::T::new(); self::inner::g(); }\n\
                    fn g() -> Vec<crate::x::Y> { $crate::m::h() }\n";
        let expected = [
            "super::c::Z = a::c::Z",
            "super::super::top::T::new = top::T::new",
            "self::inner::g = a::b::inner::g",
            "crate::x::Y = x::Y",
            "crate::m::h = m::h",
        ];
        assert_eq!(paths(code), expected);
    }

    #[test]
    fn arrows_reach_the_file_that_defines_the_path() {
        let files = [
            ("lib.rs", "pub mod plug;\n"),
            (
                "plug/mod.rs",
                "mod load;\nmod pool;\npub use pool::Pool;\npub struct PluginError;\n",
            ),
            (
                "plug/load.rs",
                "use super::PluginError;\nfn f() -> super::pool::Pool { todo!() }\n",
            ),
            (
                "plug/pool.rs",
                "pub(in crate::plug) struct Pool;\nuse std::error::Error;\n",
            ),
        ];
        let expected = [
            "src/plug/mod.rs -> src/plug/pool.rs (pool::Pool)",
            "src/plug/load.rs -> src/plug/mod.rs (super::PluginError)",
            "src/plug/load.rs -> src/plug/pool.rs (super::pool::Pool)",
        ];
        assert_eq!(arrows(&files), expected);
    }

    #[test]
    fn comments_literals_and_test_items_are_no_arrows() {
        let a = r##"//! crate::b::Doc
/// [`crate::b::X`]
const S: &str = "crate::b::X // not a comment { ";
const R: &str = r#"use crate::b::X; "quoted" }"#;
const C: char = '"';
const D: char = '{';
/* crate::b::X /* nested */ crate::b::X */
fn f<'a>(x: &'a str) -> &'a str { x } // crate::b::X
#[cfg(test)]
mod tests {
    use crate::b::X;
}
#[cfg(test)]
fn helper() -> crate::b::X { crate::b::X }
pub fn after() -> crate::b::Kept { crate::b::Kept }
"##;
        let files = [("a.rs", a), ("b.rs", "pub struct Kept;\n")];
        assert_eq!(arrows(&files), ["src/a.rs -> src/b.rs (crate::b::Kept)"]);
    }

    #[test]
    fn root_re_exports_and_inline_modules_resolve() {
        let files = [
            (
                "lib.rs",
                "mod error;\nmod load;\npub use error::CollectError;\npub use load::{Load, load};\npub mod embedded {\n    pub const X: u8 = 0;\n}\n",
            ),
            ("error.rs", "pub struct CollectError;\n"),
            (
                "load.rs",
                "use crate::CollectError;\nuse crate::embedded::X;\n",
            ),
            (
                "all.rs",
                "use crate::{CollectError as E, Load};\nfn f() { crate::load(); }\n",
            ),
        ];
        let expected = [
            "src/all.rs -> src/error.rs (crate::CollectError)",
            "src/all.rs -> src/load.rs (crate::Load)",
            "src/load.rs -> src/lib.rs (inline `mod embedded`) (crate::embedded::X)",
            "src/load.rs -> src/error.rs (crate::CollectError)",
        ];
        assert_eq!(arrows(&files), expected);
    }

    #[test]
    fn an_upward_use_breaks_the_layers() {
        let files = tree(&[("a.rs", "use crate::b::X;\n"), ("b.rs", "pub struct X;\n")]);
        assert_eq!(
            check("src", &files, &stack(&[&["a"], &["b"]])),
            ["src/a.rs uses crate::b::X (src/b.rs): `a` (layer 0) may not use `b` (layer 1)"]
        );
        assert!(check("src", &files, &stack(&[&["b"], &["a"]])).is_empty());
    }

    #[test]
    fn every_module_sits_in_exactly_one_layer() {
        let files = tree(&[("a.rs", ""), ("b/mod.rs", ""), ("b/c.rs", "")]);
        assert_eq!(
            check("src", &files, &stack(&[&["a", "ghost"], &["a"]])),
            [
                "ARCHITECTURE.md: layer 0 of src names `ghost`, which is no module of src",
                "ARCHITECTURE.md: `a` is named twice in the layers of src (layers 0 and 1)",
                "src/b/mod.rs: module `b` is in no layer of ARCHITECTURE.md",
            ]
        );
    }

    #[test]
    fn a_cycle_of_files_names_both_files() {
        let files = tree(&[
            ("a.rs", "use crate::b::X;\npub struct Y;\n"),
            ("b.rs", "pub struct X;\nfn f(_: crate::a::Y) {}\n"),
        ]);
        assert_eq!(
            check("src", &files, &stack(&[&["a", "b"]])),
            ["cycle: src/a.rs -(crate::b::X)-> src/b.rs -(crate::a::Y)-> src/a.rs"]
        );
    }

    #[test]
    fn a_cycle_of_folders_is_found_though_no_files_close_it() {
        let files = tree(&[
            ("p/mod.rs", "mod a;\nmod d;\n"),
            ("p/a.rs", "use crate::s::b::T;\n"),
            ("p/d.rs", "pub struct U;\n"),
            ("s/mod.rs", "mod b;\nmod c;\n"),
            ("s/b.rs", "pub struct T;\n"),
            ("s/c.rs", "use crate::p::d::U;\n"),
        ]);
        assert_eq!(
            check("src", &files, &stack(&[&["p", "s"]])),
            [
                "module cycle in src: `p` -> `s` -> `p` (src/p/a.rs uses crate::s::b::T (src/s/b.rs); \
                 src/s/c.rs uses crate::p::d::U (src/p/d.rs))"
            ]
        );
    }

    #[test]
    fn skipped_files_are_no_modules() {
        for skipped in [
            "lib.rs",
            "main.rs",
            "bin/tool.rs",
            "tests.rs",
            "tui/tests.rs",
            "a/tests/x.rs",
        ] {
            assert_eq!(module_of(skipped), None, "{skipped}");
        }
        assert_eq!(module_of("a/mod.rs"), Some(vec!["a".to_string()]));
        assert_eq!(
            module_of("a/b.rs"),
            Some(vec!["a".to_string(), "b".to_string()])
        );
    }
}
