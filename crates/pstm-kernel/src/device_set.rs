//! One kernel on several devices (`execution.devices`): the executor deals tiles to each
//! device's own session as it frees up, so faster devices take more of them.

use crate::session::{CostModel, JobSetup, KernelSession};
use crate::{KernelError, KernelTimings, MigrationKernel, TileMigration, TileTask};

/// The same kernel opened on several devices. Callers that migrate one tile at a time
/// ([`MigrationKernel::begin_tile`], [`MigrationKernel::open_session`]) get the first device;
/// the executor asks for [`MigrationKernel::device_kernels`] and runs them all.
pub struct DeviceSet {
    devices: Vec<Box<dyn MigrationKernel>>,
}

impl DeviceSet {
    /// The kernels, one per device, as one kernel; a single one is returned as it is.
    ///
    /// # Panics
    /// When `devices` is empty or its kernels are not all the same version.
    pub fn join(mut devices: Vec<Box<dyn MigrationKernel>>) -> Box<dyn MigrationKernel> {
        assert!(!devices.is_empty(), "a device set needs a device");
        assert!(devices.iter().all(|d| d.name() == devices[0].name()), "one kernel version on every device");
        if devices.len() == 1 {
            return devices.pop().expect("one");
        }
        Box::new(Self { devices })
    }

    fn first(&self) -> &dyn MigrationKernel {
        self.devices[0].as_ref()
    }
}

impl MigrationKernel for DeviceSet {
    fn name(&self) -> &'static str {
        self.first().name()
    }

    /// `2 x NVIDIA H200 (...)`, or each device where they differ.
    fn device(&self) -> String {
        let mut groups: Vec<(usize, String)> = Vec::new();
        for d in &self.devices {
            let name = d.device();
            match groups.iter_mut().find(|(_, n)| *n == name) {
                Some((count, _)) => *count += 1,
                None => groups.push((1, name)),
            }
        }
        groups
            .into_iter()
            .map(|(count, name)| if count == 1 { name } else { format!("{count} x {name}") })
            .collect::<Vec<_>>()
            .join(" + ")
    }

    fn begin_tile<'a>(&'a self, task: TileTask<'a>) -> Result<Box<dyn TileMigration + 'a>, KernelError> {
        self.first().begin_tile(task)
    }

    fn open_session<'a>(&'a self, setup: JobSetup<'a>) -> Result<Box<dyn KernelSession + 'a>, KernelError> {
        self.first().open_session(setup)
    }

    fn cost_model(&self) -> CostModel {
        self.first().cost_model()
    }

    /// Summed over the devices: the planner budgets host memory for all of their tiles.
    fn concurrent_tiles(&self) -> usize {
        self.devices.iter().map(|d| d.concurrent_tiles()).sum()
    }

    fn bytes_per_output_sample(&self) -> usize {
        self.devices.iter().map(|d| d.bytes_per_output_sample()).max().unwrap_or(0)
    }

    fn max_block_traces(&self, n_samples: usize) -> usize {
        self.devices.iter().map(|d| d.max_block_traces(n_samples)).min().unwrap_or(usize::MAX)
    }

    fn max_tile_samples(&self) -> usize {
        self.devices.iter().map(|d| d.max_tile_samples()).min().unwrap_or(usize::MAX)
    }

    fn skips_inactive_cells(&self) -> bool {
        self.devices.iter().all(|d| d.skips_inactive_cells())
    }

    /// Device and transfer times summed over the devices; the first device's own figures.
    fn take_timings(&self) -> KernelTimings {
        let all: Vec<KernelTimings> = self.devices.iter().map(|d| d.take_timings()).collect();
        let sum = |f: fn(&KernelTimings) -> Option<f64>| {
            all.iter().filter_map(f).fold(None, |acc: Option<f64>, v| Some(acc.unwrap_or(0.0) + v))
        };
        KernelTimings {
            device_s: sum(|t| t.device_s),
            transfer_s: sum(|t| t.transfer_s),
            metrics: all.into_iter().next().map(|t| t.metrics).unwrap_or_default(),
        }
    }

    fn device_kernels(&self) -> &[Box<dyn MigrationKernel>] {
        &self.devices
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_device_is_the_kernel_itself_and_several_describe_themselves() {
        let one = DeviceSet::join(vec![Box::new(crate::CpuRefKernel)]);
        assert!(one.device_kernels().is_empty());
        let two = DeviceSet::join(vec![Box::new(crate::CpuRefKernel), Box::new(crate::CpuRefKernel)]);
        assert_eq!(two.device_kernels().len(), 2);
        assert_eq!(two.name(), "cpu-ref");
        assert!(two.device().starts_with("2 x "), "{}", two.device());
        assert_eq!(two.concurrent_tiles(), 2 * crate::CpuRefKernel.concurrent_tiles());
    }
}
