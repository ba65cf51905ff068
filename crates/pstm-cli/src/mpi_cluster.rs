//! `mpirun -np N pstm migrate job.yaml` (feature `mpi`): the engine's [`Cluster`] on MPI's world
//! communicator, through rsmpi.

use std::cell::Cell;

use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use pstm_engine::distributed::Cluster;

/// MPI's world, initialised for this run. Dropped before the run's last exchange (an error on
/// one rank only), it aborts every rank: the others would wait for it forever.
pub struct MpiCluster {
    // Finalises MPI when dropped, after `world`.
    _universe: mpi::environment::Universe,
    world: SimpleCommunicator,
    finished: Cell<bool>,
}

impl MpiCluster {
    /// Whether an MPI launcher (mpirun, mpiexec, srun) started this process.
    pub fn launched() -> bool {
        ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"].iter().any(|v| std::env::var_os(v).is_some())
    }

    /// Initialise MPI (only the main thread calls it).
    pub fn init() -> anyhow::Result<Self> {
        let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Funneled)
            .ok_or_else(|| anyhow::anyhow!("MPI was already initialised"))?;
        let world = universe.world();
        Ok(Self { _universe: universe, world, finished: Cell::new(false) })
    }

    /// This rank and how many ranks run on its host (they share its GPUs).
    pub fn host_share(&self) -> (usize, usize) {
        let host = self.world.split_shared(self.world.rank());
        (host.rank() as usize, host.size() as usize)
    }

    /// Every rank has come through the run's exchanges: ending now strands no one.
    pub fn finish(&self) {
        self.finished.set(true);
    }
}

impl Drop for MpiCluster {
    fn drop(&mut self) {
        if !self.finished.get() && self.world.size() > 1 {
            eprintln!("pstm: MPI rank {} stopped early; stopping every rank", self.world.rank());
            self.world.abort(1);
        }
    }
}

impl Cluster for MpiCluster {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    fn size(&self) -> usize {
        self.world.size() as usize
    }

    fn host(&self) -> String {
        mpi::environment::processor_name().unwrap_or_else(|_| pstm_engine::distributed::hostname())
    }

    fn broadcast(&self, bytes: &mut Vec<u8>) {
        let root = self.world.process_at_rank(0);
        let mut len = bytes.len() as u64;
        root.broadcast_into(&mut len);
        bytes.resize(len as usize, 0);
        root.broadcast_into(&mut bytes[..]);
    }

    fn gather(&self, bytes: Vec<u8>) -> Option<Vec<Vec<u8>>> {
        if self.world.rank() != 0 {
            self.world.process_at_rank(0).send(&bytes[..]);
            return None;
        }
        let mut all = vec![bytes];
        for rank in 1..self.world.size() {
            all.push(self.world.process_at_rank(rank).receive_vec::<u8>().0);
        }
        Some(all)
    }
}
