//! Tools for plugin authors: `glint plugin new` (a scaffold) and `glint plugin check` (a
//! report of what a component imports, asks and would be granted).
pub mod check;
pub mod scaffold;
