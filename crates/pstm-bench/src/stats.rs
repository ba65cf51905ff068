//! Summary statistics of repeated measurements.

use serde::{Deserialize, Serialize};

/// Mean, spread and order statistics of a set of measurements (the roadmap's benchmark summary).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub mean: f64,
    /// Population standard deviation (divides by n, as NumPy's `np.std` does by default), so
    /// numbers compare with the roadmap's Python framework.
    pub std: f64,
    pub min: f64,
    pub max: f64,
    /// Middle value; the mean of the two middle values when n is even.
    pub median: f64,
}

impl Stats {
    /// Statistics of `values`, which must be non-empty and finite.
    ///
    /// # Panics
    /// On an empty slice or a non-finite value: a benchmark always has at least one run, and a
    /// non-finite time is a bug in the caller, not a measurement.
    pub fn of(values: &[f64]) -> Self {
        assert!(!values.is_empty(), "statistics of no measurements");
        assert!(values.iter().all(|v| v.is_finite()), "non-finite measurement in {values:?}");
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let k = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 { sorted[k] } else { 0.5 * (sorted[k - 1] + sorted[k]) };
        Self { mean, std: var.sqrt(), min: sorted[0], max: sorted[sorted.len() - 1], median }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_set_even_count() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations summing to 32, population std
        // sqrt(32 / 8) = 2 exactly; median between the middle two (4 and 5).
        let s = Stats::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(s, Stats { mean: 5.0, std: 2.0, min: 2.0, max: 9.0, median: 4.5 });
    }

    #[test]
    fn median_of_odd_count_is_the_middle_value_whatever_the_order() {
        let s = Stats::of(&[3.0, 1.0, 10.0, 2.0, 4.0]);
        assert_eq!((s.median, s.min, s.max, s.mean), (3.0, 1.0, 10.0, 4.0));
        // Deviations -3, -2, -1, 0, 6: variance 50 / 5 = 10.
        assert!((s.std - 10f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn one_value_has_no_spread() {
        assert_eq!(Stats::of(&[0.25]), Stats { mean: 0.25, std: 0.0, min: 0.25, max: 0.25, median: 0.25 });
    }

    #[test]
    #[should_panic(expected = "no measurements")]
    fn empty_input_is_a_bug() {
        Stats::of(&[]);
    }
}
