//! Reading ARCHITECTURE.md: its `<!-- layers: DIR -->` blocks and their numbered layer lines.

use super::paths::{is_ident, is_ident_start};
use super::{Block, Layer};

/// A `<!-- layers: DIR -->` or `<!-- /layers -->` line.
enum Marker {
    Open(String),
    Close,
}

/// Reads every layers block. A malformed block or layer line is an error naming its line, so a
/// typo can't quietly drop a module out of the check.
pub(super) fn parse_architecture(text: &str) -> Result<Vec<Block>, String> {
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
