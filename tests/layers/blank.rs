//! Blanking what is not code: comments, literals and `#[cfg(test)]` items become spaces, so
//! the scan for paths sees only the code that uses other modules.

use super::paths::is_ident;

/// The code of a file as the scan should see it: comments, literals and test items blanked.
pub(super) fn code_of(source: &str) -> String {
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
