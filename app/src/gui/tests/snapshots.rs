//! Snapshot images of the main views, rendered on the CPU (`soft_render`) and compared with the PNGs in
//! `app/tests/snapshots/` (kittest's comparison; `UPDATE_SNAPSHOTS=1 cargo test -p hashlens snapshot`
//! rewrites them after an intended change — look at them before committing).
//!
//! What varies between runs is pinned first: the demo library goes to a fixed folder (its path is shown),
//! the indexing rate and the CPU's thread count in the status bar are set, and thumbnails are awaited
//! before a picture is taken.

use std::time::{Duration, Instant};

use eframe::egui::Vec2;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use hashlens_core::device::DeviceChoice;

use super::super::{HashlensApp, Screen, Settings};
use super::soft_render::SoftRenderer;

fn app(data: &std::path::Path) -> Harness<'static, HashlensApp> {
    let settings = Settings {
        device: Some(DeviceChoice::Cpu),
        ..Settings::default()
    };
    let mut app = HashlensApp::new(settings);
    app.thumbnail_cache = None;
    app.data_dir = data.to_path_buf();
    Harness::builder()
        .with_size(Vec2::new(1200.0, 800.0))
        .renderer(SoftRenderer::default())
        .build_ui_state(|ui, app: &mut HashlensApp| app.show(ui), app)
}

/// Steps frames until `done` holds and no thumbnail is on its way.
fn settle(harness: &mut Harness<'static, HashlensApp>, done: impl Fn(&HashlensApp) -> bool) {
    let started = Instant::now();
    loop {
        harness.run_steps(2);
        let thumbs = harness
            .state()
            .library()
            .map_or(0, |l| l.thumbs.borrow().waiting());
        if done(harness.state()) && thumbs == 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(180), "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
    if let Screen::Library(lib) = &mut harness.state_mut().screen {
        lib.device = "CPU (flex)".into();
        if let Some(r) = &mut lib.last_report {
            r.images_per_s = 10.0;
        }
    }
    harness.run_steps(3);
}

#[test]
fn snapshots_of_the_main_views() {
    // A fixed path, not $TMPDIR's: the demo folder's path is part of the picture.
    let data = std::path::PathBuf::from("/tmp/hashlens-snapshots");
    let _ = std::fs::remove_dir_all(&data);
    let mut harness = app(&data);
    harness.run_steps(2);
    harness.snapshot("welcome");

    harness.get_by_label("Open the demo library").click();
    // Indexed, and the perceptual prints computed after it (their progress is in the status bar).
    settle(&mut harness, |app| {
        app.library()
            .is_some_and(|l| !l.indexing() && l.prints.progress.is_none())
    });
    harness.get_by_label("photo chelsea.jpg").click();
    settle(&mut harness, |app| {
        app.library().is_some_and(|l| !l.results.is_empty())
    });
    harness.snapshot("library-results");

    // The cat under dHash and pHash beside the learned codes.
    harness
        .get_by_label("Compare with perceptual hashes (dHash, pHash)")
        .click();
    settle(&mut harness, |app| {
        app.library().is_some_and(|l| l.hashes.columns.is_some())
    });
    harness.snapshot("hash-compare");
    harness
        .get_by_label("Compare with perceptual hashes (dHash, pHash)")
        .click();

    harness.get_by_label("Codes").click();
    settle(&mut harness, |app| {
        app.library().is_some_and(|l| l.codes.stats().is_some())
    });
    harness.snapshot("codes");

    // The demo's near-duplicates, each copy with what it looks like, the first group's suggestion taken.
    harness.get_by_label("Near-duplicates").click();
    settle(&mut harness, |app| {
        app.library()
            .and_then(|l| l.duplicates.search())
            .is_some_and(|d| d.groups.is_some())
    });
    harness
        .get_all_by_label("Select the others")
        .next()
        .expect("a group")
        .click();
    settle(&mut harness, |app| {
        app.library()
            .is_some_and(|l| !l.duplicates.selected.is_empty())
    });
    harness.snapshot("near-duplicates");

    // The code-space map of the demo, the cat (the query) ringed with its first results.
    harness.get_by_label("Map").click();
    settle(&mut harness, |app| {
        app.library().is_some_and(|l| l.map.layout.is_some())
    });
    harness.snapshot("map");

    // The same query after a re-index with another model (the trained-head fixture, 16 bits): before
    // and after side by side.
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/trained-head-v1.hlmodel");
    let ctx = harness.ctx.clone();
    if let super::super::Screen::Library(lib) = &mut harness.state_mut().screen {
        lib.apply(
            vec![super::super::library::LibraryCommand::UseModel(fixture)],
            &ctx,
        );
    }
    settle(&mut harness, |app| {
        app.library()
            .is_some_and(|l| !l.indexing() && l.before.is_some() && !l.results.is_empty())
    });
    harness.snapshot("before-after");
}
