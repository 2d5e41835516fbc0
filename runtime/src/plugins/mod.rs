//! Plugins: the wasmtime engine, loading and linking a component, its sandbox and host
//! imports, the actor that calls it under its limits, the supervisor's verdicts, and the
//! watched plugins directory.
pub mod actor;
pub mod blocking;
pub mod discovery;
pub mod engine;
pub mod error;
pub mod host;
pub mod https;
pub mod load;
pub mod pool;
pub mod readings;
pub mod sandbox;
pub mod supervisor;
