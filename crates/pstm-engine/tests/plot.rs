//! `pstm plot` pictures read back: every kind drawn at its size, with a colour bar from red to
//! blue, and the synthetic's focus where its truth says (the time slice north up).

mod common;

use common::*;
use pstm_engine::plot::{self, HEIGHT, PlotKind, PlotOptions, WIDTH};
use pstm_engine::{RunOptions, create_kernel, executor};

fn rgb(img: &image::RgbImage, (x, y): (i32, i32)) -> [u8; 3] {
    img.get_pixel(x as u32, y as u32).0
}

/// Strongly red (positive).
fn red(p: [u8; 3]) -> bool {
    p[0] > 200 && p[1] < 110 && p[2] < 110
}

/// Strongly red or blue: near the clip, either sign (the cut goes through the peak |amplitude|).
fn saturated(p: [u8; 3]) -> bool {
    red(p) || (p[2] > 200 && p[0] < 110 && p[1] < 110)
}

#[test]
fn every_kind_of_picture_shows_the_focus_where_the_truth_says() {
    let dir = tempfile::tempdir().unwrap();
    // The diffractor north-east of the centre: a map drawn south-up would put it low.
    let mut s = spec(500.0, 0.8, "{constant: 2500}");
    s.diffractors.push(diffractor(300.0, 375.0, 500.0));
    let ds = write_survey(dir.path(), "survey", &s);
    let text = format!(
        "input: {{dataset: {}}}\nvelocity: {{constant: 2500}}\nalgorithm: {{prefilter: derivative}}\noutput: {{directory: {}, grid: {{origin_x: 0, origin_y: 0, dx: 25, dy: 25, nx: 21, ny: 21}}, offset_gathers: {{bin_width_m: 200}}}}\n",
        ds.display(),
        dir.path().join("out").display()
    );
    let job = pstm_engine::MigrationJob::from_config(pstm_config::from_yaml_str(&text).unwrap()).unwrap();
    let kernel = create_kernel("cpu", &Default::default()).unwrap();
    let out = executor::migrate(&job, kernel.as_ref(), RunOptions::QUIET).unwrap().output.unwrap();

    let kinds = vec![PlotKind::Inline, PlotKind::Crossline, PlotKind::Time, PlotKind::Gather];
    let pictures = plot::plot(&out, &dir.path().join("plots"), &PlotOptions { kinds, ..Default::default() }).unwrap();
    assert_eq!(pictures.len(), 4);
    for p in &pictures {
        let img = image::open(&p.path).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (WIDTH, HEIGHT), "{:?}", p.path);
        // The colour bar: red at +clip, white at 0, blue at -clip.
        let (x0, y0, x1, y1) = p.colour_bar;
        let xm = (x0 + x1) / 2;
        assert!(red(rgb(&img, (xm, y0 + 1))), "{:?}: top of the bar", p.path);
        assert!(rgb(&img, (xm, (y0 + y1) / 2)).iter().all(|&c| c > 245), "{:?}: middle of the bar", p.path);
        let bottom = rgb(&img, (xm, y1 - 1));
        assert!(bottom[2] == 255 && bottom[0] < 20, "{:?}: bottom of the bar {bottom:?}", p.path);
        println!("{:?}: markers at {:?}, clip {:.3e}", p.kind, p.markers, p.clip);
        if p.kind == PlotKind::Gather {
            continue;
        }
        // The truth is marked once; the image's focus lies under the marker.
        assert_eq!(p.markers.len(), 1, "{:?}", p.kind);
        let (mx, my) = p.markers[0];
        let focus = (-3..=3).flat_map(|dx| (-3..=3).map(move |dy| (mx + dx, my + dy))).any(|q| saturated(rgb(&img, q)));
        assert!(focus, "{:?}: no focus under the truth's marker at ({mx}, {my})", p.kind);
        if p.kind == PlotKind::Time {
            // North up: 375 m north of a 0..500 m grid is in the upper half of the map.
            assert!(my < (y0 + y1) / 2, "the focus at pixel row {my}: the map is not north up");
        }
    }

    // A volume on its own, with AGC, and a position out of range said plainly.
    let stack = out.join("migrated_stack.zarr");
    let agc = PlotOptions { kinds: vec![PlotKind::Time], agc_ms: Some(100.0), ..Default::default() };
    let p = plot::plot(&stack, &dir.path().join("plots"), &agc).unwrap();
    assert!(p[0].path.ends_with("migrated_stack_time.png") && p[0].markers.is_empty());
    let far = PlotOptions { inline: Some(99), ..Default::default() };
    let e = plot::plot(&stack, &dir.path().join("plots"), &far).unwrap_err().to_string();
    assert!(e.contains("--inline 99") && e.contains("1..21"), "{e}");
}
