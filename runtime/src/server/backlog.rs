//! Each notification subscriber's backlog: the rendered events on their way to one SSE or
//! WebSocket client, capped in bytes. A client that stops reading holds at most its cap
//! (counted until the bytes are written to its socket, hyper's buffer included), not every
//! tick since; past the cap its events are dropped, and once it reads again it is told how
//! many it missed in one `lagged` event.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Bytes;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use crate::stats::events::{Event, Hub, Rendered, Sent};

/// What a queued frame costs beyond its text (the queue's node, the `Bytes` and its owner),
/// counted so that a flood of small events is capped as honestly as a few large ones.
const FRAME_OVERHEAD: usize = 128;

/// How a subscriber reads events.
#[derive(Debug, Clone, Copy)]
pub(super) enum Form {
    /// Server-Sent Events: `event: KIND\ndata: JSON\n\n` frames.
    Sse,
    /// One JSON text per WebSocket message.
    Json,
}

impl Form {
    /// The part of a rendered event this form sends.
    fn range(self, rendered: &Rendered) -> Range<usize> {
        match self {
            Form::Sse => 0..rendered.text.len(),
            Form::Json => rendered.json.clone(),
        }
    }
}

/// One subscriber's frames, in order, with a `lagged` frame where it skipped; it ends when
/// glint stops.
pub(super) type Backlog = mpsc::UnboundedReceiver<Bytes>;

/// Event subscribers at once, SSE and WebSocket together: each may hold its byte cap
/// (`[server] subscriber_buffer_kb`, 256 KiB by default) while it does not read, so 256 of
/// them hold at most 64 MiB; a monitor has a few dashboards, not hundreds. One more is
/// answered 503.
pub(super) const MAX_SUBSCRIBERS: usize = 256;

/// Subscribes to the hub now (no event is missed between the request and the first read) and
/// forwards what `plugins` asks for, in `form`, on a task of its own until the backlog is
/// dropped. `cap`: the bytes it may hold for a client that does not read.
pub(super) fn subscribe(hub: &Hub, plugins: Vec<String>, form: Form, cap: usize) -> Backlog {
    let (tx, backlog) = mpsc::unbounded_channel();
    tokio::spawn(Forwarder::new(hub.subscribe(), plugins, form, cap, tx).run());
    backlog
}

/// Drains one subscriber's place in the broadcast as events come, so a client that does not
/// read pins no snapshot there, and queues each event while the subscriber has room for it.
struct Forwarder {
    rx: broadcast::Receiver<Arc<Sent>>,
    plugins: Vec<String>,
    form: Form,
    cap: usize,
    /// Bytes queued, or in hyper's buffer, not yet written to the socket: each frame gives
    /// its cost back when its last copy is dropped (a WebSocket message when it is copied
    /// into the WebSocket's own buffer, which holds one message at a time).
    held: Arc<AtomicUsize>,
    /// Events dropped since the last one queued: told in one `lagged` before the next.
    missed: u64,
    tx: mpsc::UnboundedSender<Bytes>,
}

impl Forwarder {
    fn new(
        rx: broadcast::Receiver<Arc<Sent>>,
        plugins: Vec<String>,
        form: Form,
        cap: usize,
        tx: mpsc::UnboundedSender<Bytes>,
    ) -> Forwarder {
        Forwarder {
            rx,
            plugins,
            form,
            cap,
            held: Arc::default(),
            missed: 0,
            tx,
        }
    }

    async fn run(mut self) {
        loop {
            let received = tokio::select! {
                biased;
                () = self.tx.closed() => return,
                received = self.rx.recv() => received,
            };
            let sent = match received {
                Ok(sent) => sent,
                // Only when this task was starved of CPU for many ticks.
                Err(RecvError::Lagged(missed)) => {
                    self.missed += missed;
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            if !self.offer(&sent) {
                return;
            }
        }
    }

    /// Queues `sent` if the subscriber has room for it, else counts it missed. An event
    /// always goes to an empty backlog, however large: a client that keeps up gets every
    /// event. False once the subscriber is gone.
    fn offer(&mut self, sent: &Sent) -> bool {
        if !sent.event.concerns(&self.plugins) {
            return true;
        }
        let held = self.held.load(Ordering::Relaxed);
        // Full already: skipped without rendering.
        if held > 0 && held >= self.cap {
            self.missed += 1;
            return true;
        }
        let Some(rendered) = sent.rendered(&self.plugins) else {
            return true;
        };
        let cost = self.form.range(&rendered).len() + FRAME_OVERHEAD;
        if held > 0 && held + cost > self.cap {
            self.missed += 1;
            return true;
        }
        if self.missed > 0 {
            let lagged = Event::Lagged {
                missed: self.missed,
            };
            self.missed = 0;
            if let Some(notice) = lagged.render(&[])
                && !self.queue(notice)
            {
                return false;
            }
        }
        self.queue(rendered)
    }

    /// Puts a frame in the backlog, counted as held until its bytes are dropped.
    fn queue(&self, rendered: Rendered) -> bool {
        let range = self.form.range(&rendered);
        let cost = range.len() + FRAME_OVERHEAD;
        self.held.fetch_add(cost, Ordering::Relaxed);
        let frame = Bytes::from_owner(Held {
            text: rendered.text,
            range,
            cost,
            held: Arc::clone(&self.held),
        });
        self.tx.send(frame).is_ok()
    }
}

/// The owner of one queued frame's bytes (a slice of a rendering that subscribers of the same
/// filter share): gives its cost back to the subscriber's count when hyper or the WebSocket
/// has written it (or the connection closed) and dropped the last copy.
struct Held {
    text: Arc<str>,
    range: Range<usize>,
    cost: usize,
    held: Arc<AtomicUsize>,
}

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        self.text
            .as_bytes()
            .get(self.range.clone())
            .unwrap_or_default()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.held.fetch_sub(self.cost, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value as Json, json};

    fn change(name: &str) -> Arc<Sent> {
        Arc::new(Sent::new(Event::Plugin {
            name: name.into(),
            kind: "input".into(),
            status: "restarted".into(),
            restarts: 1,
            errors: 1,
            reason: Some("trapped ".repeat(100)),
        }))
    }

    fn forwarder(plugins: &[&str], form: Form, cap: usize) -> (Forwarder, Backlog) {
        let (tx, backlog) = mpsc::unbounded_channel();
        let plugins = plugins.iter().map(|p| p.to_string()).collect();
        let forwarder = Forwarder::new(Hub::new().subscribe(), plugins, form, cap, tx);
        (forwarder, backlog)
    }

    fn json(frame: &Bytes) -> Json {
        serde_json::from_slice(frame).unwrap_or(Json::Null)
    }

    fn held(forwarder: &Forwarder) -> usize {
        forwarder.held.load(Ordering::Relaxed)
    }

    #[test]
    fn a_subscriber_that_does_not_read_holds_no_more_than_its_cap() {
        let cost = change("cpu")
            .rendered(&[])
            .map_or(0, |r| r.json.len() + FRAME_OVERHEAD);
        let (mut forwarder, mut backlog) = forwarder(&[], Form::Json, 3 * cost);
        for _ in 0..10 {
            assert!(forwarder.offer(&change("cpu")));
        }
        assert_eq!(held(&forwarder), 3 * cost);
        assert_eq!(forwarder.missed, 7);
        let mut queued = Vec::new();
        while let Ok(frame) = backlog.try_recv() {
            queued.push(frame);
        }
        assert_eq!(queued.len(), 3);
        // Taken is not written: hyper holding the frames still counts them.
        assert_eq!(held(&forwarder), 3 * cost);
        drop(queued);
        assert_eq!(held(&forwarder), 0);
        // Reading again: one `lagged` with the count, then the events.
        assert!(forwarder.offer(&change("cpu")));
        let lagged = backlog.try_recv().expect("a lagged notice");
        assert_eq!(json(&lagged), json!({"type": "lagged", "missed": 7}));
        let next = backlog.try_recv().expect("the next event");
        assert_eq!(json(&next)["type"], "plugin");
        assert!(backlog.try_recv().is_err());
    }

    #[test]
    fn an_event_over_the_cap_still_reaches_a_subscriber_that_keeps_up() {
        let (mut forwarder, mut backlog) = forwarder(&[], Form::Sse, 1);
        assert!(forwarder.offer(&change("cpu")));
        let first = backlog
            .try_recv()
            .expect("an empty backlog takes any event");
        assert!(first.starts_with(b"event: plugin\ndata: {"), "{first:?}");
        assert!(first.ends_with(b"}\n\n"), "{first:?}");
        // Not written yet: the next one is skipped.
        assert!(forwarder.offer(&change("cpu")));
        assert!(backlog.try_recv().is_err());
        drop(first);
        assert!(forwarder.offer(&change("cpu")));
        let lagged = backlog.try_recv().expect("a lagged notice");
        assert!(lagged.starts_with(b"event: lagged\ndata: {"), "{lagged:?}");
        assert!(backlog.try_recv().is_ok());
    }

    #[test]
    fn skipped_events_count_only_what_the_subscriber_asked_for() {
        let (mut forwarder, backlog) = forwarder(&["cpu"], Form::Json, 1);
        assert!(forwarder.offer(&change("cpu")));
        assert!(forwarder.offer(&change("mem")));
        assert!(forwarder.offer(&change("cpu")));
        assert_eq!(forwarder.missed, 1);
        // The client gone: the forwarder ends.
        drop(backlog);
        assert!(!forwarder.offer(&change("cpu")));
    }

    #[test]
    fn subscribers_of_one_filter_hold_the_same_bytes() {
        let sent = change("cpu");
        let (mut one, mut one_backlog) = forwarder(&["cpu"], Form::Json, 1 << 20);
        let (mut two, mut two_backlog) = forwarder(&["cpu"], Form::Json, 1 << 20);
        assert!(one.offer(&sent) && two.offer(&sent));
        let a = one_backlog.try_recv().expect("queued");
        let b = two_backlog.try_recv().expect("queued");
        assert_eq!(a.as_ptr(), b.as_ptr(), "rendered twice");
        assert_eq!(json(&a)["plugin"], "cpu");
    }
}
