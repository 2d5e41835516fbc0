//! Owns linking a component: telling its world from its exports, linking the WASI imports
//! (name lookups restricted to granted hosts) and its world's, and the linked and live forms
//! of the three worlds (`Pre`, `Instance`).

use wasmtime::Store;
use wasmtime::component::{HasSelf, Linker};

use crate::bindings::exporter::{Exporter, ExporterPre};
use crate::bindings::input::{Input, InputPre};
use crate::bindings::output::{Output, OutputPre};
use crate::bindings::{PluginInfo, PluginKind};
use crate::plugins::engine::GlintEngine;
use crate::plugins::error::PluginError;
use crate::plugins::host::HostState;

/// A linked component of one of the worlds the host runs.
pub(super) enum Pre {
    Input(InputPre<HostState>),
    Output(OutputPre<HostState>),
    Exporter(ExporterPre<HostState>),
}

/// A live instance of a `Pre`.
pub(crate) enum Instance {
    Input(Input),
    Output(Output),
    Exporter(Exporter),
}

impl Pre {
    pub(super) fn instantiate(&self, store: &mut Store<HostState>) -> wasmtime::Result<Instance> {
        Ok(match self {
            Pre::Input(pre) => Instance::Input(pre.instantiate(store)?),
            Pre::Output(pre) => Instance::Output(pre.instantiate(store)?),
            Pre::Exporter(pre) => Instance::Exporter(pre.instantiate(store)?),
        })
    }
}

impl Instance {
    pub(super) fn describe(&self, store: &mut Store<HostState>) -> wasmtime::Result<PluginInfo> {
        match self {
            Instance::Input(i) => i.call_describe(store),
            Instance::Output(o) => o.call_describe(store),
            Instance::Exporter(e) => e.call_describe(store),
        }
    }
}

/// The world a component implements, told from its exports: `update` (input), `render`
/// (output) or `export` (exporter).
fn world_of(
    engine: &GlintEngine,
    component: &wasmtime::component::Component,
) -> Option<PluginKind> {
    let ty = component.component_type();
    let exports: Vec<&str> = ty.exports(&engine.engine).map(|(name, _)| name).collect();
    if exports.contains(&"update") {
        Some(PluginKind::Input)
    } else if exports.contains(&"render") {
        Some(PluginKind::Output)
    } else if exports.contains(&"export") {
        Some(PluginKind::Exporter)
    } else {
        None
    }
}

/// A plugin refused for implementing no world the host runs, or another than its manifest's.
pub(super) fn wrong_world(label: &str, reason: String) -> PluginError {
    PluginError::WrongWorld {
        name: label.to_string(),
        reason,
    }
}

/// Links a component to the WASI imports and to those of the world it implements (told from
/// its exports): the linked component, and its world.
pub(super) fn link_component(
    engine: &GlintEngine,
    label: &str,
    component: &wasmtime::component::Component,
) -> Result<(Pre, PluginKind), PluginError> {
    let linked = |e: wasmtime::Error| {
        wrong_world(
            label,
            format!(
                "{e:#}; build it against this glint's WIT (`glint plugin wit DIR` writes it; \
                 `glint plugin new` makes a project that does)"
            ),
        )
    };
    let mut linker = wasi_linker(engine).map_err(linked)?;
    let kind = world_of(engine, component);
    let pre = match kind {
        Some(PluginKind::Input) => {
            Input::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
                .map_err(linked)?;
            let pre = linker.instantiate_pre(component).map_err(linked)?;
            Pre::Input(InputPre::new(pre).map_err(linked)?)
        }
        Some(PluginKind::Output) => {
            Output::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
                .map_err(linked)?;
            let pre = linker.instantiate_pre(component).map_err(linked)?;
            Pre::Output(OutputPre::new(pre).map_err(linked)?)
        }
        Some(PluginKind::Exporter) => {
            Exporter::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
                .map_err(linked)?;
            let pre = linker.instantiate_pre(component).map_err(linked)?;
            Pre::Exporter(ExporterPre::new(pre).map_err(linked)?)
        }
        None => {
            return Err(wrong_world(
                label,
                "it exports none of `update` (input), `render` (output) or `export` (exporter); \
                 build it for one of the worlds `input`, `output`, `exporter` or `exporter-http` \
                 of this glint's WIT (`glint plugin wit DIR`)"
                    .into(),
            ));
        }
    };
    Ok((pre, kind.unwrap_or(PluginKind::Input)))
}

/// A linker with the WASI imports a guest's language runtime may ask for (wasi:cli, wasi:io,
/// ...) even if it never uses them; the context behind them grants nothing (see
/// HostState::new).
///
/// wasi:http is linked for every world, not only exporters': JavaScript's engine
/// (componentize-js) imports it whatever the plugin does. A request is sent only to a granted
/// destination (`host::HttpHooks`), and a plugin granted nothing has every request refused.
pub(crate) fn wasi_linker(engine: &GlintEngine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker: Linker<HostState> = Linker::new(&engine.engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker)?;
    restrict_name_lookups(&mut linker)?;
    // Over wasi:io's waits: a guest blocked in one is in host code, out of the epoch's reach.
    crate::plugins::blocking::add_to_linker(&mut linker)?;
    Ok(linker)
}

/// The WASI name-lookup interface the host links (wasmtime-wasi 48's WIT, 0.2.12; guests
/// built for any 0.2.x link to it).
const NAME_LOOKUP: &str = "wasi:sockets/ip-name-lookup@0.2.12";

/// Name lookups only of the host names a plugin was granted: otherwise a plugin that may
/// reach nothing could still send data out in the names it asks a DNS server about.
fn restrict_name_lookups(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::Host as _;
    use wasmtime_wasi::p2::bindings::sockets::network::ErrorCode;
    use wasmtime_wasi::sockets::WasiSocketsView as _;
    linker.allow_shadowing(true);
    linker.instance(NAME_LOOKUP)?.func_wrap(
        "resolve-addresses",
        |mut store: wasmtime::StoreContextMut<'_, HostState>,
         (network, name): (
            wasmtime::component::Resource<wasmtime_wasi::p2::Network>,
            String,
        )| {
            let state = store.data_mut();
            if !state.grants.may_resolve(&name) {
                let reason = format!("name lookup of {name:?} refused: not a granted host");
                tracing::warn!(plugin = &*state.plugin, "{reason}");
                state.grants.refusals.record(reason);
                return Ok((Err(ErrorCode::AccessDenied),));
            }
            match state.sockets().resolve_addresses(network, name) {
                Ok(stream) => Ok((Ok(stream),)),
                Err(e) => match e.downcast() {
                    Ok(code) => Ok((Err(code),)),
                    Err(trap) => Err(trap),
                },
            }
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}
