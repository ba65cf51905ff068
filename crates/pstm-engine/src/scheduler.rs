//! Who migrates which tile next. The executor asks a [`TileScheduler`] for tiles and reports
//! each one written; a local queue serves one process now, and a durable journal (resume) or a
//! queue shared by MPI ranks plug in behind the same trait.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::Result;

pub trait TileScheduler: Sync {
    /// The next tile (an index into the plan's tiles) to migrate, or `None` when none is left.
    fn next_tile(&self) -> Option<usize>;

    /// Tile `index` is migrated and every output of it written.
    fn completed(&self, index: usize) -> Result<()>;
}

/// Every tile of a plan once, in plan order, from memory.
#[derive(Debug)]
pub struct LocalQueue {
    next: AtomicUsize,
    n_tiles: usize,
    done: AtomicUsize,
}

impl LocalQueue {
    pub fn new(n_tiles: usize) -> Self {
        Self { next: AtomicUsize::new(0), n_tiles, done: AtomicUsize::new(0) }
    }

    /// Tiles reported complete so far.
    pub fn completed_tiles(&self) -> usize {
        self.done.load(Ordering::Relaxed)
    }
}

impl TileScheduler for LocalQueue {
    fn next_tile(&self) -> Option<usize> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        (i < self.n_tiles).then_some(i)
    }

    fn completed(&self, _index: usize) -> Result<()> {
        self.done.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_queue_hands_out_every_tile_once_in_order() {
        let q = LocalQueue::new(3);
        let got: Vec<_> = std::iter::from_fn(|| q.next_tile()).collect();
        assert_eq!(got, vec![0, 1, 2]);
        assert_eq!(q.next_tile(), None);
        q.completed(1).unwrap();
        assert_eq!(q.completed_tiles(), 1);
    }
}
