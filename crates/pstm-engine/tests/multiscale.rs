//! The multiscale stack (`output.multiscale`) against the stack it is made from: level 0 is the
//! stack bit for bit, level k the mean of its 2^k x 2^k x 2^k blocks (the far edges' partial
//! blocks included) to float32 rounding, computed here independently in float64.

mod common;

use common::*;
use pstm_engine::output::{MULTISCALE, MULTISCALE_ARRAY, STACK};
use pstm_engine::{RunOptions, create_kernel, executor};
use pstm_io::VolumeReader;

const ALGORITHM: &str = "{aperture: {max_m: 300}}";
// 13 x 11 columns: the far edges end in partial blocks of every level.
const GRID: &str = "{origin_x: 0, origin_y: 0, dx: 25, dy: 25, nx: 13, ny: 11, t_max_ms: 398}";

#[test]
fn multiscale_levels_are_block_means_of_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(400.0, 0.4, "{constant: 2000}");
    s.diffractors.push(diffractor(150.0, 125.0, 200.0));
    s.noise = 0.05;
    let ds = write_survey(dir.path(), "survey", &s);
    let output = "{directory: out, grid: GRID, multiscale: {levels: 3}}".replace("GRID", GRID);
    let text = format!(
        "input: {{dataset: {}}}\nvelocity: {{constant: 2000}}\nalgorithm: {ALGORITHM}\noutput: {output}\nexecution: {{tile: [8, 4], progress: false}}\n",
        ds.display()
    );
    let mut config: pstm_config::JobConfig = pstm_config::from_yaml_str(&text).unwrap();
    config.resolve_paths(dir.path());
    let job = pstm_engine::MigrationJob::from_config(config.clone()).unwrap();
    let kernel = create_kernel("cpu", &Default::default()).unwrap();
    let out = executor::migrate(&job, kernel.as_ref(), RunOptions::QUIET).unwrap().output.unwrap();
    let stack = VolumeReader::open(&out.join(STACK)).unwrap().read_all_f32().unwrap();
    let (nx, ny, nt) = (job.grid.nx, job.grid.ny, job.grid.time.nt);
    assert_eq!(nt, 200);
    for k in 0..3usize {
        let level = VolumeReader::open(&out.join(MULTISCALE).join(k.to_string()).join(MULTISCALE_ARRAY)).unwrap();
        let g = level.info().grid;
        let b = 1usize << k;
        assert_eq!((g.nx, g.ny, g.time.nt), (nx.div_ceil(b), ny.div_ceil(b), nt.div_ceil(b)), "level {k}");
        assert_eq!((g.dx, g.time.dt_s), (25.0 * b as f64, job.grid.time.dt_s * b as f64));
        let values = level.read_all_f32().unwrap();
        if k == 0 {
            assert!(values.iter().zip(&stack).all(|(a, b)| a.to_bits() == b.to_bits()), "level 0 is the stack");
            continue;
        }
        let mut worst = 0.0f64;
        for bx in 0..g.nx {
            for by in 0..g.ny {
                for bt in 0..g.time.nt {
                    let (mut sum, mut sum_abs, mut n) = (0.0f64, 0.0f64, 0.0f64);
                    for ix in bx * b..((bx + 1) * b).min(nx) {
                        for iy in by * b..((by + 1) * b).min(ny) {
                            for it in bt * b..((bt + 1) * b).min(nt) {
                                let v = stack[(ix * ny + iy) * nt + it] as f64;
                                sum += v;
                                sum_abs += v.abs();
                                n += 1.0;
                            }
                        }
                    }
                    let got = values[(bx * g.ny + by) * g.time.nt + bt] as f64;
                    let error = (got - sum / n).abs() / (sum_abs / n).max(1e-30);
                    worst = worst.max(error);
                }
            }
        }
        println!("level {k}: worst error against the block mean, relative to the block's mean |value|: {worst:.2e}");
        assert!(worst <= 1e-6, "level {k}: {worst}");
    }

    // `pstm info` lists the levels, of the output directory and of the group itself.
    let text = pstm_engine::info::describe(&out).unwrap();
    assert!(text.contains("level 2  4 x 3 x 50, dx 100 m"), "{text}");
    assert!(pstm_engine::info::describe(&out.join(MULTISCALE)).unwrap().contains("level 1  7 x 6 x 100"));

    // A tile that splits the coarsest blocks is refused, naming the key.
    config.execution.tile = Some([6, 4]);
    config.output.overwrite = true;
    let job = pstm_engine::MigrationJob::from_config(config).unwrap();
    let e = executor::migrate(&job, kernel.as_ref(), RunOptions::QUIET).unwrap_err().to_string();
    assert!(e.contains("execution.tile") && e.contains("output.multiscale") && e.contains("multiples of 4"), "{e}");
}
