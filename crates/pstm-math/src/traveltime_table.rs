//! Traveltime tables (the roadmap's task 3.1): one-way straight-ray times per output time and
//! leg distance, so a kernel reads a leg's time instead of computing its square root.
//!
//! Row `it` holds `tau(d) = sqrt(half_t0_sq + d^2 inv_v2)` (in trace samples; `half_t0_sq` is
//! `(t0/2)^2` and `inv_v2` is `1/(v dt)^2` of output time `it`, for a velocity that varies with
//! time only) at `d = i * spacing`, `i < n_distances`, stored as (value, next value - value) so
//! that a lookup is one load and one fma. Linear interpolation errs by at most
//! `spacing^2 / 8 * max |tau''|`, and `tau''` peaks at `d = 0` at `inv_v2 / sqrt(half_t0_sq)`: a
//! row's spacing follows from the tolerance. The rows share one length, the most any row needs
//! within `max_distances`; a shallow row that would need more is not tabulated (spacing 0) and
//! the kernel computes its roots, as it does for distances past the table.

/// A job's table.
#[derive(Debug, Clone, PartialEq)]
pub struct TraveltimeTable {
    /// Entries per row.
    pub n_distances: usize,
    /// Per output time, 1 / spacing (1/m); 0 for a row the kernel computes exactly.
    pub inv_spacing: Vec<f32>,
    /// `n_rows * n_distances` pairs (value, next - value), in trace samples.
    pub pairs: Vec<[f32; 2]>,
    /// The distance the rows cover (m).
    pub max_distance_m: f64,
}

impl TraveltimeTable {
    /// The table of output times with `half_t0_sq` and `inv_v2` (trace samples), over leg
    /// distances up to `max_distance_m`, interpolating within `tolerance_samples`.
    pub fn build(
        half_t0_sq: &[f64],
        inv_v2: &[f64],
        max_distance_m: f64,
        tolerance_samples: f64,
        max_distances: usize,
    ) -> Self {
        assert_eq!(half_t0_sq.len(), inv_v2.len());
        let needed: Vec<usize> = half_t0_sq
            .iter()
            .zip(inv_v2)
            .map(|(&a, &b)| {
                let curvature = b / a.sqrt();
                if !curvature.is_finite() {
                    return usize::MAX;
                }
                let spacing = (8.0 * tolerance_samples / curvature).sqrt();
                (max_distance_m / spacing).ceil() as usize + 1
            })
            .collect();
        let n_distances = needed.iter().copied().filter(|&n| n <= max_distances).max().unwrap_or(2).max(2);
        let spacing = max_distance_m / (n_distances - 1) as f64;
        let mut pairs = Vec::with_capacity(half_t0_sq.len() * n_distances);
        let mut inv_spacing = Vec::with_capacity(half_t0_sq.len());
        for ((&a, &b), &n) in half_t0_sq.iter().zip(inv_v2).zip(&needed) {
            let tabulated = n <= n_distances;
            inv_spacing.push(if tabulated { (1.0 / spacing) as f32 } else { 0.0 });
            let tau = |i: usize| {
                let d = i as f64 * spacing;
                (a + d * d * b).sqrt()
            };
            for i in 0..n_distances {
                let (t, next) = (tau(i), if i + 1 < n_distances { tau(i + 1) } else { tau(i) });
                pairs.push(if tabulated { [t as f32, (next - t) as f32] } else { [0.0, 0.0] });
            }
        }
        Self { n_distances, inv_spacing, pairs, max_distance_m }
    }

    /// A leg's time from row `it` at distance `d` as a kernel reads it (float32), or `None` where
    /// the kernel computes the root: the CPU twin of the shader's lookup.
    pub fn lookup(&self, it: usize, d: f32) -> Option<f32> {
        let x = d * self.inv_spacing[it];
        if self.inv_spacing[it] > 0.0 && x < (self.n_distances - 1) as f32 {
            let i = x.floor();
            let p = self.pairs[it * self.n_distances + i as usize];
            Some((x - i).mul_add(p[1], p[0]))
        } else {
            None
        }
    }

    /// Rows the kernel reads from the table.
    pub fn tabulated_rows(&self) -> usize {
        self.inv_spacing.iter().filter(|&&s| s > 0.0).count()
    }

    /// Device bytes of the pairs.
    pub fn bytes(&self) -> usize {
        self.pairs.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn lookups_stay_within_the_tolerance_and_shallow_rows_stay_exact() {
        // 2 ms traces, 2500 m/s, output times every 4 ms from 0.
        let dt = 0.002;
        let times: Vec<f64> = (0..300).map(|i| i as f64 * 0.004).collect();
        let half: Vec<f64> = times.iter().map(|t| (0.5 * t / dt).powi(2)).collect();
        let inv_v2 = vec![(1.0 / (2500.0 * dt)).powi(2); times.len()];
        for tolerance in [0.05, 0.005] {
            let table = TraveltimeTable::build(&half, &inv_v2, 3000.0, tolerance, 4096);
            let mut rng = SplitMix64::new(3);
            let mut worst = 0.0f64;
            for _ in 0..20000 {
                let it = (rng.uniform() * times.len() as f64) as usize % times.len();
                let d = (rng.uniform() * 3200.0) as f32;
                let exact = (half[it] + (d as f64).powi(2) * inv_v2[it]).sqrt();
                match table.lookup(it, d) {
                    Some(t) => worst = worst.max((t as f64 - exact).abs()),
                    None => assert!(table.inv_spacing[it] == 0.0 || d as f64 >= 3000.0 - 1e-3 * 3000.0),
                }
            }
            println!(
                "tolerance {tolerance}: {} distances, {} of {} rows tabulated, worst error {worst:.2e} samples",
                table.n_distances,
                table.tabulated_rows(),
                times.len()
            );
            assert!(worst <= tolerance + 1e-3, "worst {worst}");
            assert!(table.inv_spacing[0] == 0.0, "t0 = 0 has no finite curvature: computed exactly");
            assert!(table.tabulated_rows() > times.len() / 2);
        }
    }
}
