//! The GPU context: one adapter, one device, one queue, created once and shared by every GPU
//! kernel (kernels hold an `Arc<GpuContext>`).
//!
//! Creating the device is kept apart from the kernels (as in wgpu's own examples) so that a test
//! or an embedding application can hand in a device it made itself ([`GpuContext::from_device`]).
//!
//! Choices made here, and why:
//! - **Adapter**: the one whose name contains the requested substring, else the best by device
//!   type (discrete, integrated, virtual, software, other): a workstation with an integrated and
//!   a discrete GPU migrates on the discrete one. Software adapters (Mesa lavapipe) are accepted,
//!   because CI tests run on them; [`AdapterSummary::is_software`] lets a caller decline them.
//! - **Limits**: the adapter's own, not WebGPU's defaults, which cap a storage binding at
//!   128 MiB even on a GPU that binds 2 GiB.
//! - **Features**: only those in [`OPTIONAL_FEATURES`] that the adapter offers; kernels ask
//!   [`GpuContext::has_feature`] and fall back when a feature is missing, never assume it.
//! - **Shader runtime checks**: off for release pipelines (they cost 11-24% in a wgpu-vs-CUDA
//!   probe on an H100, 12% for `gpu-v0`, docs/PERFORMANCE.md); every kernel is compared with the reference instead. `PSTM_GPU_CHECKS=1`
//!   or [`GpuOptions::runtime_checks`] turns them back on to chase an out-of-bounds access.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::GpuError;

/// Environment variable: a (case-insensitive) substring of the adapter's name to use.
pub const ADAPTER_ENV: &str = "PSTM_GPU_ADAPTER";
/// Environment variable: `1` keeps wgpu's shader runtime checks on (bounds checks, loop
/// bounding), for debugging.
pub const CHECKS_ENV: &str = "PSTM_GPU_CHECKS";

/// Optional device features the kernels use when the adapter has them, each with a fallback:
/// `TIMESTAMP_QUERY` gives kernel-only times (else: wall clock); `FLOAT32_FILTERABLE` lets
/// gpu-v1's sampler filter an R32Float velocity texture (else: R16Float or manual
/// interpolation); `MAPPABLE_PRIMARY_BUFFERS` lets gpu-v1 write storage buffers in place on
/// unified memory (else: staging buffers); `SUBGROUP` lets gpu-v2 compact live traces with
/// subgroup ballots (else: a path without subgroup operations, the same image bit for bit).
pub const OPTIONAL_FEATURES: wgpu::Features = wgpu::Features::TIMESTAMP_QUERY
    .union(wgpu::Features::FLOAT32_FILTERABLE)
    .union(wgpu::Features::MAPPABLE_PRIMARY_BUFFERS)
    .union(wgpu::Features::SUBGROUP);

/// The native backends with compute-grade limits: not GL, not the browser.
pub const DEFAULT_BACKENDS: wgpu::Backends =
    wgpu::Backends::VULKAN.union(wgpu::Backends::METAL).union(wgpu::Backends::DX12);

/// How to choose and open the GPU: the plain values of the `execution.gpu` configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuOptions {
    /// Case-insensitive substring of the adapter's name (`execution.gpu.adapter`); `None`: the
    /// best adapter by device type.
    pub adapter: Option<String>,
    /// Keep wgpu's shader runtime checks on (slower; for debugging).
    pub runtime_checks: bool,
    /// Backends searched; default [`DEFAULT_BACKENDS`].
    pub backends: wgpu::Backends,
}

impl Default for GpuOptions {
    fn default() -> Self {
        Self { adapter: None, runtime_checks: false, backends: DEFAULT_BACKENDS }
    }
}

impl GpuOptions {
    /// Defaults, overridden by the environment ([`Self::with_env_overrides`]).
    pub fn from_env() -> Self {
        Self::default().with_env_overrides()
    }

    /// Apply `PSTM_GPU_ADAPTER`, `PSTM_GPU_CHECKS` and wgpu's `WGPU_BACKEND` where they are set.
    /// The environment wins over the configuration file, so that a user can try another adapter
    /// without editing a job.
    pub fn with_env_overrides(mut self) -> Self {
        if let Ok(name) = std::env::var(ADAPTER_ENV)
            && !name.trim().is_empty()
        {
            self.adapter = Some(name.trim().to_string());
        }
        if let Ok(value) = std::env::var(CHECKS_ENV) {
            self.runtime_checks = matches!(value.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on");
        }
        if let Some(backends) = wgpu::Backends::from_env() {
            self.backends = backends;
        }
        self
    }
}

/// What an adapter is, for logs, benchmark records and `pstm kernels`.
#[derive(Debug, Clone, PartialEq)]
pub struct AdapterSummary {
    pub info: wgpu::AdapterInfo,
    /// Largest storage binding in bytes (128 MiB on lavapipe, 2 GiB - 1 on NVIDIA).
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
    pub features: wgpu::Features,
}

impl AdapterSummary {
    fn of(adapter: &wgpu::Adapter) -> Self {
        let limits = adapter.limits();
        Self {
            info: adapter.get_info(),
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            features: adapter.features(),
        }
    }

    /// A CPU implementation (Mesa lavapipe, WARP): correct, but slower than the CPU kernels.
    pub fn is_software(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }
}

impl fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.info;
        write!(f, "{} ({:?}, {}", i.name, i.device_type, i.backend)?;
        if !i.driver.is_empty() {
            write!(f, ", driver {}", i.driver)?;
        }
        if !i.driver_info.is_empty() {
            write!(f, " {}", i.driver_info)?;
        }
        write!(f, ")")
    }
}

/// Rank of a device type when no adapter is named: lower is preferred.
fn preference_rank(device_type: wgpu::DeviceType) -> u8 {
    match device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

fn new_instance(options: &GpuOptions) -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: options.backends,
        // Validation layers only when the user asks wgpu for them (WGPU_VALIDATION=1): they are
        // rarely installed, and missing layers only produce warnings.
        flags: wgpu::InstanceFlags::empty().with_env(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    })
}

/// Every adapter the options' backends find, best first.
pub fn list_adapters(options: &GpuOptions) -> Vec<AdapterSummary> {
    let instance = new_instance(options);
    let mut adapters: Vec<_> =
        pollster::block_on(instance.enumerate_adapters(options.backends)).iter().map(AdapterSummary::of).collect();
    adapters.sort_by_key(|a| preference_rank(a.info.device_type));
    adapters
}

/// The adapter the options choose, without opening a device: the cheap availability test for
/// `pstm kernels` and the kernel registry's `auto` (tens of milliseconds: it loads the drivers).
pub fn probe(options: &GpuOptions) -> Result<AdapterSummary, GpuError> {
    let instance = new_instance(options);
    choose_adapter(&instance, options).map(|a| AdapterSummary::of(&a))
}

fn choose_adapter(instance: &wgpu::Instance, options: &GpuOptions) -> Result<wgpu::Adapter, GpuError> {
    Ok(candidates(instance, options)?.swap_remove(0))
}

/// Which adapters a run opens devices on (`execution.devices`), among those [`device_candidates`]
/// lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceChoice {
    /// Every adapter of the first one's type (two discrete GPUs, never a discrete GPU and an
    /// integrated one, whose speeds differ several times over).
    All,
    /// [`DeviceChoice::All`] shared by `parts` processes on one host (MPI ranks), this one being
    /// `part`: every `parts`-th of them from the `part`-th on; with fewer adapters than
    /// processes, adapter `part` modulo their number, shared.
    AllOf { part: usize, parts: usize },
    /// The first `n`.
    Count(usize),
    /// These, by index; an index may repeat, opening a second device on that adapter.
    List(Vec<usize>),
}

impl DeviceChoice {
    /// The indices into `kinds` (the candidates' device types, best first) this choice picks, or
    /// what was asked for and why it cannot be had.
    pub fn pick(&self, kinds: &[wgpu::DeviceType]) -> Result<Vec<usize>, (String, String)> {
        let n = kinds.len();
        let alike = || (0..n).filter(|&i| kinds[i] == kinds[0]).collect::<Vec<_>>();
        match self {
            DeviceChoice::All => Ok(alike()),
            DeviceChoice::AllOf { part, parts } => {
                let all = alike();
                if all.len() < *parts {
                    return Ok(vec![all[part % all.len()]]);
                }
                Ok(all.into_iter().skip(*part).step_by((*parts).max(1)).collect())
            }
            DeviceChoice::Count(c) if *c > n || *c == 0 => {
                Err((format!("{c} devices"), format!("{n} adapter{} here", if n == 1 { " is" } else { "s are" })))
            }
            DeviceChoice::Count(c) => Ok((0..*c).collect()),
            DeviceChoice::List(list) => match list.iter().find(|&&i| i >= n) {
                Some(bad) => Err((
                    format!("adapter {bad}"),
                    format!("the adapters here are numbered 0 to {}", n.saturating_sub(1)),
                )),
                None => Ok(list.clone()),
            },
        }
    }
}

/// The adapters `execution.devices` indexes, best first: those of the options' backends whose
/// name contains the requested substring (all without one), on the best one's backend only, so
/// that a GPU that two backends both offer (Vulkan and DX12) is listed once.
pub fn device_candidates(options: &GpuOptions) -> Result<Vec<AdapterSummary>, GpuError> {
    let instance = new_instance(options);
    candidates(&instance, options).map(|a| a.iter().map(AdapterSummary::of).collect())
}

fn candidates(instance: &wgpu::Instance, options: &GpuOptions) -> Result<Vec<wgpu::Adapter>, GpuError> {
    let mut adapters = pollster::block_on(instance.enumerate_adapters(options.backends));
    if adapters.is_empty() {
        return Err(GpuError::NoAdapter { backends: format!("{:?}", options.backends) });
    }
    // A stable sort keeps the driver's order within one device type.
    adapters.sort_by_key(|a| preference_rank(a.get_info().device_type));
    if let Some(wanted) = &options.adapter {
        let needle = wanted.to_lowercase();
        let matching: Vec<wgpu::Adapter> =
            adapters.iter().filter(|a| a.get_info().name.to_lowercase().contains(&needle)).cloned().collect();
        if matching.is_empty() {
            let available = adapters.iter().map(|a| AdapterSummary::of(a).to_string()).collect();
            return Err(GpuError::NoMatchingAdapter { wanted: wanted.clone(), available });
        }
        adapters = matching;
    }
    let backend = adapters[0].get_info().backend;
    adapters.retain(|a| a.get_info().backend == backend);
    Ok(adapters)
}

fn choose_adapters(
    instance: &wgpu::Instance,
    options: &GpuOptions,
    choice: &DeviceChoice,
) -> Result<Vec<wgpu::Adapter>, GpuError> {
    let adapters = candidates(instance, options)?;
    let kinds: Vec<wgpu::DeviceType> = adapters.iter().map(|a| a.get_info().device_type).collect();
    let picked = choice.pick(&kinds).map_err(|(wanted, why)| GpuError::Devices {
        wanted,
        why,
        available: adapters.iter().enumerate().map(|(i, a)| format!("{i}: {}", AdapterSummary::of(a))).collect(),
    })?;
    Ok(picked.into_iter().map(|i| adapters[i].clone()).collect())
}

/// An open device and what kernels need to know about it.
pub struct GpuContext {
    adapter: wgpu::Adapter,
    device: wgpu::Device,
    queue: wgpu::Queue,
    summary: AdapterSummary,
    runtime_checks: bool,
    lost: Arc<DeviceLost>,
}

/// Set by wgpu's callbacks; checked by kernels after each submission.
#[derive(Default)]
struct DeviceLost {
    lost: AtomicBool,
    message: Mutex<String>,
}

impl fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.summary.to_string())
            .field("runtime_checks", &self.runtime_checks)
            .finish()
    }
}

impl GpuContext {
    /// Choose an adapter and open its device with the adapter's own limits and the optional
    /// features it offers.
    pub fn new(options: &GpuOptions) -> Result<Arc<Self>, GpuError> {
        let instance = new_instance(options);
        Self::open(choose_adapter(&instance, options)?, options)
    }

    /// A device on each adapter `choice` picks (`execution.devices`), in its order.
    pub fn new_each(options: &GpuOptions, choice: &DeviceChoice) -> Result<Vec<Arc<Self>>, GpuError> {
        let instance = new_instance(options);
        choose_adapters(&instance, options, choice)?.into_iter().map(|a| Self::open(a, options)).collect()
    }

    fn open(adapter: wgpu::Adapter, options: &GpuOptions) -> Result<Arc<Self>, GpuError> {
        let features = adapter.features() & OPTIONAL_FEATURES;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("pstm.device"),
            required_features: features,
            required_limits: adapter.limits(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| GpuError::RequestDevice { adapter: adapter.get_info().name, message: e.to_string() })?;
        Ok(Arc::new(Self::from_device(adapter, device, queue, options)))
    }

    /// Wrap a device made elsewhere (a test's, an application's). Kernels use only the features
    /// the device was opened with.
    pub fn from_device(adapter: wgpu::Adapter, device: wgpu::Device, queue: wgpu::Queue, options: &GpuOptions) -> Self {
        let lost = Arc::new(DeviceLost::default());
        let on_lost = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            *on_lost.message.lock().unwrap_or_else(|e| e.into_inner()) = format!("{reason:?}: {message}");
            on_lost.lost.store(true, Ordering::SeqCst);
        });
        // wgpu's default handler panics on any error outside an error scope. Kernels wrap their
        // work in scopes; anything else is reported here instead of taking the process down.
        device.on_uncaptured_error(Arc::new(|error| eprintln!("pstm-gpu: uncaptured wgpu error: {error}")));
        let mut summary = AdapterSummary::of(&adapter);
        summary.features = device.features();
        let limits = device.limits();
        summary.max_storage_buffer_binding_size = limits.max_storage_buffer_binding_size;
        summary.max_buffer_size = limits.max_buffer_size;
        Self { adapter, device, queue, summary, runtime_checks: options.runtime_checks, lost }
    }

    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    pub fn adapter(&self) -> &wgpu::Adapter {
        &self.adapter
    }

    /// Adapter name, type, backend and driver.
    pub fn summary(&self) -> &AdapterSummary {
        &self.summary
    }

    /// The device's limits (the adapter's own, as requested).
    pub fn limits(&self) -> wgpu::Limits {
        self.device.limits()
    }

    /// Whether the device was opened with `feature`.
    pub fn has_feature(&self, feature: wgpu::Features) -> bool {
        self.device.features().contains(feature)
    }

    pub fn runtime_checks(&self) -> bool {
        self.runtime_checks
    }

    /// Largest storage binding, in bytes, that a kernel may bind: the device's binding limit,
    /// its buffer limit, and 2 GiB - 4 (wgpu caps every binding below 2 GiB, and offsets into a
    /// binding are u32 element indices).
    pub fn max_binding_bytes(&self) -> u64 {
        let limits = self.device.limits();
        limits.max_storage_buffer_binding_size.min(limits.max_buffer_size).min((1u64 << 31) - 4) / 4 * 4
    }

    /// Compile a WGSL module: with runtime checks off unless debugging (see the module docs).
    /// Compilation errors come back as [`GpuError::Shader`] rather than wgpu's panic.
    pub fn create_shader_module(&self, label: &str, wgsl: &str) -> Result<wgpu::ShaderModule, GpuError> {
        let desc = wgpu::ShaderModuleDescriptor { label: Some(label), source: wgpu::ShaderSource::Wgsl(wgsl.into()) };
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = if self.runtime_checks {
            self.device.create_shader_module(desc)
        } else {
            // SAFETY: without runtime checks an out-of-bounds index is undefined behaviour on the
            // device instead of a clamped read. Every kernel computes its indices from the
            // dispatch size and the block and tile sizes it validated on the host, and is
            // compared against the reference with poisoned outputs on every change; the checks
            // stay available (PSTM_GPU_CHECKS=1) for hunting a suspected bad index.
            unsafe { self.device.create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked()) }
        };
        match pollster::block_on(scope.pop()) {
            None => Ok(module),
            Some(e) => Err(GpuError::Shader { label: label.to_string(), message: e.to_string() }),
        }
    }

    /// A compute pipeline of `module`'s `entry_point` with one bind group of `entries`, and that
    /// group's layout. Kernels use no workgroup memory that must start zeroed; callers wrap this
    /// in [`GpuContext::scoped`] to catch validation errors.
    pub fn compute_pipeline(
        &self,
        label: &str,
        module: &wgpu::ShaderModule,
        entry_point: &str,
        entries: &[wgpu::BindGroupLayoutEntry],
    ) -> (wgpu::BindGroupLayout, wgpu::ComputePipeline) {
        let layout = self.device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(&format!("{label}.bindings")),
            entries,
        });
        let pipeline = self.compute_pipeline_with(label, module, entry_point, &layout);
        (layout, pipeline)
    }

    /// A compute pipeline of `module`'s `entry_point` whose one bind group has `layout`, so
    /// that bind groups made for `layout` serve every pipeline made with it.
    pub fn compute_pipeline_with(
        &self,
        label: &str,
        module: &wgpu::ShaderModule,
        entry_point: &str,
        layout: &wgpu::BindGroupLayout,
    ) -> wgpu::ComputePipeline {
        let pipeline_layout = self.device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(&format!("{label}.layout")),
            bind_group_layouts: &[Some(layout)],
            immediate_size: 0,
        });
        self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(label),
            layout: Some(&pipeline_layout),
            module,
            entry_point: Some(entry_point),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &[],
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        })
    }

    /// Run `work`, turning any validation or out-of-memory error it causes into a
    /// [`GpuError::Device`] named `what`. A lost device is reported the same way.
    pub fn scoped<T>(&self, what: &str, work: impl FnOnce() -> Result<T, GpuError>) -> Result<T, GpuError> {
        let out_of_memory = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let result = work();
        // Scopes pop in reverse order of their pushing.
        let validation_error = pollster::block_on(validation.pop());
        let memory_error = pollster::block_on(out_of_memory.pop());
        self.check_lost(what)?;
        if let Some(e) = memory_error {
            return Err(GpuError::OutOfMemory { what: what.to_string(), message: e.to_string() });
        }
        if let Some(e) = validation_error {
            return Err(GpuError::Device { what: what.to_string(), message: e.to_string() });
        }
        result
    }

    /// Why the device was lost, once it has been.
    pub fn lost_message(&self) -> Option<String> {
        self.lost
            .lost
            .load(Ordering::SeqCst)
            .then(|| self.lost.message.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    fn check_lost(&self, what: &str) -> Result<(), GpuError> {
        if self.lost.lost.load(Ordering::SeqCst) {
            let message = self.lost.message.lock().unwrap_or_else(|e| e.into_inner()).clone();
            return Err(GpuError::DeviceLost { what: what.to_string(), message });
        }
        Ok(())
    }

    /// Block until submission `index` has finished on the device.
    pub fn wait(&self, index: wgpu::SubmissionIndex, what: &str) -> Result<(), GpuError> {
        self.device
            .poll(wgpu::PollType::Wait { submission_index: Some(index), timeout: None })
            .map_err(|e| GpuError::Device { what: what.to_string(), message: e.to_string() })?;
        self.check_lost(what)
    }

    /// Map a `MAP_READ` buffer, hand its bytes to `read`, unmap it.
    pub fn read_mapped<T>(
        &self,
        buffer: &wgpu::Buffer,
        what: &str,
        read: impl FnOnce(&[u8]) -> T,
    ) -> Result<T, GpuError> {
        let (sender, receiver) = std::sync::mpsc::channel();
        buffer.map_async(wgpu::MapMode::Read, .., move |r| {
            // The receiver outlives every poll below; a send can only fail after an error return.
            let _ = sender.send(r);
        });
        let device_error = |message: String| GpuError::Device { what: what.to_string(), message };
        let mapped = loop {
            self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| device_error(e.to_string()))?;
            self.check_lost(what)?;
            // When several threads share the device, the thread whose poll completes the mapping
            // runs its callback, and our poll may return just before that callback has sent.
            match receiver.recv_timeout(std::time::Duration::from_millis(1)) {
                Ok(result) => break result,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(device_error("buffer mapping was dropped without completing".to_string()));
                }
            }
        };
        mapped.map_err(|e| device_error(e.to_string()))?;
        let out = {
            let view = buffer
                .get_mapped_range(..)
                .map_err(|e| GpuError::Device { what: what.to_string(), message: e.to_string() })?;
            read(&view)
        };
        buffer.unmap();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_pick_adapters_by_kind_count_and_number() {
        use wgpu::DeviceType::{Cpu, DiscreteGpu, IntegratedGpu};
        let host = [DiscreteGpu, DiscreteGpu, DiscreteGpu, DiscreteGpu, IntegratedGpu];
        assert_eq!(DeviceChoice::Count(1).pick(&host), Ok(vec![0]));
        assert_eq!(DeviceChoice::All.pick(&host), Ok(vec![0, 1, 2, 3]), "not the integrated GPU");
        assert_eq!(DeviceChoice::Count(5).pick(&host), Ok(vec![0, 1, 2, 3, 4]));
        assert_eq!(DeviceChoice::List(vec![4, 0, 0]).pick(&host), Ok(vec![4, 0, 0]));
        assert!(DeviceChoice::Count(6).pick(&host).unwrap_err().1.contains("5 adapters are here"));
        assert!(DeviceChoice::List(vec![1, 5]).pick(&host).unwrap_err().1.contains("numbered 0 to 4"));
        // Ranks sharing a host split its GPUs, and share them when there are more ranks.
        assert_eq!(DeviceChoice::AllOf { part: 1, parts: 2 }.pick(&host), Ok(vec![1, 3]));
        assert_eq!(DeviceChoice::AllOf { part: 3, parts: 4 }.pick(&host), Ok(vec![3]));
        assert_eq!(DeviceChoice::AllOf { part: 5, parts: 8 }.pick(&host), Ok(vec![1]));
        assert_eq!(DeviceChoice::AllOf { part: 1, parts: 2 }.pick(&[Cpu]), Ok(vec![0]));
    }

    #[test]
    fn discrete_gpus_come_first_and_software_last() {
        use wgpu::DeviceType::*;
        let mut types = [Cpu, Other, IntegratedGpu, DiscreteGpu, VirtualGpu];
        types.sort_by_key(|&t| preference_rank(t));
        assert_eq!(types, [DiscreteGpu, IntegratedGpu, VirtualGpu, Cpu, Other]);
    }

    #[test]
    fn options_default_to_release_pipelines_on_native_backends() {
        let o = GpuOptions::default();
        assert_eq!(o.adapter, None);
        assert!(!o.runtime_checks);
        assert_eq!(o.backends, DEFAULT_BACKENDS);
    }
}
