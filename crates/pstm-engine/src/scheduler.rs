//! Who migrates which tile next. The executor asks a [`TileScheduler`] for tiles and reports
//! each one written; a [`TileQueue`] serves one process, from memory or on a durable
//! [`Journal`] (resume), and a queue shared by MPI ranks plugs in behind the same trait.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::error::Result;
use crate::journal::Journal;

pub trait TileScheduler: Sync {
    /// The next tile (an index into the plan's tiles) to migrate, or `None` when none is left.
    fn next_tile(&self) -> Option<usize>;

    /// Tile `index` is migrated and every output of it written; `fold` is its fold's sum.
    fn completed(&self, index: usize, fold: u64) -> Result<()>;
}

/// The tiles of a plan not yet finished, each handed out once in plan order. With a journal,
/// tiles it lists as finished are not handed out, and each tile completed is recorded in it
/// before [`TileScheduler::completed`] returns.
#[derive(Debug)]
pub struct TileQueue<'a> {
    pending: Mutex<VecDeque<usize>>,
    in_flight: Mutex<BTreeSet<usize>>,
    done: AtomicUsize,
    fold: AtomicU64,
    journal: Option<&'a Journal>,
}

impl<'a> TileQueue<'a> {
    /// Every tile of a plan of `n_tiles`.
    pub fn new(n_tiles: usize) -> Self {
        Self::with_journal(n_tiles, None)
    }

    /// The tiles `journal` does not list as finished.
    pub fn with_journal(n_tiles: usize, journal: Option<&'a Journal>) -> Self {
        let finished = journal.map(|j| j.done()).unwrap_or_default();
        Self {
            pending: Mutex::new((0..n_tiles).filter(|i| !finished.contains_key(i)).collect()),
            in_flight: Mutex::new(BTreeSet::new()),
            done: AtomicUsize::new(0),
            fold: AtomicU64::new(0),
            journal,
        }
    }

    /// Only `share`'s tiles: of those not finished, every `size`-th from its rank on, so that
    /// each process of a shared run takes tiles from every part of the survey.
    pub fn share(self, share: crate::output::Share) -> Self {
        let mut pending = self.pending.into_inner().unwrap_or_else(|e| e.into_inner());
        pending = pending.into_iter().skip(share.rank).step_by(share.size.max(1)).collect();
        Self { pending: Mutex::new(pending), ..self }
    }

    /// Tiles reported complete through this queue.
    pub fn completed_tiles(&self) -> usize {
        self.done.load(Ordering::Relaxed)
    }

    /// The sum of the folds of the tiles reported complete through this queue.
    pub fn fold_sum(&self) -> u64 {
        self.fold.load(Ordering::Relaxed)
    }

    /// Tiles handed out and not completed: those a failed attempt was migrating.
    pub fn in_flight(&self) -> Vec<usize> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner()).iter().copied().collect()
    }

    /// Hand out again, first and in order, the tiles handed out and never completed (after an
    /// attempt that failed).
    pub fn requeue(&self) {
        let mut flying = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        for &i in flying.iter().rev() {
            pending.push_front(i);
        }
        flying.clear();
    }

    /// The tiles not yet handed out, in the order they will be.
    pub fn pending_tiles(&self) -> Vec<usize> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).iter().copied().collect()
    }

    /// Tiles not yet handed out.
    pub fn pending(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl TileScheduler for TileQueue<'_> {
    fn next_tile(&self) -> Option<usize> {
        let next = self.pending.lock().unwrap_or_else(|e| e.into_inner()).pop_front()?;
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner()).insert(next);
        Some(next)
    }

    fn completed(&self, index: usize, fold: u64) -> Result<()> {
        if let Some(journal) = self.journal {
            journal.record(index, fold)?;
        }
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner()).remove(&index);
        self.done.fetch_add(1, Ordering::Relaxed);
        self.fold.fetch_add(fold, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> crate::journal::RunIdentity {
        crate::journal::RunIdentity {
            job: serde_json::json!({}),
            kernel: "cpu".into(),
            plan: serde_json::json!({}),
            dataset: serde_json::json!({}),
        }
    }

    #[test]
    fn a_queue_hands_out_every_tile_once_in_order() {
        let q = TileQueue::new(3);
        let got: Vec<_> = std::iter::from_fn(|| q.next_tile()).collect();
        assert_eq!(got, vec![0, 1, 2]);
        assert_eq!(q.next_tile(), None);
        q.completed(1, 0).unwrap();
        assert_eq!(q.completed_tiles(), 1);
        assert_eq!(q.in_flight(), vec![0, 2]);
    }

    #[test]
    fn shares_deal_the_unfinished_tiles_in_turn() {
        use crate::output::Share;
        let dir = tempfile::tempdir().unwrap();
        let identity = identity();
        let journal = Journal::create(dir.path(), identity, 7).unwrap();
        journal.record(2, 1).unwrap();
        let take = |q: TileQueue| std::iter::from_fn(|| q.next_tile()).collect::<Vec<_>>();
        let share = |rank| TileQueue::with_journal(7, Some(&journal)).share(Share { rank, size: 2 });
        assert_eq!(take(share(0)), vec![0, 3, 5]);
        assert_eq!(take(share(1)), vec![1, 4, 6]);
        assert_eq!(take(TileQueue::new(3).share(Share::WHOLE)), vec![0, 1, 2]);
    }

    #[test]
    fn a_failed_attempts_tiles_come_back_first() {
        let q = TileQueue::new(5);
        let (a, b) = (q.next_tile().unwrap(), q.next_tile().unwrap());
        q.completed(a, 0).unwrap();
        let c = q.next_tile().unwrap();
        q.requeue();
        let got: Vec<_> = std::iter::from_fn(|| q.next_tile()).collect();
        assert_eq!(got, vec![b, c, 3, 4]);
    }

    #[test]
    fn a_journals_finished_tiles_are_skipped_and_new_ones_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let identity = identity();
        let journal = Journal::create(dir.path(), identity, 4).unwrap();
        journal.record(1, 9).unwrap();
        let q = TileQueue::with_journal(4, Some(&journal));
        assert_eq!(q.pending(), 3);
        let first = q.next_tile().unwrap();
        assert_eq!(first, 0);
        q.completed(first, 3).unwrap();
        assert_eq!(journal.done(), std::collections::BTreeMap::from([(0, 3), (1, 9)]));
    }
}
