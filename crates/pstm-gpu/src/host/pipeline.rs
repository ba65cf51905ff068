//! The Phase 1 pipeline: two tile sets and two block sets cycled through the device, so that
//! the host fills block k+1 (and opens tile N+1) while the device migrates block k (and tile N
//! is read back). Completions arrive through [`super::events`]; the host waits only when the
//! set it needs is still in use.
//!
//! Per block: the host writes samples and geometry straight into the set's mapped staging
//! buffer (or, by switch, a host vector handed to `Queue::write_buffer`, or the device buffer
//! itself where the device maps storage), then one submission copies them to the device,
//! poisons the tile's image and fold if it is the tile's first block, and dispatches; the
//! staging buffer is mapped again behind that submission. Per tile: one submission resolves
//! the timestamps and copies image, fold and timestamps into the set's read-back buffer, which
//! is mapped behind it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use pstm_kernel::{KernelError, TileImage};
use pstm_math::adaptive::TileCells;

use super::events::{EventState, Events, Poller, Token};
use super::resources::{BlockSet, Statics, TIMED_BLOCKS, TileSet};
use super::{DeviceKernel, PipelineStats, TileDispatch, UploadPath};
use crate::layout::ColumnV1;

/// Extra room when a set must grow beyond what the job announced (the roadmap's headroom).
const HEADROOM: f64 = 1.2;

/// A tile in a set: its id, columns, blocks submitted and when the first was.
#[derive(Clone, Copy)]
struct OpenTile {
    id: u64,
    n_columns: usize,
    /// (all, active) work items, for a kernel that has them.
    items: Option<(u32, u32)>,
    blocks: u32,
    first_submit: Option<Instant>,
}

enum TileState {
    Free,
    /// Blocks are being added.
    Open(OpenTile),
    /// The read-back is in flight; `token` completes when it is mapped.
    Reading(OpenTile, Token),
}

struct TileSlot {
    set: TileSet,
    state: TileState,
    /// Bumped whenever `set` is replaced, so cached bind groups of the old set are not reused.
    generation: u64,
}

struct BlockSlot {
    set: BlockSet,
    generation: u64,
}

/// A tile read back: its id, image and fold, and its time on the device (s).
pub struct ReadTile {
    pub id: u64,
    pub image: TileImage,
    pub device_s: f64,
}

pub struct Pipeline<'k, K: DeviceKernel, W: Send + 'static> {
    kernel: &'k K,
    statics: Statics,
    job: K::Job,
    pub events: Arc<Events<W>>,
    nt: usize,
    n_samples: usize,
    block_traces: usize,
    tiles: Vec<TileSlot>,
    blocks: Vec<BlockSlot>,
    bind_groups: HashMap<(usize, u64, usize, u64), wgpu::BindGroup>,
    poison: wgpu::Buffer,
    generation: u64,
    next_block: usize,
    pub stats: PipelineStats,
    /// Declared last, so dropped (stopped and joined) after the buffers above.
    _poller: Poller<W>,
}

impl<'k, K: DeviceKernel, W: Send + 'static> Pipeline<'k, K, W> {
    /// Two tile sets of `tile_columns` columns and two block sets of `block_traces` traces.
    pub fn new(
        kernel: &'k K,
        statics: Statics,
        job: K::Job,
        nt: usize,
        n_samples: usize,
        tile_columns: usize,
        block_traces: usize,
    ) -> Result<Self, KernelError> {
        let ctx = kernel.context();
        let events = Events::new();
        let poller = Poller::start(ctx.clone(), events.clone());
        let mut stats = PipelineStats::default();
        let started = Instant::now();
        let (tiles, blocks, poison) = ctx
            .scoped(&format!("{}: creating the buffer sets", kernel.name()), || {
                let tiles = (0..2)
                    .map(|_| TileSlot {
                        set: TileSet::new(
                            ctx,
                            tile_columns,
                            nt,
                            kernel.tile_params_bytes(),
                            kernel.tile_items_bytes(tile_columns, nt),
                            statics.law.is_none(),
                        ),
                        state: TileState::Free,
                        generation: 0,
                    })
                    .collect::<Vec<_>>();
                let blocks = (0..2)
                    .map(|_| BlockSlot { set: kernel.block_set(block_traces, n_samples), generation: 0 })
                    .collect::<Vec<_>>();
                Ok((tiles, blocks, poison_buffer(ctx, tile_columns * nt)))
            })
            .map_err(|e| e.into_kernel_error(kernel.name()))?;
        stats.pool_create_s += started.elapsed().as_secs_f64();
        stats.jobs += 1;
        stats.sets_created += 4;
        Ok(Self {
            kernel,
            statics,
            job,
            events,
            nt,
            n_samples,
            block_traces,
            tiles,
            blocks,
            bind_groups: HashMap::new(),
            poison,
            generation: 0,
            next_block: 0,
            stats,
            _poller: poller,
        })
    }

    pub fn block_traces(&self) -> usize {
        self.block_traces
    }

    pub fn statics(&self) -> &Statics {
        &self.statics
    }

    pub fn job(&self) -> &K::Job {
        &self.job
    }

    fn check(&self, s: &EventState<W>) -> Result<(), KernelError> {
        match s.poll_error() {
            Some(e) => Err(self.kernel.device_error("polling the device", e)),
            None => Ok(()),
        }
    }

    /// Whether a tile set is free for [`Pipeline::open_tile`].
    pub fn has_free_tile(&self) -> bool {
        self.tiles.iter().any(|t| matches!(t.state, TileState::Free))
    }

    /// Whether a tile is being read back.
    pub fn is_reading(&self) -> bool {
        self.tiles.iter().any(|t| matches!(t.state, TileState::Reading(..)))
    }

    /// Whether a read-back has completed (so [`Pipeline::take_finished`] returns without waiting).
    pub fn read_ready(&self, s: &EventState<W>) -> bool {
        self.tiles.iter().any(|t| matches!(t.state, TileState::Reading(_, token) if s.is_done(token)))
    }

    /// Open tile `id` of `columns` in a free tile set (the caller checked there is one), with an
    /// adaptive run's cells and, where the job has no shared one ([`Statics::law`]), the tile's
    /// `law` entries.
    pub fn open_tile(
        &mut self,
        id: u64,
        columns: &[ColumnV1],
        active: Option<&TileCells>,
        law: Option<&[[f32; 2]]>,
    ) -> Result<usize, KernelError> {
        let ctx = self.kernel.context();
        let started = Instant::now();
        let slot = self.tiles.iter().position(|t| matches!(t.state, TileState::Free)).expect("a free tile set");
        let needed = columns.len();
        let pooled = self.kernel.host_options().buffer_pool;
        if !pooled || self.tiles[slot].set.capacity_columns < needed {
            let columns = if pooled { (needed as f64 * HEADROOM).ceil() as usize } else { needed };
            let (name, bytes) = (self.kernel.name(), self.kernel.tile_params_bytes());
            let items_bytes = self.kernel.tile_items_bytes(columns, self.nt);
            let law_per_tile = self.statics.law.is_none();
            let set = ctx
                .scoped(&format!("{name}: creating a tile set"), || {
                    Ok(TileSet::new(ctx, columns, self.nt, bytes, items_bytes, law_per_tile))
                })
                .map_err(|e| e.into_kernel_error(name))?;
            if self.poison.size() < (set.capacity_samples * 4) as u64 {
                self.poison = poison_buffer(ctx, set.capacity_samples);
            }
            self.generation += 1;
            self.tiles[slot] = TileSlot { set, state: TileState::Free, generation: self.generation };
            self.stats.sets_created += 1;
            self.stats.pool_grew += pooled as u64;
        }
        let set = &self.tiles[slot].set;
        let items = self.kernel.tile_items(&self.job, needed, active);
        let params = self.kernel.tile_params(&self.job, &self.statics, needed, items.as_ref());
        ctx.queue().write_buffer(&set.params, 0, &params);
        ctx.queue().write_buffer(&set.columns, 0, bytemuck::cast_slice(columns));
        if let Some(items) = &items {
            ctx.queue().write_buffer(&set.items, 0, &items.bytes);
        }
        if let (Some(law), None) = (law, &self.statics.law) {
            ctx.queue().write_buffer(&set.law, 0, bytemuck::cast_slice(law));
        }
        let items = items.map(|i| (i.n_items, i.n_active));
        self.tiles[slot].state =
            TileState::Open(OpenTile { id, n_columns: needed, items, blocks: 0, first_submit: None });
        self.stats.acquire_s += started.elapsed().as_secs_f64();
        self.stats.tiles += 1;
        Ok(slot)
    }

    /// Wait until a block set may be written, and take it.
    fn acquire_block(&mut self) -> Result<usize, KernelError> {
        let b = self.next_block;
        self.next_block = (b + 1) % self.blocks.len();
        if let Some(token) = self.blocks[b].set.free {
            let mut s = self.events.lock();
            loop {
                self.check(&s)?;
                if let Some(result) = s.take(token) {
                    result.map_err(|e| self.kernel.device_error("mapping a staging buffer", e))?;
                    break;
                }
                s = self.events.wait(s);
            }
            self.blocks[b].set.free = None;
        }
        if !self.kernel.host_options().buffer_pool {
            let started = Instant::now();
            let ctx = self.kernel.context();
            let what = format!("{}: creating a block set", self.kernel.name());
            let set = ctx
                .scoped(&what, || Ok(self.kernel.block_set(self.block_traces, self.n_samples)))
                .map_err(|e| e.into_kernel_error(self.kernel.name()))?;
            self.generation += 1;
            self.blocks[b] = BlockSlot { set, generation: self.generation };
            self.stats.sets_created += 1;
            self.stats.acquire_s += started.elapsed().as_secs_f64();
        }
        Ok(b)
    }

    /// Add `n_traces` traces (at most the block capacity) to the open tile in `slot`: `fill`
    /// writes their samples (trace after trace) and geometry (midpoint relative to the tile's
    /// origin, half offset) into the memory the device reads them from. Returns the fill's time.
    pub fn add_block(
        &mut self,
        slot: usize,
        n_traces: usize,
        fill: impl FnOnce(&mut [f32], &mut [[f32; 4]]) -> Result<(), KernelError>,
    ) -> Result<f64, KernelError> {
        assert!(n_traces > 0 && n_traces <= self.block_traces, "block of {n_traces} traces");
        let b = self.acquire_block()?;
        let ctx = self.kernel.context().clone();
        let upload = self.kernel.host_options().upload;
        let ns = self.n_samples;
        let sample_bytes = (n_traces * ns * 4) as u64;
        let geometry_bytes = n_traces as u64 * 16;
        let (geometry_offset, capacity_bytes) = (self.blocks[b].set.geometry_offset, self.blocks[b].set.bytes);

        // Host preparation: straight into the memory the upload reads.
        let fill_started = Instant::now();
        {
            let set = &mut self.blocks[b].set;
            let fill_bytes = |bytes: &mut [u8]| {
                let (samples, rest) = bytes.split_at_mut(geometry_offset as usize);
                let samples: &mut [f32] = bytemuck::cast_slice_mut(&mut samples[..sample_bytes as usize]);
                let geometry: &mut [[f32; 4]] = bytemuck::cast_slice_mut(&mut rest[..geometry_bytes as usize]);
                fill(samples, geometry)
            };
            match &set.staging {
                Some(staging) => {
                    let mut view = staging
                        .get_mapped_range_mut(..capacity_bytes)
                        .map_err(|e| self.kernel.device_error("writing a staging buffer", e))?;
                    fill_bytes(mapped_bytes(&mut view))?;
                    drop(view);
                    staging.unmap();
                }
                None => fill_bytes(&mut set.host)?,
            }
        }
        let fill_end = Instant::now();
        let fill_s = (fill_end - fill_started).as_secs_f64();
        {
            let s = self.events.lock();
            if let Some(idle) = s.idle_since() {
                // The device had nothing to do for this part of the preparation.
                self.stats.prep_exposed_s += fill_end.saturating_duration_since(idle.max(fill_started)).as_secs_f64();
            }
        }
        self.stats.prep_s += fill_s;
        self.stats.upload_bytes += sample_bytes + geometry_bytes;
        self.stats.blocks += 1;

        // Encode and submit.
        let TileState::Open(open) = &mut self.tiles[slot].state else {
            panic!("add_block on a tile that is not open");
        };
        let (n_columns, block_index, items) = (open.n_columns, open.blocks, open.items);
        open.blocks += 1;
        open.first_submit.get_or_insert_with(Instant::now);
        let params = self.kernel.block_params(n_traces, &self.statics.layout, block_index > 0);
        let queue = ctx.queue();
        let set = &self.blocks[b].set;
        queue.write_buffer(&set.params, 0, &params);
        if upload == UploadPath::WriteBuffer {
            queue.write_buffer(&set.device, 0, &set.host[..sample_bytes as usize]);
            queue.write_buffer(
                &set.device,
                geometry_offset,
                &set.host[geometry_offset as usize..(geometry_offset + geometry_bytes) as usize],
            );
        }
        let key = (slot, self.tiles[slot].generation, b, self.blocks[b].generation);
        if !self.bind_groups.contains_key(&key) {
            let started = Instant::now();
            if !self.kernel.host_options().buffer_pool {
                self.bind_groups.clear();
            }
            let group = self.kernel.bind_group(&self.job, &self.statics, &self.tiles[slot].set, &self.blocks[b].set);
            self.bind_groups.insert(key, group);
            self.stats.acquire_s += started.elapsed().as_secs_f64();
        }
        let tile = &self.tiles[slot].set;
        let set = &self.blocks[b].set;
        let n_out_bytes = (n_columns * self.nt * 4) as u64;
        let mut encoder =
            ctx.device().create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("pstm.block") });
        if upload == UploadPath::Staging
            && let Some(staging) = &set.staging
        {
            encoder.copy_buffer_to_buffer(staging, 0, &set.device, 0, sample_bytes);
            encoder.copy_buffer_to_buffer(staging, geometry_offset, &set.device, geometry_offset, geometry_bytes);
        }
        if block_index == 0 && n_out_bytes > 0 {
            // Poisoned: an output sample the dispatch fails to write reads NaN / u32::MAX.
            encoder.copy_buffer_to_buffer(&self.poison, 0, &tile.image, 0, n_out_bytes);
            encoder.copy_buffer_to_buffer(&self.poison, 0, &tile.fold, 0, n_out_bytes);
        }
        let dispatch = TileDispatch { n_columns, n_traces, first_block: block_index == 0, items };
        self.kernel.before_pass(&mut encoder, tile, &dispatch);
        {
            let timestamp_writes = tile.timestamps.as_ref().filter(|_| block_index < TIMED_BLOCKS).map(|(q, _)| {
                wgpu::ComputePassTimestampWrites {
                    query_set: q,
                    beginning_of_pass_write_index: Some(2 * block_index),
                    end_of_pass_write_index: Some(2 * block_index + 1),
                }
            });
            let mut pass = encoder
                .begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("pstm.migrate"), timestamp_writes });
            self.kernel.dispatch(&self.job, &self.statics, &mut pass, &self.bind_groups[&key], set, &dispatch);
        }
        let staged = self.blocks[b].set.staging.is_some();
        let submitted = self.events.submit(&ctx, encoder.finish(), !staged);
        let set = &mut self.blocks[b].set;
        set.free = match &set.staging {
            Some(staging) => Some(self.events.map(staging, wgpu::MapMode::Write)),
            None => submitted,
        };
        if !self.kernel.host_options().overlap {
            self.wait_idle()?;
        }
        Ok(fill_s)
    }

    /// Every block of the open tile in `slot` is added: read it back (asynchronously).
    pub fn close_tile(&mut self, slot: usize) -> Result<(), KernelError> {
        let TileState::Open(open) = self.tiles[slot].state else {
            panic!("close_tile on a tile that is not open");
        };
        let OpenTile { n_columns, blocks, .. } = open;
        let ctx = self.kernel.context().clone();
        let tile = &self.tiles[slot].set;
        let n_bytes = (n_columns * self.nt * 4) as u64;
        let mut encoder =
            ctx.device().create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("pstm.readback") });
        encoder.copy_buffer_to_buffer(&tile.image, 0, &tile.readback, 0, n_bytes);
        encoder.copy_buffer_to_buffer(&tile.fold, 0, &tile.readback, (tile.capacity_samples * 4) as u64, n_bytes);
        let timed = blocks.min(TIMED_BLOCKS);
        if let Some((query_set, resolved)) = &tile.timestamps
            && timed > 0
        {
            encoder.resolve_query_set(query_set, 0..2 * timed, resolved, 0);
            encoder.copy_buffer_to_buffer(resolved, 0, &tile.readback, tile.timestamps_offset, 16 * timed as u64);
        }
        self.events.submit(&ctx, encoder.finish(), false);
        let token = self.events.map(&tile.readback, wgpu::MapMode::Read);
        self.tiles[slot].state = TileState::Reading(open, token);
        if !self.kernel.host_options().overlap {
            self.wait_idle()?;
        }
        Ok(())
    }

    /// A tile whose read-back has completed, copied out and its set freed; with `wait`, wait for
    /// one when some are in flight. `None` when none is ready (or, waiting, none in flight).
    pub fn take_finished(&mut self, wait: bool) -> Result<Option<ReadTile>, KernelError> {
        let ready = {
            let mut s = self.events.lock();
            loop {
                self.check(&s)?;
                let mut ready = None;
                for (i, t) in self.tiles.iter().enumerate() {
                    if let TileState::Reading(_, token) = t.state
                        && let Some(result) = s.take(token)
                    {
                        result.map_err(|e| self.kernel.device_error("mapping a read-back buffer", e))?;
                        ready = Some(i);
                        break;
                    }
                }
                if ready.is_some() || !wait || !self.is_reading() {
                    break ready;
                }
                s = self.events.wait(s);
            }
        };
        let Some(slot) = ready else { return Ok(None) };
        let TileState::Reading(OpenTile { id, n_columns, blocks, first_submit, .. }, _) = self.tiles[slot].state else {
            unreachable!("chosen among reading tiles")
        };
        let ctx = self.kernel.context();
        let set = &self.tiles[slot].set;
        let n = n_columns * self.nt;
        let mut image = TileImage { image: vec![0.0; n], fold: vec![0; n] };
        let mut device_s = 0.0;
        {
            let view =
                set.readback.get_mapped_range(..).map_err(|e| self.kernel.device_error("reading a tile back", e))?;
            image.image.copy_from_slice(bytemuck::cast_slice(&view[..n * 4]));
            let fold_at = set.capacity_samples * 4;
            image.fold.copy_from_slice(bytemuck::cast_slice(&view[fold_at..fold_at + n * 4]));
            let timed = blocks.min(TIMED_BLOCKS) as usize;
            if set.timestamps.is_some() && timed > 0 {
                let at = set.timestamps_offset as usize;
                let ticks: &[u64] = bytemuck::cast_slice(&view[at..at + 16 * timed]);
                let period_ns = ctx.queue().get_timestamp_period() as f64;
                device_s = ticks.chunks(2).map(|p| p[1].saturating_sub(p[0]) as f64 * period_ns * 1e-9).sum();
            }
        }
        set.readback.unmap();
        if device_s == 0.0 {
            // No timestamps (or ones that read zero, as Metal's may): the wall clock from the
            // tile's first submission, which includes waiting behind the tile before it.
            device_s = first_submit.map_or(0.0, |t| t.elapsed().as_secs_f64());
            self.stats.wall_clock_tiles += 1;
        }
        self.stats.device_s += device_s;
        self.tiles[slot].state = TileState::Free;
        Ok(Some(ReadTile { id, image, device_s }))
    }

    /// Wait until every callback registered so far has run (the device is idle).
    pub fn wait_idle(&self) -> Result<(), KernelError> {
        let mut s = self.events.lock();
        while s.outstanding_callbacks() > 0 {
            self.check(&s)?;
            s = self.events.wait(s);
        }
        self.check(&s)
    }
}

/// The mapped range as bytes the trace store writes into (its decoder and copies take `&mut`).
///
/// wgpu hands out mapped memory as write-only because it may be write-combining, where reads
/// are slow. Here it is only written: the store copies or decodes samples into it, front to
/// back. The memory is host-visible (readable, if slowly, on Vulkan, Metal and DX12, the
/// native backends this crate runs on) and initialised (wgpu zeroes new buffers), so a `&mut`
/// to it is sound; a read the compiler might insert would only be slow.
fn mapped_bytes(view: &mut wgpu::BufferViewMut) -> &mut [u8] {
    let len = view.len();
    let mut whole = view.slice(..);
    let ptr = whole.as_raw_element_ptr();
    // SAFETY: see above; `ptr` is valid for `len` bytes for the lifetime of the view, which
    // this borrow ties the slice to, and nothing else touches the mapping meanwhile.
    unsafe { std::slice::from_raw_parts_mut(ptr.as_ptr(), len) }
}

impl<K: DeviceKernel, W: Send + 'static> Drop for Pipeline<'_, K, W> {
    fn drop(&mut self) {
        // Let every registered callback run before the buffers it concerns go (a lost device
        // ends the wait early).
        let _ = self.wait_idle();
    }
}

/// A buffer of `samples` words of `0xFFFFFFFF` (NaN as f32, `u32::MAX` as u32).
fn poison_buffer(ctx: &crate::GpuContext, samples: usize) -> wgpu::Buffer {
    let buffer = ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("pstm.poison"),
        size: (samples.max(1) * 4) as u64,
        usage: wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: true,
    });
    if let Ok(mut view) = buffer.get_mapped_range_mut(..) {
        view.slice(..).fill(0xFF);
    }
    buffer.unmap();
    buffer
}
