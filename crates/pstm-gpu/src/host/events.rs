//! Completion by callbacks: wgpu reports finished submissions and mappings through closures
//! that run inside `Device::poll`; a poller thread polls whenever a callback is outstanding, so
//! they run as soon as the device finishes, and the host thread waits on one condition variable
//! for whatever it needs next (a free buffer set, a finished read-back, new work).
//!
//! Rule: nothing here is locked while wgpu is called. wgpu runs callbacks on the calling thread
//! inside `Queue::submit`, `Buffer::map_async` and `Device::poll`, and every callback takes the
//! lock below.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::GpuContext;

/// A completion the host waits for: a mapping or a finished submission.
pub type Token = u64;

/// The state the callbacks and the host share, with the engine's queue of work beside it so
/// that one condition variable wakes the host for either.
pub struct Events<W> {
    state: Mutex<EventState<W>>,
    changed: Condvar,
}

pub struct EventState<W> {
    /// Completions that have arrived and not yet been taken, by token.
    done: HashMap<Token, Result<(), String>>,
    next_token: Token,
    /// Callbacks registered and not yet run: the poller polls while this is non-zero.
    outstanding_callbacks: usize,
    /// Submissions not yet finished on the device.
    submissions_in_flight: usize,
    /// When the device last ran out of submitted work (`None` while it has some).
    idle_since: Option<Instant>,
    stop_poller: bool,
    /// A failed poll (a lost device), reported to the host.
    poll_error: Option<String>,
    /// Work queued by the engine and whether more will come.
    pub work: std::collections::VecDeque<W>,
    /// Pieces of work in the session: queued, being filled or being read back.
    pub in_session: usize,
    pub closed: bool,
    /// The job failed: drop what is queued and stop.
    pub abandoned: bool,
}

impl<W> Events<W> {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(EventState {
                done: HashMap::new(),
                next_token: 0,
                outstanding_callbacks: 0,
                submissions_in_flight: 0,
                idle_since: Some(Instant::now()),
                stop_poller: false,
                poll_error: None,
                work: Default::default(),
                in_session: 0,
                closed: false,
                abandoned: false,
            }),
            changed: Condvar::new(),
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, EventState<W>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wait for any change (a completion, new work, a close), with the lock held on return.
    pub fn wait<'a>(&self, guard: MutexGuard<'a, EventState<W>>) -> MutexGuard<'a, EventState<W>> {
        self.changed.wait(guard).unwrap_or_else(|e| e.into_inner())
    }

    pub fn notify(&self) {
        self.changed.notify_all();
    }

    /// A token for a callback about to be registered, counted as outstanding.
    pub fn expect(&self) -> Token {
        let mut s = self.lock();
        s.next_token += 1;
        s.outstanding_callbacks += 1;
        let token = s.next_token;
        drop(s);
        self.notify();
        token
    }

    fn complete(&self, token: Option<Token>, result: Result<(), String>) {
        let mut s = self.lock();
        s.outstanding_callbacks -= 1;
        if let Some(token) = token {
            s.done.insert(token, result);
        }
        drop(s);
        self.notify();
    }
}

impl<W: Send + 'static> Events<W> {
    /// Map `buffer` (after the submissions that use it) and report `token` when done.
    pub fn map(self: &Arc<Self>, buffer: &wgpu::Buffer, mode: wgpu::MapMode) -> Token {
        let token = self.expect();
        let events = self.clone();
        buffer.map_async(mode, .., move |r| events.complete(Some(token), r.map_err(|e| e.to_string())));
        token
    }

    /// Submit `commands`, counting the device busy until they finish; with `want_token`, a
    /// token that completes then (taken by the caller, or it would be kept forever).
    pub fn submit(
        self: &Arc<Self>,
        ctx: &GpuContext,
        commands: wgpu::CommandBuffer,
        want_token: bool,
    ) -> Option<Token> {
        {
            let mut s = self.lock();
            s.submissions_in_flight += 1;
            s.idle_since = None;
        }
        let token = self.expect();
        ctx.queue().submit([commands]);
        let events = self.clone();
        ctx.queue().on_submitted_work_done(move || {
            let mut s = events.lock();
            s.submissions_in_flight -= 1;
            if s.submissions_in_flight == 0 {
                s.idle_since = Some(Instant::now());
            }
            drop(s);
            events.complete(want_token.then_some(token), Ok(()));
        });
        want_token.then_some(token)
    }
}

impl<W> EventState<W> {
    /// The completion of `token`, if it has arrived (taken: a token completes once).
    pub fn take(&mut self, token: Token) -> Option<Result<(), String>> {
        self.done.remove(&token)
    }

    pub fn is_done(&self, token: Token) -> bool {
        self.done.contains_key(&token)
    }

    pub fn poll_error(&self) -> Option<&str> {
        self.poll_error.as_deref()
    }

    pub fn idle_since(&self) -> Option<Instant> {
        self.idle_since
    }

    pub fn outstanding_callbacks(&self) -> usize {
        self.outstanding_callbacks
    }
}

/// The thread that polls the device while callbacks are outstanding. Stopped and joined on drop.
pub struct Poller<W: Send + 'static> {
    events: Arc<Events<W>>,
    thread: Option<JoinHandle<()>>,
}

impl<W: Send + 'static> Poller<W> {
    pub fn start(ctx: Arc<GpuContext>, events: Arc<Events<W>>) -> Self {
        let shared = events.clone();
        let thread = std::thread::Builder::new()
            .name("pstm-gpu-poller".into())
            .spawn(move || {
                let mut stopping_since: Option<Instant> = None;
                loop {
                    {
                        let mut s = shared.lock();
                        while s.outstanding_callbacks == 0 && !s.stop_poller {
                            s = shared.wait(s);
                        }
                        if s.stop_poller {
                            // Finish what is outstanding, but never hang a dropped session on a
                            // callback that does not come.
                            let since = *stopping_since.get_or_insert_with(Instant::now);
                            if s.outstanding_callbacks == 0 || since.elapsed() > Duration::from_secs(30) {
                                return;
                            }
                        }
                    }
                    // Waits for the newest submission; the callbacks of everything finished by
                    // then run inside. No timeout: in wgpu-core 30 a timed-out wait racing
                    // another thread's maintenance (a second poller on the same device, or a
                    // submit) trips an assertion inside `maintain` (gfx-rs/wgpu#9958), and the
                    // panic drops the callbacks it had collected, so their waiters would hang.
                    let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        ctx.device().poll(wgpu::PollType::wait_indefinitely())
                    }));
                    let failure = match polled {
                        Ok(Ok(_)) => None,
                        Ok(Err(e)) => Some(e.to_string()),
                        Err(panic) => Some(format!("wgpu panicked while polling: {}", panic_message(&*panic))),
                    };
                    if let Some(failure) = failure {
                        let mut s = shared.lock();
                        s.poll_error = Some(failure);
                        s.stop_poller = true;
                        drop(s);
                        shared.notify();
                        return;
                    }
                }
            })
            .expect("spawn the GPU poller thread");
        Self { events, thread: Some(thread) }
    }
}

/// The text of a panic's payload (a `&str` or a `String`, as `panic!` makes them).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}

impl<W: Send + 'static> Drop for Poller<W> {
    fn drop(&mut self) {
        self.events.lock().stop_poller = true;
        self.events.notify();
        if let Some(thread) = self.thread.take() {
            // The poller returns once every outstanding callback has run (the device finishes
            // what was submitted) or polling failed.
            let _ = thread.join();
        }
    }
}
