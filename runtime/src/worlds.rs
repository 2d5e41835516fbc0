//! Loading a component of the `exporter` world: link, handshake and one call. The export
//! pipeline comes later; this is the contract exporters will be held to, and how their test
//! guest is checked. (Output plugins run as actors: see `plugin`.)

use std::sync::Arc;

use wasmtime::component::HasSelf;

use crate::bindings::exporter::Exporter;
use crate::bindings::input::glint::plugin::types::{Batch, ExportError};
use crate::bindings::{PluginInfo, PluginKind};
use crate::engine::GlintEngine;
use crate::plugin::{
    PluginCounters, PluginError, check_handshake, explain_trap, new_store, wasi_linker,
};
use crate::readings::TickReadings;
use crate::sandbox::Sandbox;

/// Loads an exporter, checks its handshake and exports one batch. The exporter gets no
/// network: nothing is granted yet.
pub fn export_once(
    engine: &GlintEngine,
    label: &str,
    bytes: &[u8],
    sandbox: &Sandbox,
    readings: Arc<TickReadings>,
    batch: &Batch,
) -> Result<(PluginInfo, Result<(), ExportError>), PluginError> {
    let wrong_world = |e: wasmtime::Error| PluginError::WrongWorld {
        name: label.to_string(),
        reason: format!("{e:#}"),
    };
    let component = engine.component(label, bytes, &crate::engine::digest(bytes))?;
    let _busy = engine.busy();
    let mut linker = wasi_linker(engine).map_err(wrong_world)?;
    Exporter::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s).map_err(wrong_world)?;
    let mut store = new_store(
        engine,
        label,
        sandbox,
        readings,
        Arc::new(PluginCounters::default()),
    )
    .map_err(|reason| PluginError::Handshake {
        name: label.to_string(),
        reason,
    })?;
    let limits = sandbox.limits;
    let exporter = Exporter::instantiate(&mut store, &component, &linker).map_err(wrong_world)?;
    let call_failed = |e: wasmtime::Error, store: &wasmtime::Store<_>| PluginError::Call {
        name: label.to_string(),
        reason: explain_trap(&e, store, limits),
    };
    let info = exporter
        .call_describe(&mut store)
        .map_err(|e| call_failed(e, &store))?;
    check_handshake(label, &info, PluginKind::Exporter)?;
    let result = exporter
        .call_export(&mut store, batch)
        .map_err(|e| call_failed(e, &store))?;
    Ok((info, result))
}
