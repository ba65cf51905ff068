//! How this process was started: alone, or by `mpirun` as one rank of a shared run (feature
//! `mpi`). The migrate command asks it which of the host's GPUs are this process's and runs
//! the job through it.

use anyhow::Result;
use pstm_engine::{MigrationJob, MigrationKernel, RunOptions, RunSummary, executor};

pub struct Launch {
    #[cfg(feature = "mpi")]
    mpi: Option<crate::mpi_cluster::MpiCluster>,
}

impl Launch {
    /// Joins MPI's world when an MPI launcher started this process (feature `mpi`).
    pub fn detect() -> Result<Self> {
        #[cfg(feature = "mpi")]
        {
            let mpi = match crate::mpi_cluster::MpiCluster::launched() {
                true => Some(crate::mpi_cluster::MpiCluster::init()?),
                false => None,
            };
            Ok(Self { mpi })
        }
        #[cfg(not(feature = "mpi"))]
        Ok(Self {})
    }

    /// This process and how many processes share its host (its GPUs): `(0, 1)` alone.
    pub fn host_share(&self) -> (usize, usize) {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi {
            return mpi.host_share();
        }
        (0, 1)
    }

    /// Migrate the job: alone, or as this rank's share, when only rank 0 gets the summary.
    pub fn migrate(
        &self,
        job: &MigrationJob,
        kernel: &dyn MigrationKernel,
        options: RunOptions,
    ) -> Result<Option<RunSummary>> {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi {
            let run = pstm_engine::distributed::migrate_shared(job, kernel, options, mpi);
            mpi.finish();
            return Ok(run?);
        }
        Ok(Some(executor::migrate(job, kernel, options)?))
    }

    /// This process ends without migrating (a dry run, a finished output), as every rank does.
    pub fn done(&self) {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi {
            mpi.finish();
        }
    }
}
