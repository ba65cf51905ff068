//! Test hooks, built only with the `fault-injection` feature (the test suite turns it on; a
//! release build ignores the variable): `PSTM_FAULT` makes a migration fail as a device or a
//! disk does, at a chosen tile, so that tests can check what a user then sees.
//!
//! - `oom@N`: the kernel reports the device out of memory the first time tile `N` finishes.
//! - `device_lost@N`: the device that finishes tile `N` is lost: that result and everything the
//!   kernel does on it afterwards fails (on several devices, the others stay well).
//! - `write@N`: writing the `N`-th tile's stack (counting from 0, in the order tiles are written)
//!   fails with the operating system's "no space left on device".
//!
//! Only the job's own kernel in the migration proper is affected: not the planning passes, not a
//! fallback kernel.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use pstm_kernel::{
    CostModel, FinishedTile, JobSetup, KernelError, KernelSession, KernelTimings, MigrationKernel, TileMigration,
    TileTask, TileWork,
};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    OutOfMemory(usize),
    DeviceLost(usize),
    Write(usize),
}

fn fault() -> Option<Fault> {
    static FAULT: OnceLock<Option<Fault>> = OnceLock::new();
    *FAULT.get_or_init(|| {
        let spec = std::env::var("PSTM_FAULT").ok()?;
        let (kind, at) = spec.split_once('@')?;
        let at: usize = at.parse().ok()?;
        match kind {
            "oom" => Some(Fault::OutOfMemory(at)),
            "device_lost" => Some(Fault::DeviceLost(at)),
            "write" => Some(Fault::Write(at)),
            _ => panic!("PSTM_FAULT={spec}: not oom@N, device_lost@N or write@N"),
        }
    })
}

/// Called before a tile's stack is written: the injected write error, if this is its tile.
pub(crate) fn write_error(path: &std::path::Path) -> Option<pstm_io::IoError> {
    static WRITTEN: AtomicUsize = AtomicUsize::new(0);
    let Some(Fault::Write(at)) = fault() else { return None };
    (WRITTEN.fetch_add(1, Ordering::SeqCst) == at)
        .then(|| pstm_io::IoError::fs(path, std::io::Error::from_raw_os_error(28)))
}

/// A kernel that fails as `PSTM_FAULT` says, and otherwise is `inner`.
/// A run on several devices wraps each; they share `fired`, so that the fault strikes once,
/// on the device that finishes tile `N` first, and the others stay well.
pub(crate) struct FaultyKernel<'a> {
    inner: &'a dyn MigrationKernel,
    fault: Option<Fault>,
    fired: &'a AtomicBool,
    lost: AtomicBool,
}

impl<'a> FaultyKernel<'a> {
    pub(crate) fn wrap(inner: &'a dyn MigrationKernel, armed: bool, fired: &'a AtomicBool) -> Self {
        let fault = fault().filter(|f| armed && !matches!(f, Fault::Write(_)));
        Self { inner, fault, fired, lost: AtomicBool::new(false) }
    }

    fn lost_error(&self) -> KernelError {
        KernelError::DeviceLost { kernel: self.inner.name().into(), message: "injected by PSTM_FAULT".into() }
    }

    /// The error tile `index` finishing with should cause, if any.
    fn on_finished(&self, index: usize) -> Option<KernelError> {
        if self.lost.load(Ordering::SeqCst) {
            return Some(self.lost_error());
        }
        match self.fault? {
            Fault::OutOfMemory(at) if at == index && !self.fired.swap(true, Ordering::SeqCst) => {
                Some(KernelError::OutOfMemory {
                    kernel: self.inner.name().into(),
                    message: "injected by PSTM_FAULT".into(),
                })
            }
            Fault::DeviceLost(at) if at == index && !self.fired.swap(true, Ordering::SeqCst) => {
                self.lost.store(true, Ordering::SeqCst);
                Some(self.lost_error())
            }
            _ => None,
        }
    }
}

impl MigrationKernel for FaultyKernel<'_> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn device(&self) -> String {
        self.inner.device()
    }

    fn begin_tile<'b>(&'b self, task: TileTask<'b>) -> Result<Box<dyn TileMigration + 'b>, KernelError> {
        self.inner.begin_tile(task)
    }

    fn open_session<'b>(&'b self, setup: JobSetup<'b>) -> Result<Box<dyn KernelSession + 'b>, KernelError> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(self.lost_error());
        }
        Ok(Box::new(FaultySession { kernel: self, inner: self.inner.open_session(setup)? }))
    }

    fn cost_model(&self) -> CostModel {
        self.inner.cost_model()
    }

    fn concurrent_tiles(&self) -> usize {
        self.inner.concurrent_tiles()
    }

    fn bytes_per_output_sample(&self) -> usize {
        self.inner.bytes_per_output_sample()
    }

    fn max_block_traces(&self, n_samples: usize) -> usize {
        self.inner.max_block_traces(n_samples)
    }

    fn max_tile_samples(&self) -> usize {
        self.inner.max_tile_samples()
    }

    fn skips_inactive_cells(&self) -> bool {
        self.inner.skips_inactive_cells()
    }

    fn take_timings(&self) -> KernelTimings {
        self.inner.take_timings()
    }
}

struct FaultySession<'a> {
    kernel: &'a FaultyKernel<'a>,
    inner: Box<dyn KernelSession + 'a>,
}

impl KernelSession for FaultySession<'_> {
    fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    fn worker_threads(&self) -> usize {
        self.inner.worker_threads()
    }

    fn submit(&self, work: TileWork) -> Result<(), KernelError> {
        self.inner.submit(work)
    }

    fn close(&self, abandon: bool) {
        self.inner.close(abandon)
    }

    fn next_finished(&self) -> Result<Option<FinishedTile>, KernelError> {
        let finished = self.inner.next_finished()?;
        match finished.as_ref().and_then(|t| self.kernel.on_finished(t.tile_index)) {
            Some(e) => Err(e),
            None => Ok(finished),
        }
    }
}
