//! The Phase 1 device resources: what a job uploads once (velocity, output times), and the two
//! kinds of buffer set the pipeline cycles through (trace blocks, tiles).

use pstm_math::velocity::VelocityCube;
use pstm_math::{Eta, ImagingOperator, TimeAxis, Traveltime, VelocityModel};
use wgpu::util::DeviceExt;

use super::{DeviceKernel, UploadPath, VelocityFilter, VelocityStorage};
use crate::layout::VelocitySource;
use crate::{GpuContext, GpuError};

/// `resolve_query_set` writes at multiples of this.
const QUERY_RESOLVE_ALIGNMENT: u64 = 256;
/// Blocks of one tile timed by timestamp queries; later ones are timed by the wall clock.
pub const TIMED_BLOCKS: u32 = 256;

pub fn align(n: u64, to: u64) -> u64 {
    n.div_ceil(to) * to
}

/// What every tile of a job shares on the device: uploaded once.
pub struct Statics {
    pub source: VelocitySource,
    /// Velocities as `source` says (a dummy word for the texture sources).
    pub velocity: wgpu::Buffer,
    pub texture: wgpu::TextureView,
    pub sampler: wgpu::Sampler,
    /// Whether the bindings need the filtering layout (hardware trilinear).
    pub filtering: bool,
    pub times: wgpu::Buffer,
    pub cube_shape: [u32; 3],
    /// The traces' sampling the output times were placed in.
    pub layout: pstm_kernel::TraceLayout,
    /// The output time axis and the imaging operator of the job.
    pub time: TimeAxis,
    pub operator: ImagingOperator,
    /// The format the cube was uploaded in, for the kernel's description.
    pub description: String,
    /// The velocity at each output time, where it varies with time only (gpu-v3's tables).
    pub time_velocities: Option<Vec<f32>>,
    /// The shaders' `law` binding ([`crate::layout::leg_laws`]) where every tile shares it;
    /// `None` where it is the tile's own (VTI with an eta cube: [`TileSet::law`]).
    pub law: Option<wgpu::Buffer>,
    /// Entries of `law` between columns (`TileParamsV1::law_stride`).
    pub law_stride: u32,
    /// The shaders' `interp_table` binding: sinc8's weights ([`crate::layout::sinc8_table`])
    /// where the operator interpolates with sinc8, else one unused entry.
    pub interp_table: wgpu::Buffer,
}

/// How a job's velocity model reaches the device.
pub enum VelocityInput<'a> {
    /// The job's model: V(t) at the output times, or the cube.
    Model(&'a VelocityModel),
    /// Velocities per output sample (the per-tile protocol), one column or one per column, and
    /// eta laid out as them (empty without VTI).
    Values { values: &'a [f32], columns: usize, eta: &'a [f32] },
}

impl Statics {
    pub fn new(
        kernel: &impl DeviceKernel,
        velocity: VelocityInput<'_>,
        time: &TimeAxis,
        layout: &pstm_kernel::TraceLayout,
        operator: &ImagingOperator,
    ) -> Result<Self, GpuError> {
        let ctx = kernel.context();
        let device = ctx.device();
        let input_error = |message: String| GpuError::Device { what: format!("{}: velocity", kernel.name()), message };
        let init = |label: &str, contents: &[u8]| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage: wgpu::BufferUsages::STORAGE,
            })
        };
        let dummy = || init("pstm.velocity.unused", &[0u8; 16]);
        let cube = match &velocity {
            VelocityInput::Model(m) => m.cube(),
            VelocityInput::Values { .. } => None,
        };
        let times_s: Vec<f64> = (0..time.nt).map(|i| time.time(i)).collect();
        let times = kernel.output_times(&times_s, layout, cube);
        let times = init("pstm.times", &times);
        let leg_laws = |eta: &[f32]| crate::layout::leg_laws(operator, &times_s, eta);
        let (law, law_stride) = match &velocity {
            VelocityInput::Values { eta, columns, .. } => {
                (Some(leg_laws(eta)), crate::layout::law_stride(operator, *columns, time.nt))
            }
            VelocityInput::Model(model) => match model.eta() {
                Some(Eta::Cube(_)) if operator.traveltime == Traveltime::Vti => (None, time.nt as u32),
                // Eta varies with time only: one column of it.
                Some(_) => (Some(leg_laws(&model.sample_eta(&[[0.0, 0.0]], time))), 0),
                None => (Some(leg_laws(&[])), 0),
            },
        };
        let law = law.map(|entries| init("pstm.law", bytemuck::cast_slice(&entries)));
        let interp_table = match operator.interpolation {
            pstm_math::Interpolation::Sinc8 => crate::layout::sinc8_table(),
            pstm_math::Interpolation::Linear | pstm_math::Interpolation::Cubic => vec![[0.0; 4]],
        };
        let interp_table = init("pstm.interp_table", bytemuck::cast_slice(&interp_table));
        let mut texture = None;
        let mut time_velocities = None;
        let (source, velocity, description, cube_shape) = match (velocity, cube) {
            (VelocityInput::Values { values, columns, .. }, _) => {
                let source = if columns == 1 { VelocitySource::Time } else { VelocitySource::Columns };
                if columns == 1 {
                    time_velocities = Some(values.to_vec());
                }
                (source, init("pstm.velocity", bytemuck::cast_slice(values)), "per output sample".into(), [1, 1, 1])
            }
            (VelocityInput::Model(model), None) => {
                let v = model.sample(&[[0.0, 0.0]], time).map_err(|e| input_error(e.to_string()))?;
                time_velocities = Some(v.values.clone());
                (VelocitySource::Time, init("pstm.velocity", bytemuck::cast_slice(&v.values)), "V(t)".into(), [1, 1, 1])
            }
            (VelocityInput::Model(_), Some(cube)) => {
                let shape = [cube.nx as u32, cube.ny as u32, cube.nt as u32];
                let bytes = cube.data.len() as u64 * 4;
                let fits_texture = cube.nx.max(cube.ny).max(cube.nt) as u32 <= ctx.limits().max_texture_dimension_3d;
                let options = kernel.host_options();
                let max_binding_bytes = kernel.max_binding_bytes();
                let storage = match options.velocity {
                    VelocityStorage::Auto if fits_texture => VelocityStorage::Texture,
                    VelocityStorage::Auto => VelocityStorage::Buffer,
                    other => other,
                };
                match storage {
                    VelocityStorage::Buffer | VelocityStorage::Auto => {
                        if bytes > max_binding_bytes {
                            return Err(input_error(format!(
                                "the velocity cube ({:.0} MiB) exceeds the device's largest binding ({:.0} MiB); use execution.gpu.velocity: texture",
                                bytes as f64 / 1048576.0,
                                max_binding_bytes as f64 / 1048576.0
                            )));
                        }
                        let buffer = init("pstm.velocity.cube", bytemuck::cast_slice(&cube.data));
                        (VelocitySource::CubeBuffer, buffer, "cube in a buffer".to_string(), shape)
                    }
                    VelocityStorage::Texture | VelocityStorage::TextureF16 => {
                        if !fits_texture {
                            return Err(input_error(format!(
                                "the velocity cube ({} x {} x {}) exceeds the device's largest 3D texture ({}); use execution.gpu.velocity: buffer",
                                cube.nx,
                                cube.ny,
                                cube.nt,
                                ctx.limits().max_texture_dimension_3d
                            )));
                        }
                        let half = storage == VelocityStorage::TextureF16;
                        let hardware = match options.velocity_filter {
                            VelocityFilter::Hardware => true,
                            VelocityFilter::Manual | VelocityFilter::Auto => false,
                        };
                        if hardware && !half && !ctx.has_feature(wgpu::Features::FLOAT32_FILTERABLE) {
                            return Err(input_error(
                                "hardware filtering of a float32 texture needs FLOAT32_FILTERABLE, which this adapter lacks; use execution.gpu.velocity_filter: manual or velocity: texture_f16".into(),
                            ));
                        }
                        texture = Some(cube_texture(ctx, cube, half));
                        let source = if hardware { VelocitySource::CubeSampled } else { VelocitySource::CubeTexture };
                        let what = format!(
                            "cube in an {} texture, {} trilinear",
                            if half { "R16Float" } else { "R32Float" },
                            if hardware { "hardware" } else { "manual" }
                        );
                        (source, dummy(), what, shape)
                    }
                }
            }
        };
        let filtering = source == VelocitySource::CubeSampled;
        let texture = texture.unwrap_or_else(|| {
            device.create_texture(&wgpu::TextureDescriptor {
                label: Some("pstm.velocity.texture.unused"),
                size: wgpu::Extent3d { width: 1, height: 1, depth_or_array_layers: 1 },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D3,
                format: wgpu::TextureFormat::R32Float,
                usage: wgpu::TextureUsages::TEXTURE_BINDING,
                view_formats: &[],
            })
        });
        let filter = if filtering { wgpu::FilterMode::Linear } else { wgpu::FilterMode::Nearest };
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("pstm.velocity.sampler"),
            address_mode_u: wgpu::AddressMode::ClampToEdge,
            address_mode_v: wgpu::AddressMode::ClampToEdge,
            address_mode_w: wgpu::AddressMode::ClampToEdge,
            mag_filter: filter,
            min_filter: filter,
            mipmap_filter: wgpu::MipmapFilterMode::Nearest,
            ..Default::default()
        });
        Ok(Self {
            source,
            velocity,
            texture: texture.create_view(&wgpu::TextureViewDescriptor::default()),
            sampler,
            filtering,
            times,
            cube_shape,
            layout: *layout,
            time: *time,
            operator: *operator,
            description,
            time_velocities,
            law,
            law_stride,
            interp_table,
        })
    }
}

/// The cube as a texture of `nt x ny x nx` texels (time fastest, as the cube is stored).
fn cube_texture(ctx: &GpuContext, cube: &VelocityCube, half: bool) -> wgpu::Texture {
    let size = wgpu::Extent3d { width: cube.nt as u32, height: cube.ny as u32, depth_or_array_layers: cube.nx as u32 };
    let (format, bytes): (_, Vec<u8>) = if half {
        let bits: Vec<u16> = cube.data.iter().map(|&v| half::f16::from_f32(v).to_bits()).collect();
        (wgpu::TextureFormat::R16Float, bytemuck::cast_slice(&bits).to_vec())
    } else {
        (wgpu::TextureFormat::R32Float, bytemuck::cast_slice(&cube.data).to_vec())
    };
    ctx.device().create_texture_with_data(
        ctx.queue(),
        &wgpu::TextureDescriptor {
            label: Some("pstm.velocity.cube"),
            size,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D3,
            format,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        },
        wgpu::util::TextureDataOrder::LayerMajor,
        &bytes,
    )
}

/// One block of traces in flight: samples then geometry in one buffer, on the host side
/// (`upload`: mapped for writing, or a host vector) and on the device, and what the kernel
/// derives from the samples on the device (gpu-v2's pairs).
pub struct BlockSet {
    pub capacity_traces: usize,
    pub n_samples: usize,
    /// Byte offset of the geometry (after the samples, aligned for a binding).
    pub geometry_offset: u64,
    pub bytes: u64,
    /// The buffer the host writes: mapped staging (`Staging`), the device buffer itself
    /// (`Mapped`), or `None` (`WriteBuffer`, which writes `host`).
    pub staging: Option<wgpu::Buffer>,
    pub device: wgpu::Buffer,
    pub host: Vec<u8>,
    pub params: wgpu::Buffer,
    /// Device data derived from the samples (`derived_bytes_per_sample` per sample), if any.
    pub derived: Option<wgpu::Buffer>,
    /// A bind group of the set's own buffers, made by the kernel on first use.
    pub derived_group: std::sync::OnceLock<wgpu::BindGroup>,
    /// Completes when the host may write again (the set's last use finished on the device).
    pub free: Option<super::events::Token>,
}

impl BlockSet {
    /// The samples of the set's whole capacity, as a binding: one bind group serves every block
    /// of a pooled set.
    pub fn samples_binding(&self) -> wgpu::BindingResource<'_> {
        self.device_range(0, (self.capacity_traces * self.n_samples * 4) as u64)
    }

    /// The geometry of the set's whole capacity, as a binding.
    pub fn geometry_binding(&self) -> wgpu::BindingResource<'_> {
        self.device_range(self.geometry_offset, self.capacity_traces.max(1) as u64 * 16)
    }

    /// `size` bytes of the device buffer from `offset` (a binding is never empty).
    fn device_range(&self, offset: u64, size: u64) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.device,
            offset,
            size: std::num::NonZeroU64::new(size.max(4)),
        })
    }

    pub fn new(
        ctx: &GpuContext,
        upload: UploadPath,
        capacity_traces: usize,
        n_samples: usize,
        align_to: u64,
        params_bytes: usize,
        derived_bytes_per_sample: u64,
    ) -> Self {
        let device = ctx.device();
        let sample_bytes = (capacity_traces * n_samples * 4).max(4) as u64;
        let geometry_offset = align(sample_bytes, align_to);
        let bytes = geometry_offset + capacity_traces.max(1) as u64 * 16;
        let mapped = upload == UploadPath::Mapped;
        let device_buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("pstm.block"),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE
                | if mapped { wgpu::BufferUsages::MAP_WRITE } else { wgpu::BufferUsages::COPY_DST },
            mapped_at_creation: mapped,
        });
        let staging = match upload {
            UploadPath::Staging | UploadPath::Auto => Some(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("pstm.block.staging"),
                size: bytes,
                usage: wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: true,
            })),
            UploadPath::Mapped => Some(device_buffer.clone()),
            UploadPath::WriteBuffer => None,
        };
        let host = if staging.is_none() { vec![0u8; bytes as usize] } else { Vec::new() };
        let params = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("pstm.block.params"),
            size: params_bytes as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let derived = (derived_bytes_per_sample > 0).then(|| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("pstm.block.derived"),
                size: (capacity_traces.max(1) * n_samples.max(1)) as u64 * derived_bytes_per_sample,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            })
        });
        Self {
            capacity_traces,
            n_samples,
            geometry_offset,
            bytes,
            staging,
            device: device_buffer,
            host,
            params,
            derived,
            derived_group: std::sync::OnceLock::new(),
            free: None,
        }
    }
}

/// One tile in flight: its parameters and columns, the device image and fold, and one mapped
/// read-back of image, fold and timestamps.
pub struct TileSet {
    pub capacity_samples: usize,
    pub capacity_columns: usize,
    pub params: wgpu::Buffer,
    pub columns: wgpu::Buffer,
    pub image: wgpu::Buffer,
    pub fold: wgpu::Buffer,
    pub readback: wgpu::Buffer,
    pub timestamps: Option<(wgpu::QuerySet, wgpu::Buffer)>,
    /// Byte offset of the timestamps in `readback`.
    pub timestamps_offset: u64,
    /// gpu-v3: the tile's work items, and the counter a persistent grid claims them by.
    pub items: wgpu::Buffer,
    pub queue: wgpu::Buffer,
    /// The tile's own `law` binding (VTI with an eta cube: `capacity_columns x nt` entries),
    /// else a placeholder ([`Statics::law`] is bound instead).
    pub law: wgpu::Buffer,
}

impl TileSet {
    /// `law_per_tile`: the tile carries its own `law` binding ([`Statics::law`] is `None`).
    pub fn new(
        ctx: &GpuContext,
        capacity_columns: usize,
        nt: usize,
        params_bytes: usize,
        items_bytes: u64,
        law_per_tile: bool,
    ) -> Self {
        let device = ctx.device();
        let capacity_samples = capacity_columns * nt;
        let n_bytes = (capacity_samples.max(1) * 4) as u64;
        let buffer = |label: &str, size: u64, usage: wgpu::BufferUsages| {
            device.create_buffer(&wgpu::BufferDescriptor { label: Some(label), size, usage, mapped_at_creation: false })
        };
        use wgpu::BufferUsages as U;
        let timestamps = ctx.has_feature(wgpu::Features::TIMESTAMP_QUERY).then(|| {
            let query_set = device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("pstm.timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2 * TIMED_BLOCKS,
            });
            let resolved = buffer(
                "pstm.timestamps.resolved",
                align(16 * TIMED_BLOCKS as u64, QUERY_RESOLVE_ALIGNMENT),
                U::QUERY_RESOLVE | U::COPY_SRC,
            );
            (query_set, resolved)
        });
        let timestamps_offset = 2 * n_bytes;
        let readback_bytes = timestamps_offset + if timestamps.is_some() { 16 * TIMED_BLOCKS as u64 } else { 0 };
        Self {
            capacity_samples,
            capacity_columns,
            params: buffer("pstm.tile", params_bytes as u64, U::UNIFORM | U::COPY_DST),
            columns: buffer(
                "pstm.columns",
                (capacity_columns.max(1) * size_of::<crate::layout::ColumnV1>()) as u64,
                U::STORAGE | U::COPY_DST,
            ),
            image: buffer("pstm.image", n_bytes, U::STORAGE | U::COPY_SRC | U::COPY_DST),
            fold: buffer("pstm.fold", n_bytes, U::STORAGE | U::COPY_SRC | U::COPY_DST),
            readback: buffer("pstm.readback", readback_bytes, U::MAP_READ | U::COPY_DST),
            timestamps,
            timestamps_offset,
            items: buffer("pstm.items", align(items_bytes.max(16), 16), U::STORAGE | U::COPY_DST),
            queue: buffer("pstm.queue", 16, U::STORAGE | U::COPY_DST),
            law: buffer(
                "pstm.law.tile",
                if law_per_tile { (capacity_samples.max(1) * 8) as u64 } else { 16 },
                U::STORAGE | U::COPY_DST,
            ),
        }
    }
}
