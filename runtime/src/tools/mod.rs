//! Tools for plugin authors: `glint plugin new` (a project in Rust, Python or JavaScript),
//! `glint plugin wit` (the contract, for any toolchain) and `glint plugin check` (a report of
//! what a component imports, asks and would be granted).
pub mod check;
pub mod scaffold;
pub mod wit;
