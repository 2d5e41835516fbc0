//! End-to-end tests of the glint binary live in `tests/`; this crate has no library code.
