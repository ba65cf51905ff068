//! A Phase 1 kernel behind the engine's per-job session: one host thread (lent by the engine, calling
//! [`KernelSession::next_finished`]) drives the [`Pipeline`]: it returns read-back tiles as soon
//! as they arrive, fills the next block of the current tile while the device migrates the
//! previous one, and opens the next tile while the last one is read back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pstm_kernel::{FinishedTile, JobSetup, KernelError, KernelSession, TileImage, TileWork};
use pstm_math::velocity::VelocityCube;

use super::DeviceKernel;
use super::events::Events;
use super::pipeline::Pipeline;
use super::resources::{Statics, VelocityInput};
use crate::layout::{columns_v1, local_origin};

/// Pieces of work in the session at once: one queued, one being filled, two being read back.
const CAPACITY: usize = 4;

pub struct Session<'a, K: DeviceKernel> {
    kernel: &'a K,
    setup: JobSetup<'a>,
    /// The pipeline's events, which also hold the queue of submitted work.
    events: Arc<Events<TileWork>>,
    driver: Mutex<Driver<'a, K>>,
}

/// What the host thread owns.
struct Driver<'a, K: DeviceKernel> {
    pipeline: Pipeline<'a, K, TileWork>,
    /// The tile being filled: its work, its set, its local origin, the traces added so far.
    current: Option<Current>,
    /// Tiles submitted, by id: the work (traces dropped) and the time spent filling it.
    in_flight: HashMap<u64, (TileWork, f64)>,
    next_id: u64,
}

struct Current {
    id: u64,
    work: TileWork,
    slot: usize,
    origin: [f64; 2],
    added: usize,
    read_s: f64,
}

impl<'a, K: DeviceKernel> Session<'a, K> {
    pub fn new(kernel: &'a K, setup: JobSetup<'a>) -> Result<Self, KernelError> {
        let grid = setup.grid;
        let layout = setup.traces.layout();
        pstm_kernel::check_medium(kernel.name(), setup.operator, setup.velocity.eta().is_some())?;
        let statics = Statics::new(kernel, VelocityInput::Model(setup.velocity), &grid.time, &layout, setup.operator)
            .map_err(|e| e.into_kernel_error(kernel.name()))?;
        *kernel.velocity_path().lock().unwrap_or_else(|e| e.into_inner()) = statics.description.clone();
        let job = kernel.prepare_job(&statics)?;
        let block_traces = kernel.block_traces(setup.block_traces, layout.n_samples);
        let tile_columns = setup.max_tile_columns.max(1);
        let pipeline = Pipeline::new(kernel, statics, job, grid.time.nt, layout.n_samples, tile_columns, block_traces)?;
        Ok(Self {
            kernel,
            setup,
            events: pipeline.events.clone(),
            driver: Mutex::new(Driver { pipeline, current: None, in_flight: HashMap::new(), next_id: 0 }),
        })
    }

    fn cube(&self) -> Option<&VelocityCube> {
        self.setup.velocity.cube()
    }

    fn closed_error(&self) -> KernelError {
        self.kernel.input_error("work submitted to a closed session".to_string())
    }

    /// Open `work` in a free tile set.
    fn open(&self, d: &mut Driver<'a, K>, work: TileWork) -> Result<(), KernelError> {
        let columns = self.setup.grid.tile_columns(&work.tile);
        let origin = local_origin(&columns);
        let id = d.next_id;
        d.next_id += 1;
        // VTI with an eta cube (no `law` shared by the job's tiles): the tile's own eta.
        let law = d.pipeline.statics().law.is_none().then(|| {
            let time = &self.setup.grid.time;
            let times: Vec<f64> = (0..time.nt).map(|i| time.time(i)).collect();
            crate::layout::leg_laws(self.setup.operator, &times, &self.setup.velocity.sample_eta(&columns, time))
        });
        let slot = d.pipeline.open_tile(
            id,
            &columns_v1(&columns, origin, self.cube()),
            work.active.as_deref(),
            law.as_deref(),
        )?;
        d.current = Some(Current { id, work, slot, origin, added: 0, read_s: 0.0 });
        Ok(())
    }

    /// Add the next block of the current tile, or close it when every trace is in.
    fn advance(&self, d: &mut Driver<'a, K>) -> Result<(), KernelError> {
        let cur = d.current.as_mut().expect("a current tile");
        if cur.added == cur.work.traces.len() {
            let cur = d.current.take().expect("checked above");
            d.pipeline.close_tile(cur.slot)?;
            let mut work = cur.work;
            work.traces = Vec::new();
            d.in_flight.insert(cur.id, (work, cur.read_s));
            return Ok(());
        }
        let end = (cur.added + d.pipeline.block_traces()).min(cur.work.traces.len());
        let ids = &cur.work.traces[cur.added..end];
        let (store, pool, origin) = (self.setup.traces, self.setup.pool, cur.origin);
        let fill_s = d.pipeline.add_block(cur.slot, ids.len(), |samples, geometry| {
            for (g, &id) in geometry.iter_mut().zip(ids) {
                *g = crate::layout::trace_geometry(&store.geometry(id), origin);
            }
            pool.install(|| store.fill(ids, samples))
        })?;
        cur.read_s += fill_s;
        cur.added = end;
        Ok(())
    }

    fn finished(&self, d: &mut Driver<'a, K>, id: u64, image: TileImage, device_s: f64) -> FinishedTile {
        let (work, read_s) = d.in_flight.remove(&id).expect("a tile read back was submitted");
        self.leave(1);
        FinishedTile { tile_index: work.tile_index, tile: work.tile, bin: work.bin, image, read_s, kernel_s: device_s }
    }

    /// `n` pieces left the session: room for the engine to submit more.
    fn leave(&self, n: usize) {
        self.events.lock().in_session -= n;
        self.events.notify();
    }
}

impl<K: DeviceKernel> KernelSession for Session<'_, K> {
    fn capacity(&self) -> usize {
        CAPACITY
    }

    fn worker_threads(&self) -> usize {
        1
    }

    fn submit(&self, work: TileWork) -> Result<(), KernelError> {
        let events = &self.events;
        let mut s = events.lock();
        loop {
            if s.closed {
                return Err(self.closed_error());
            }
            if s.in_session < CAPACITY {
                s.in_session += 1;
                s.work.push_back(work);
                drop(s);
                events.notify();
                return Ok(());
            }
            s = events.wait(s);
        }
    }

    fn close(&self, abandon: bool) {
        let events = &self.events;
        let mut s = events.lock();
        s.closed = true;
        if abandon {
            s.abandoned = true;
            let dropped = s.work.len();
            s.work.clear();
            s.in_session -= dropped;
        }
        drop(s);
        events.notify();
    }

    fn next_finished(&self) -> Result<Option<FinishedTile>, KernelError> {
        let mut guard = self.driver.lock().unwrap_or_else(|e| e.into_inner());
        let d = &mut *guard;
        let events = &self.events;
        loop {
            if events.lock().abandoned {
                return Ok(None);
            }
            if let Some(read) = d.pipeline.take_finished(false)? {
                return Ok(Some(self.finished(d, read.id, read.image, read.device_s)));
            }
            if d.current.is_some() {
                self.advance(d)?;
                continue;
            }
            // No tile open: take the next piece if a tile set is free, else wait for a read-back.
            let next = {
                let mut s = events.lock();
                loop {
                    if s.abandoned {
                        return Ok(None);
                    }
                    if d.pipeline.read_ready(&s) {
                        break None;
                    }
                    if d.pipeline.has_free_tile()
                        && let Some(work) = s.work.pop_front()
                    {
                        break Some(work);
                    }
                    if s.closed && s.work.is_empty() && !d.pipeline.is_reading() {
                        return Ok(None);
                    }
                    if let Some(e) = s.poll_error() {
                        return Err(self.kernel.device_error("polling the device", e));
                    }
                    s = events.wait(s);
                }
            };
            let Some(work) = next else { continue };
            if work.traces.is_empty() {
                // No trace reaches this tile: nothing to migrate, and the device never runs.
                let n = work.tile.n_columns() * self.setup.grid.time.nt;
                self.leave(1);
                return Ok(Some(FinishedTile {
                    tile_index: work.tile_index,
                    tile: work.tile,
                    bin: work.bin,
                    image: TileImage { image: vec![0.0; n], fold: vec![0; n] },
                    read_s: 0.0,
                    kernel_s: 0.0,
                }));
            }
            self.open(d, work)?;
        }
    }
}

impl<K: DeviceKernel> Drop for Session<'_, K> {
    fn drop(&mut self) {
        let driver = self.driver.get_mut().unwrap_or_else(|e| e.into_inner());
        self.kernel.add_stats(&driver.pipeline.stats);
    }
}
