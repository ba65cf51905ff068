//! The roadmap's task 1.3.3, measured: how fast trace samples reach the device along each path
//! gpu-v1 offers, against a plain host `memcpy` of the same bytes on the same machine.

use std::time::Instant;

use crate::{GpuContext, GpuError};

/// Best-of-`repeats` bandwidths in GB/s (1e9 bytes per second).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UploadBandwidth {
    pub bytes: u64,
    /// Host memory to host memory (`copy_from_slice`): the ceiling of any host-side write.
    pub memcpy: f64,
    /// Host memory into a mapped staging buffer (what gpu-v1's `staging` path writes).
    pub into_mapped_staging: f64,
    /// Staging buffer to device memory, by the device (submission to completion).
    pub staging_to_device: f64,
    /// `Queue::write_buffer` of host memory into device memory, to completion (`write_buffer`).
    pub write_buffer: f64,
    /// Host memory into a mapped storage buffer (`mapped`), where the device allows it.
    pub into_mapped_storage: Option<f64>,
}

impl std::fmt::Display for UploadBandwidth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "upload of {} MiB, best of the runs (GB/s):", self.bytes >> 20)?;
        writeln!(f, "  host memcpy                      {:8.2}", self.memcpy)?;
        writeln!(f, "  into mapped staging (staging)    {:8.2}", self.into_mapped_staging)?;
        writeln!(f, "  staging to device, on the device {:8.2}", self.staging_to_device)?;
        writeln!(f, "  queue.write_buffer (write_buffer){:8.2}", self.write_buffer)?;
        match self.into_mapped_storage {
            Some(v) => write!(f, "  into mapped storage (mapped)     {v:8.2}"),
            None => write!(f, "  into mapped storage (mapped)     not offered by this device"),
        }
    }
}

fn gbs(bytes: u64, seconds: f64) -> f64 {
    bytes as f64 / seconds.max(1e-12) * 1e-9
}

/// Measure every path with `bytes` of data, `repeats` times each.
pub fn measure_upload(ctx: &GpuContext, bytes: u64, repeats: usize) -> Result<UploadBandwidth, GpuError> {
    let bytes = bytes.max(4) / 4 * 4;
    let repeats = repeats.max(1);
    let device = ctx.device();
    let source: Vec<u8> = (0..bytes).map(|i| (i * 7 + 3) as u8).collect();
    let mut host = vec![0u8; bytes as usize];
    let best = |f: &mut dyn FnMut() -> Result<f64, GpuError>| -> Result<f64, GpuError> {
        let mut best = f64::INFINITY;
        for _ in 0..repeats {
            best = best.min(f()?);
        }
        Ok(best)
    };
    let memcpy = best(&mut || {
        let t = Instant::now();
        host.copy_from_slice(&source);
        std::hint::black_box(&host);
        Ok(t.elapsed().as_secs_f64())
    })?;
    ctx.scoped("measuring uploads", || {
        let buffer = |usage, mapped| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("pstm.upload-probe"),
                size: bytes,
                usage,
                mapped_at_creation: mapped,
            })
        };
        use wgpu::BufferUsages as U;
        let staging = buffer(U::MAP_WRITE | U::COPY_SRC, true);
        let target = buffer(U::STORAGE | U::COPY_DST, false);
        let failed =
            |e: &dyn std::fmt::Display| GpuError::Device { what: "measuring uploads".into(), message: e.to_string() };
        let remap = |b: &wgpu::Buffer| -> Result<(), GpuError> {
            let (send, receive) = std::sync::mpsc::channel();
            b.map_async(wgpu::MapMode::Write, .., move |r| {
                let _ = send.send(r);
            });
            ctx.device().poll(wgpu::PollType::wait_indefinitely()).map_err(|e| failed(&e))?;
            receive.recv().map_err(|e| failed(&e))?.map_err(|e| failed(&e))
        };
        let write_mapped = |b: &wgpu::Buffer| -> f64 {
            let mut view = b.get_mapped_range_mut(..).expect("mapped for writing");
            let t = Instant::now();
            view.slice(..).copy_from_slice(&source);
            let s = t.elapsed().as_secs_f64();
            drop(view);
            b.unmap();
            s
        };
        let mut first = true;
        let into_mapped_staging = best(&mut || {
            if !first {
                remap(&staging)?;
            }
            first = false;
            Ok(write_mapped(&staging))
        })?;
        let staging_to_device = best(&mut || {
            let mut encoder = device.create_command_encoder(&Default::default());
            encoder.copy_buffer_to_buffer(&staging, 0, &target, 0, bytes);
            let t = Instant::now();
            let index = ctx.queue().submit([encoder.finish()]);
            ctx.wait(index, "measuring uploads")?;
            Ok(t.elapsed().as_secs_f64())
        })?;
        let write_buffer = best(&mut || {
            let t = Instant::now();
            ctx.queue().write_buffer(&target, 0, &source);
            let index = ctx.queue().submit([]);
            ctx.wait(index, "measuring uploads")?;
            Ok(t.elapsed().as_secs_f64())
        })?;
        let into_mapped_storage = if ctx.has_feature(wgpu::Features::MAPPABLE_PRIMARY_BUFFERS) {
            let storage = buffer(U::STORAGE | U::MAP_WRITE, true);
            let mut first = true;
            Some(best(&mut || {
                if !first {
                    remap(&storage)?;
                }
                first = false;
                Ok(write_mapped(&storage))
            })?)
        } else {
            None
        };
        Ok(UploadBandwidth {
            bytes,
            memcpy: gbs(bytes, memcpy),
            into_mapped_staging: gbs(bytes, into_mapped_staging),
            staging_to_device: gbs(bytes, staging_to_device),
            write_buffer: gbs(bytes, write_buffer),
            into_mapped_storage: into_mapped_storage.map(|s| gbs(bytes, s)),
        })
    })
}
