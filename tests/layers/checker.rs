//! The checker on small in-memory trees, so it can't silently pass by finding nothing.

use super::architecture::parse_architecture;
use super::blank::code_of;
use super::checks::check;
use super::graph::Graph;
use super::paths::scan;
use super::tree::module_of;
use super::{Files, Layer, Nodes};

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
        .map(|((from, to), text)| format!("{} -> {} ({text})", graph.file(from), graph.file(to)))
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
