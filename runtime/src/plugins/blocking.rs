//! Owns the deadline of the host's blocking wasi:io waits. A guest blocked in `poll`,
//! `pollable.block` or a stream's blocking read, write, flush, skip or splice (a socket whose
//! peer never answers, a sleep of an hour) is inside host code, where epoch interruption never
//! fires: these waits end at the call's deadline with the interrupt a looping guest gets.
//!
//! wasmtime-wasi's own sync bindings run each wait to its end on its tokio runtime
//! (`in_tokio`); these are the same functions over the same resource table, linked over them,
//! with every wait bounded by `HostState::call_deadline`.

use std::time::Instant;

use wasmtime::Trap;
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::WasiView as _;
use wasmtime_wasi::p2::bindings::io::{poll as async_poll, streams as async_streams};
use wasmtime_wasi::p2::bindings::sync::io::{poll, streams};
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, DynPollable, StreamError, StreamResult};
use wasmtime_wasi::runtime::in_tokio;

use crate::plugins::host::HostState;

/// A store's wasi:io resources, with the deadline of the call in progress.
pub struct DeadlineIo<'a> {
    table: &'a mut ResourceTable,
    /// None: no call was armed (never so for a store made by `load::new_store`).
    deadline: Option<Instant>,
}

/// The `HasData` that hands the linked functions a [`DeadlineIo`].
struct WithDeadline;

impl HasData for WithDeadline {
    type Data<'a> = DeadlineIo<'a>;
}

fn deadline_io(state: &mut HostState) -> DeadlineIo<'_> {
    let deadline = state.call_deadline;
    DeadlineIo {
        table: state.ctx().table,
        deadline,
    }
}

/// Links wasi:io/poll and wasi:io/streams over those `wasmtime_wasi::p2::add_to_linker_sync`
/// added (which must come first): the same functions, their waits bounded by the deadline.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let linked = poll::add_to_linker::<HostState, WithDeadline>(linker, deadline_io)
        .and_then(|()| streams::add_to_linker::<HostState, WithDeadline>(linker, deadline_io));
    linker.allow_shadowing(false);
    linked
}

/// Runs `wait` as wasmtime-wasi's sync bindings do, but only until `deadline`; past it the
/// call fails with `Trap::Interrupt`, as at an epoch deadline (`load::explain_trap` says
/// "exceeded its deadline"), and the instance is replaced. A wait that is ready at once
/// still completes: the timer is checked only when the wait is pending.
fn bounded<R>(
    deadline: Option<Instant>,
    wait: impl Future<Output = R>,
) -> Result<R, wasmtime::Error> {
    let Some(deadline) = deadline else {
        return Ok(in_tokio(wait));
    };
    in_tokio(async move { tokio::time::timeout_at(deadline.into(), wait).await })
        .map_err(|_elapsed| wasmtime::Error::from(Trap::Interrupt))
}

/// [`bounded`] for a stream operation: the interrupt is a stream error that traps.
fn bounded_stream<R>(
    deadline: Option<Instant>,
    wait: impl Future<Output = StreamResult<R>>,
) -> StreamResult<R> {
    bounded(deadline, wait).map_err(StreamError::Trap)?
}

impl poll::Host for DeadlineIo<'_> {
    fn poll(&mut self, pollables: Vec<Resource<DynPollable>>) -> wasmtime::Result<Vec<u32>> {
        let deadline = self.deadline;
        bounded(
            deadline,
            async_poll::Host::poll(&mut *self.table, pollables),
        )?
    }
}

impl poll::HostPollable for DeadlineIo<'_> {
    fn ready(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<bool> {
        poll::HostPollable::ready(&mut *self.table, pollable)
    }

    fn block(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        let deadline = self.deadline;
        bounded(
            deadline,
            async_poll::HostPollable::block(&mut *self.table, pollable),
        )?
    }

    fn drop(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        poll::HostPollable::drop(&mut *self.table, pollable)
    }
}

impl streams::Host for DeadlineIo<'_> {
    fn convert_stream_error(&mut self, err: StreamError) -> wasmtime::Result<streams::StreamError> {
        streams::Host::convert_stream_error(&mut *self.table, err)
    }
}

impl streams::HostInputStream for DeadlineIo<'_> {
    fn drop(&mut self, stream: Resource<DynInputStream>) -> wasmtime::Result<()> {
        let deadline = self.deadline;
        bounded(
            deadline,
            async_streams::HostInputStream::drop(&mut *self.table, stream),
        )?
    }

    fn read(&mut self, stream: Resource<DynInputStream>, len: u64) -> StreamResult<Vec<u8>> {
        streams::HostInputStream::read(&mut *self.table, stream, len)
    }

    fn blocking_read(
        &mut self,
        stream: Resource<DynInputStream>,
        len: u64,
    ) -> StreamResult<Vec<u8>> {
        let deadline = self.deadline;
        bounded_stream(
            deadline,
            async_streams::HostInputStream::blocking_read(&mut *self.table, stream, len),
        )
    }

    fn skip(&mut self, stream: Resource<DynInputStream>, len: u64) -> StreamResult<u64> {
        streams::HostInputStream::skip(&mut *self.table, stream, len)
    }

    fn blocking_skip(&mut self, stream: Resource<DynInputStream>, len: u64) -> StreamResult<u64> {
        let deadline = self.deadline;
        bounded_stream(
            deadline,
            async_streams::HostInputStream::blocking_skip(&mut *self.table, stream, len),
        )
    }

    fn subscribe(
        &mut self,
        stream: Resource<DynInputStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        streams::HostInputStream::subscribe(&mut *self.table, stream)
    }
}

impl streams::HostOutputStream for DeadlineIo<'_> {
    fn drop(&mut self, stream: Resource<DynOutputStream>) -> wasmtime::Result<()> {
        let deadline = self.deadline;
        bounded(
            deadline,
            async_streams::HostOutputStream::drop(&mut *self.table, stream),
        )?
    }

    fn check_write(&mut self, stream: Resource<DynOutputStream>) -> StreamResult<u64> {
        streams::HostOutputStream::check_write(&mut *self.table, stream)
    }

    fn write(&mut self, stream: Resource<DynOutputStream>, bytes: Vec<u8>) -> StreamResult<()> {
        streams::HostOutputStream::write(&mut *self.table, stream, bytes)
    }

    fn blocking_write_and_flush(
        &mut self,
        stream: Resource<DynOutputStream>,
        bytes: Vec<u8>,
    ) -> StreamResult<()> {
        let deadline = self.deadline;
        bounded_stream(
            deadline,
            async_streams::HostOutputStream::blocking_write_and_flush(
                &mut *self.table,
                stream,
                bytes,
            ),
        )
    }

    fn blocking_write_zeroes_and_flush(
        &mut self,
        stream: Resource<DynOutputStream>,
        len: u64,
    ) -> StreamResult<()> {
        let deadline = self.deadline;
        bounded_stream(
            deadline,
            async_streams::HostOutputStream::blocking_write_zeroes_and_flush(
                &mut *self.table,
                stream,
                len,
            ),
        )
    }

    fn subscribe(
        &mut self,
        stream: Resource<DynOutputStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        streams::HostOutputStream::subscribe(&mut *self.table, stream)
    }

    fn write_zeroes(&mut self, stream: Resource<DynOutputStream>, len: u64) -> StreamResult<()> {
        streams::HostOutputStream::write_zeroes(&mut *self.table, stream, len)
    }

    fn flush(&mut self, stream: Resource<DynOutputStream>) -> StreamResult<()> {
        streams::HostOutputStream::flush(&mut *self.table, stream)
    }

    fn blocking_flush(&mut self, stream: Resource<DynOutputStream>) -> StreamResult<()> {
        let deadline = self.deadline;
        bounded_stream(
            deadline,
            async_streams::HostOutputStream::blocking_flush(&mut *self.table, stream),
        )
    }

    fn splice(
        &mut self,
        dst: Resource<DynOutputStream>,
        src: Resource<DynInputStream>,
        len: u64,
    ) -> StreamResult<u64> {
        streams::HostOutputStream::splice(&mut *self.table, dst, src, len)
    }

    fn blocking_splice(
        &mut self,
        dst: Resource<DynOutputStream>,
        src: Resource<DynInputStream>,
        len: u64,
    ) -> StreamResult<u64> {
        let deadline = self.deadline;
        bounded_stream(
            deadline,
            async_streams::HostOutputStream::blocking_splice(&mut *self.table, dst, src, len),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::net::TcpListener;
    use std::path::Path;
    use std::sync::{Arc, mpsc};
    use std::time::Duration;

    use crate::bindings::Tick;
    use crate::plugins::engine::{GlintEngine, digest};
    use crate::plugins::error::PluginError;
    use crate::plugins::host::StatsView;
    use crate::plugins::load::{Instance, PluginFile, load};
    use crate::plugins::readings::TickReadings;
    use crate::settings::config::Config;
    use crate::settings::manifest::Manifest;
    use crate::stats::snapshot::PluginSource;

    /// Past this the call is taken to be blocked for good: 20 times its 500 ms deadline, so a
    /// loaded machine cannot fail the test, and a regression fails it instead of hanging.
    const GIVE_UP: Duration = Duration::from_secs(10);

    /// A listener that accepts every connection and holds it, never writing or reading: a read
    /// from it waits for good, and writes to it block once the socket buffers are full.
    fn silent_listener() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address").to_string();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                held.push(stream);
            }
        });
        addr
    }

    /// One update of test-stall in mode `stall` (against `target`): how it ended, and when.
    fn stalled_update(stall: &str, target: &str) -> (Result<(), PluginError>, Duration) {
        let path = Path::new(crate::embedded::GUEST_DIR).join("glint_test_stall.wasm");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let reason = "reason = \"the blocking-wait test\"";
        let manifest = Manifest::parse(
            "test-stall.toml",
            &format!(
                "kind = \"input\"\nversion = \"1\"\n[capabilities]\nnetwork = [{{ destination = \"{target}\", {reason} }}]\n"
            ),
        )
        .expect("manifest");
        let config = Config::from_toml(
            "test.toml",
            &format!(
                "[plugins.test-stall]\nstall = \"{stall}\"\ntarget = \"{target}\"\n[plugins.test-stall.grant]\nnetwork = [\"{target}\"]\n"
            ),
        )
        .expect("config");
        let file = PluginFile {
            label: "test-stall".into(),
            sha256: digest(&bytes),
            bytes: Cow::Owned(bytes),
            source: PluginSource::File(path),
            manifest: Some(manifest),
        };
        let engine = Arc::new(GlintEngine::new(None).expect("engine"));
        let readings = Arc::new(TickReadings::new(
            Arc::new(host_collectors::Source::live()),
            Arc::from(Vec::new()),
        ));
        let mut plugin = load(&engine, &file, &config, readings).expect("test-stall loads");
        let store = Arc::new(crate::stats::store::Store::new(1, Default::default()));
        let stats = StatsView {
            snapshot: store.snapshot(),
            store,
        };
        let tick = Tick {
            seq: 1,
            unix_nanos: 0,
            monotonic_nanos: 0,
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let result = plugin.call(&engine, None, stats, |instance, store| match instance {
                Instance::Input(i) => i.call_update(store, tick),
                _ => Ok(Err("test-stall is an input plugin".into())),
            });
            let _ = tx.send((result.map(|_| ()), started.elapsed()));
        });
        rx.recv_timeout(GIVE_UP).unwrap_or_else(|_| {
            panic!("test-stall ({stall}) still blocked after {GIVE_UP:?}: its deadline never came")
        })
    }

    fn assert_interrupted(stall: &str, target: &str) {
        let (result, took) = stalled_update(stall, target);
        match result {
            Err(PluginError::Trapped { reason, .. }) => {
                assert!(reason.contains("deadline"), "{stall}: {reason}");
            }
            other => panic!("{stall}: expected the deadline's interrupt, got {other:?}"),
        }
        // Its deadline is the default 500 ms; the rest is slack for a loaded machine.
        assert!(
            took < Duration::from_secs(5),
            "{stall}: ended after {took:?}"
        );
    }

    #[test]
    fn a_guest_blocked_reading_a_silent_socket_is_interrupted_at_its_deadline() {
        assert_interrupted("read", &silent_listener());
    }

    #[test]
    fn a_guest_blocked_writing_to_a_socket_nobody_reads_is_interrupted_at_its_deadline() {
        assert_interrupted("write", &silent_listener());
    }

    #[test]
    fn a_guest_asleep_in_the_host_is_interrupted_at_its_deadline() {
        assert_interrupted("sleep", &silent_listener());
    }
}
