//! The app driven as a user would (egui_kittest: simulated clicks and keys), on the CPU backend.

mod snapshots;
mod soft_render;

use std::path::Path;
use std::time::{Duration, Instant};

use eframe::egui::{self, Vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use hashlens_core::HashCode;
use hashlens_core::device::DeviceChoice;
use hashlens_core::index::CodeIndex;
use hashlens_core::model::CodePurpose;

use super::{HashlensApp, Screen, Settings};

/// `n` small photos in two colour families.
fn photos(root: &Path, n: u32) {
    std::fs::create_dir_all(root).unwrap();
    for i in 0..n {
        let warm = i % 2 == 0;
        let img = image::RgbImage::from_fn(40, 32, |x, y| {
            let t = ((x * 3 + y * 2 + i * 11) % 64) as u8;
            if warm {
                image::Rgb([200 + t / 2, 60 + t, 20])
            } else {
                image::Rgb([20, 60 + t, 200 + t / 2])
            }
        });
        img.save(root.join(format!("{i:03}.png"))).unwrap();
    }
}

fn app() -> Harness<'static, HashlensApp> {
    let settings = Settings {
        device: Some(DeviceChoice::Cpu),
        ..Settings::default()
    };
    Harness::builder()
        .with_size(Vec2::new(1200.0, 800.0))
        .build_ui_state(|ui, app: &mut HashlensApp| app.show(ui), {
            let mut app = HashlensApp::new(settings);
            app.thumbnail_cache = None;
            app
        })
}

/// Steps frames until `done` holds (background work reports through channels between frames).
fn wait(harness: &mut Harness<'static, HashlensApp>, done: impl Fn(&HashlensApp) -> bool) {
    let started = Instant::now();
    while !done(harness.state()) {
        assert!(started.elapsed() < Duration::from_secs(180), "timed out");
        std::thread::sleep(Duration::from_millis(20));
        harness.step();
    }
    harness.run_steps(3);
}

/// The method chosen in the open library's Model tab.
fn chosen_method(harness: &Harness<'static, HashlensApp>) -> hashlens_core::train::Method {
    harness
        .state()
        .library()
        .unwrap()
        .model_panel
        .settings
        .method
}

/// Opens `folder` and waits until it is indexed.
fn open_indexed(harness: &mut Harness<'static, HashlensApp>, folder: &Path) {
    open(harness, folder);
    // Indexed, and the perceptual prints computed after it (so that no progress bar comes and goes).
    wait(harness, |app| {
        app.library()
            .is_some_and(|l| !l.indexing() && l.prints.progress.is_none())
    });
}

/// Opens the near-duplicates tab and waits for its groups.
fn show_near_duplicates(harness: &mut Harness<'static, HashlensApp>) {
    harness.get_by_label("Near-duplicates").click();
    harness.run_steps(2);
    wait(harness, |app| {
        app.library()
            .and_then(|l| l.duplicates.search())
            .is_some_and(|d| d.groups.is_some())
    });
}

fn open(harness: &mut Harness<'static, HashlensApp>, folder: &Path) {
    harness.state_mut().welcome.path = folder.display().to_string();
    harness.get_by_label("Open").click();
    harness.step();
}

#[test]
fn open_a_folder_click_a_photo_and_see_ranked_results_with_their_bits() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 12);
    let mut harness = app();
    open_indexed(&mut harness, &root);
    let index = CodeIndex::load(&root.join(".hashlens/index.hlindex")).unwrap();
    assert_eq!(index.len(), 12);
    harness.get_by_label_contains("12 photos searchable");

    harness.get_by_label("photo 003.png").click();
    harness.run_steps(3);
    // The query's bit grid shows its code.
    let q = index.position(&root.join("003.png")).unwrap();
    let code = index.codes().get(q);
    harness.get_by_label(&format!("query code {code}"));

    // The results are the other eleven photos in Hamming order, each with its distance, as computed here
    // from the saved index with plain bit comparisons.
    let mut expected: Vec<(u32, usize)> = (0..index.len())
        .filter(|&i| i != q)
        .map(|i| (bit_distance(&code, &index.codes().get(i)), i))
        .collect();
    expected.sort();
    let shown: Vec<u32> = harness
        .get_all_by_label_contains("distance ")
        .filter_map(|n| {
            let node = n.accesskit_node();
            let label = node.label().or_else(|| node.value())?;
            let rest = label.strip_prefix("distance ")?.to_string();
            Some(rest.split(' ').next()?.parse().expect("a distance"))
        })
        .collect();
    assert_eq!(shown, expected.iter().map(|e| e.0).collect::<Vec<_>>());
    // The nearest result's distance read against this library's own: the share of its 66 pairs of
    // photos farther apart, counted here.
    let nearest = expected[0].0;
    let farther = (0..index.len())
        .flat_map(|i| (i + 1..index.len()).map(move |j| (i, j)))
        .filter(|&(i, j)| bit_distance(&index.codes().get(i), &index.codes().get(j)) > nearest)
        .count();
    harness.get_by_label_contains(&format!(
        "distance {nearest} · {:.0}% · {} · nearer than {} of pairs here",
        100.0 * (1.0 - nearest as f32 / 64.0),
        super::library_view::verdict(&hashlens_core::eval::VerdictRule::fixed(64), nearest, None),
        super::library_view::percent(farther as f64 / 66.0)
    ));

    // The flip test: six teacher views, each encoded, with the original's rank among the view's
    // neighbours (checked here against plain bit comparisons, ties broken by position).
    harness
        .get_by_label("Flip test: which bits do augmentations flip?")
        .click();
    harness.run_steps(2);
    harness.get_by_label("Teacher views").click();
    harness.step();
    wait(&mut harness, |app| {
        app.library()
            .and_then(|l| l.flip.as_ref())
            .is_some_and(|f| !f.running())
    });
    let flip = harness.state().library().unwrap().flip.as_ref().unwrap();
    assert_eq!((flip.views.len(), flip.error.as_deref()), (6, None));
    for (v, view) in flip.views.iter().enumerate() {
        let d0 = bit_distance(&view.code, &code);
        let rank = 1
            + (0..index.len())
                .filter(|&j| {
                    let d = bit_distance(&view.code, &index.codes().get(j));
                    d < d0 || (d == d0 && j < q)
                })
                .count();
        assert_eq!(view.rank, rank, "view {v}");
        harness.get_by_label(&format!("view {} code {}", v + 1, view.code));
    }

    // A copy of the photo from outside the library, dropped as the query, finds the same ranking plus the
    // original itself at distance 0.
    let outside = dir.path().join("outside.png");
    std::fs::copy(root.join("003.png"), &outside).unwrap();
    let ctx = harness.ctx.clone();
    match &mut harness.state_mut().screen {
        super::Screen::Library(lib) => lib.query_by_file(&outside, DeviceChoice::Cpu, &ctx),
        super::Screen::Welcome => unreachable!(),
    }
    wait(&mut harness, |app| {
        app.library().is_some_and(|l| l.outside.is_some())
    });
    let lib = harness.state().library().unwrap();
    assert_eq!(lib.results[0].index, q);
    assert_eq!(lib.results[0].distance, 0);
    harness.get_by_label("photo 003.png").click();
    harness.run_steps(3);

    // Arrow right selects the next photo; Escape clears the selection.
    harness.key_press(egui::Key::ArrowRight);
    harness.run_steps(2);
    assert_eq!(harness.state().library().unwrap().selected, Some(q + 1));
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);
    assert_eq!(harness.state().library().unwrap().selected, None);
    // With nothing selected, Escape does nothing: the library stays open.
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);
    assert!(harness.state().library().is_some());
}

#[test]
fn an_empty_radius_says_how_far_to_widen_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 12);
    let mut harness = app();
    open_indexed(&mut harness, &root);
    harness.get_by_label("photo 003.png").click();
    harness.run_steps(2);
    harness.get_by_label("within radius").click();
    harness.run_steps(2);
    if let Screen::Library(lib) = &mut harness.state_mut().screen {
        lib.query.radius = Some(0);
    }
    harness.run_steps(3);
    // The results panel belongs to the Photos tab: the Codes tab gets the whole width.
    harness.get_by_label("Codes").click();
    harness.run_steps(2);
    assert!(harness.query_by_label("within radius").is_none());
    harness.get_by_label("Photos").click();
    harness.run_steps(2);
    harness.get_by_label("within radius");
    let lib = harness.state().library().unwrap();
    let index = lib.index.as_ref().unwrap();
    let q = index.position(&root.join("003.png")).unwrap();
    let code = index.codes().get(q);
    // The nearest other photo, by plain bit comparisons.
    let nearest = (0..index.len())
        .filter(|&i| i != q)
        .map(|i| bit_distance(&code, &index.codes().get(i)))
        .min()
        .unwrap();
    assert!(nearest > 0, "no other photo shares the query's code");
    assert!(lib.results.is_empty());
    harness.get_by_label_contains(&format!("The nearest is {nearest} bits away"));
}

#[test]
fn a_pasted_path_searches_with_that_photo() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 8);
    let outside = dir.path().join("outside.png");
    std::fs::copy(root.join("002.png"), &outside).unwrap();
    let mut harness = app();
    open_indexed(&mut harness, &root);
    harness.get_by_label("Search with a photo…");
    // Text that names no file is not a query.
    harness.event(egui::Event::Paste("hello".into()));
    harness.run_steps(2);
    assert!(harness.state().library().unwrap().outside.is_none());
    harness.event(egui::Event::Paste(outside.display().to_string()));
    wait(&mut harness, |app| {
        app.library().is_some_and(|l| l.outside.is_some())
    });
    // A copy of an indexed photo: encoded by the index's model, it finds its original at distance 0.
    let lib = harness.state().library().unwrap();
    let index = lib.index.as_ref().unwrap();
    let original = index.position(&root.join("002.png")).unwrap();
    assert_eq!(lib.results[0].distance, 0);
    assert_eq!(
        bit_distance(
            &lib.outside.as_ref().unwrap().1,
            &index.codes().get(original)
        ),
        0
    );
}

#[test]
fn recent_folders_keep_their_places() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    photos(&a, 4);
    photos(&b, 4);
    let mut harness = app();
    let visit = |harness: &mut Harness<'static, HashlensApp>, folder: &Path| {
        open_indexed(harness, folder);
        harness.get_by_label("Folders").click();
        harness.run_steps(2);
    };
    visit(&mut harness, &a);
    visit(&mut harness, &b);
    assert_eq!(harness.state().settings.recent, [b.clone(), a.clone()]);
    // Opening a listed folder again leaves the list as it was: the same spot opens the same folder.
    visit(&mut harness, &a);
    assert_eq!(harness.state().settings.recent, [b.clone(), a]);
    // Each recent folder says what it holds, read from its index; one gone since says so.
    assert_eq!(
        harness
            .get_all_by_label_contains("4 photos · indexed ")
            .count(),
        2
    );
    // …and shows its first photo, decoded on a worker thread.
    wait(&mut harness, |app| app.welcome.thumbnails_ready() == 2);
    std::fs::remove_dir_all(b.join(".hashlens")).unwrap();
    harness.state_mut().welcome.forget(&b);
    harness.run_steps(2);
    harness.get_by_label("not indexed yet");
}

fn bit_distance(a: &HashCode, b: &HashCode) -> u32 {
    let (a, b) = (a.to_string(), b.to_string());
    a.chars().zip(b.chars()).filter(|(x, y)| x != y).count() as u32
}

#[test]
fn cancel_stops_indexing_and_keeps_the_app_usable() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 60);
    let mut harness = app();
    open(&mut harness, &root);
    wait(&mut harness, |app| {
        app.library().is_some_and(|l| l.progress.is_some())
    });
    harness.get_by_label("Cancel").click();
    harness.step();
    wait(&mut harness, |app| {
        app.library().is_some_and(|l| !l.indexing())
    });
    let lib = harness.state().library().unwrap();
    let indexed = lib.index.as_ref().map_or(0, |i| i.len());
    assert!(indexed < 60, "cancelled before the end: {indexed} indexed");
    // Codes shown for the moment (the shipped reference's, while the fit read) leave with the run.
    assert!(!lib.provisional);
    harness.get_by_label_contains("cancelled");
    // Re-index finishes the job.
    harness.get_by_label("Re-index").click();
    harness.step();
    wait(&mut harness, |app| {
        app.library().is_some_and(|l| !l.indexing())
    });
    assert_eq!(
        harness
            .state()
            .library()
            .unwrap()
            .index
            .as_ref()
            .unwrap()
            .len(),
        60
    );
}

#[test]
fn photos_show_in_the_grid_before_they_are_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 60);
    let mut harness = app();
    open(&mut harness, &root);
    // The scan lists the photos before the model is fitted on them: the grid shows all 60 at once,
    // with thumbnails, not yet selectable.
    let started = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(10));
        harness.step();
        let lib = harness.state().library().unwrap();
        if lib.waiting.len() == 60 {
            break;
        }
        assert!(lib.indexing(), "the photos were listed while indexing");
        assert!(started.elapsed() < Duration::from_secs(180), "timed out");
    }
    harness.get_by_label("waiting photo 000.png").click();
    harness.step();
    assert_eq!(harness.state().library().unwrap().selected, None);
    wait(&mut harness, |app| {
        app.library().is_some_and(|l| !l.indexing())
    });
    let lib = harness.state().library().unwrap();
    assert!(lib.waiting.is_empty());
    assert_eq!(lib.index.as_ref().unwrap().len(), 60);
    harness.get_by_label("photo 000.png");
}

#[test]
fn a_path_that_is_not_a_folder_is_explained() {
    let mut harness = app();
    open(&mut harness, Path::new("/no/such/folder"));
    harness.run_steps(2);
    harness.get_by_label_contains("is not a folder");
    assert!(harness.state().library().is_none());
}

#[test]
fn the_demo_library_opens_offline_and_finds_near_duplicates() {
    let data = tempfile::tempdir().unwrap();
    let mut harness = app();
    harness.state_mut().data_dir = data.path().to_path_buf();
    harness.get_by_label("Open the demo library").click();
    harness.step();
    wait(&mut harness, |app| {
        app.library().is_some_and(|l| !l.indexing())
    });
    let n = super::demo::photo_count();
    harness.get_by_label_contains(&format!("{n} photos searchable"));
    // The cat's nearest photo is its smaller, recompressed copy.
    harness.get_by_label("photo chelsea.jpg").click();
    harness.run_steps(3);
    let lib = harness.state().library().unwrap();
    let first = lib.results[0];
    let index = lib.index.as_ref().unwrap();
    assert!(
        index.photos()[first.index]
            .path
            .ends_with("chelsea_small.jpg")
    );

    // The near-duplicates view groups the cat with its copy.
    show_near_duplicates(&mut harness);
    let lib = harness.state().library().unwrap();
    let groups = lib.duplicates.search().unwrap().groups.as_ref().unwrap();
    let names = |g: &Vec<super::duplicates::Member>| -> Vec<String> {
        g.iter()
            .map(|m| m.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    };
    assert!(
        groups
            .iter()
            .any(|g| names(g) == ["chelsea.jpg", "chelsea_small.jpg"]),
        "{:?}",
        groups.iter().map(names).collect::<Vec<_>>()
    );
    let members: usize = groups.iter().map(Vec::len).sum();
    assert_eq!(
        harness.get_all_by_label_contains(" from it").count(),
        members - groups.len(),
        "each copy is shown with its distance to its group's likely original"
    );
    assert_eq!(
        harness.get_all_by_label("likely the original").count(),
        groups.len()
    );
    // The demo's own copies, each told for what it is next to its original (assets/demo/make-demo.sh;
    // a mirror says nothing of which came first, so either of that pair may lead).
    for (photo, seen) in [
        ("chelsea_small.jpg", "likely resized to"),
        ("rocket_mirrored.jpg", "likely mirrored"),
        ("astronaut_brighter.jpg", "likely brighter"),
    ] {
        let group = groups
            .iter()
            .find(|g| g.iter().any(|m| m.path.ends_with(photo)))
            .unwrap_or_else(|| panic!("{photo} is grouped"));
        assert_eq!(group.len(), 2);
        let shown = format!("likely {}", group[1].looks_like.unwrap().describe());
        assert!(shown.starts_with(seen), "{photo}: {shown}");
    }

    // The codes view: every bit's balance and the spread of distances.
    harness.get_by_label("Codes").click();
    harness.run_steps(2);
    harness.get_by_label("Bit balance");
    let stats = harness.state().library().unwrap().codes.stats().unwrap();
    assert_eq!(
        stats.histogram.iter().sum::<u64>(),
        (n * (n - 1) / 2) as u64
    );

    // Without class sub-folders SHC needs the targets to be clusters (its centres come from classes,
    // and ImageNet's thousand are too many); the other methods can be chosen with either.
    use hashlens_core::train::Method;
    harness.get_by_label("Model").click();
    harness.run_steps(2);
    harness.get_by_label("ImageNet classes").click();
    harness.run_steps(2);
    harness.get_by_label("SHC").click();
    harness.run_steps(2);
    assert_eq!(chosen_method(&harness), Method::Dhd);
    harness.get_by_label("groups found in the photos").click();
    harness.run_steps(2);
    harness.get_by_label("SHC").click();
    harness.run_steps(2);
    assert_eq!(chosen_method(&harness), Method::Shc);
    // Back to ImageNet's classes: SHC is no longer possible, and DHD is chosen instead.
    harness.get_by_label("ImageNet classes").click();
    harness.run_steps(2);
    assert_eq!(chosen_method(&harness), Method::Dhd);
    harness.get_by_label("HybridHash loss").click();
    harness.run_steps(2);
    assert_eq!(chosen_method(&harness), Method::HybridHash);
}

/// The model tab fine-tunes a DHD head on the folder (classes from its two sub-folders), shows the loss
/// and the proxies' similarities, and re-indexes the folder with the new model.
#[test]
fn fine_tune_from_the_model_tab_and_reindex_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root.join("cool"), 8);
    photos(&root.join("warm"), 8);
    let mut harness = app();
    open_indexed(&mut harness, &root);
    harness.get_by_label("Model").click();
    harness.run_steps(2);
    harness.get_by_label_contains("16 photos in 2 sub-folders");
    // With classes every method can be chosen, SHC included.
    harness.get_by_label("SHC").click();
    harness.run_steps(2);
    assert_eq!(chosen_method(&harness), hashlens_core::train::Method::Shc);
    if let super::Screen::Library(lib) = &mut harness.state_mut().screen {
        lib.model_panel.settings = hashlens_core::train::TrainChoice {
            bits: 16,
            epochs: 4,
            mode: hashlens_core::train::TrainMode::Head,
            ..Default::default()
        };
    }
    harness.get_by_label("Start fine-tuning").click();
    harness.step();
    wait(&mut harness, |app| {
        app.library()
            .is_some_and(|l| l.model_panel.trained.is_some() || l.model_panel.error.is_some())
    });
    let lib = harness.state().library().unwrap();
    assert_eq!(lib.model_panel.error, None);
    // While the features of augmented views were cached, the panel was shown each view of one photo:
    // as many weak ones as strong ones, weak first, at the network's input size.
    let views = &lib.model_panel.views;
    let weak = views.iter().filter(|(v, _)| v.teacher).count();
    assert!(
        weak >= 1 && 2 * weak == views.len(),
        "{weak} of {}",
        views.len()
    );
    assert!(views[..weak].iter().all(|(v, _)| v.teacher));
    for (v, texture) in views {
        assert_eq!(v.rgb.len(), 3 * v.side * v.side);
        assert_eq!(texture.size(), [v.side, v.side]);
    }
    let super::training::TrainedModel {
        path,
        classes,
        similarities: sims,
        class_names,
    } = lib.model_panel.trained.clone().unwrap();
    assert_eq!(class_names, ["cool", "warm"]);
    // The class-vector heatmap names its rows.
    for name in ["cool", "warm"] {
        assert!(harness.query_all_by_label(name).next().is_some(), "{name}");
    }
    assert!(
        path.ends_with(".hashlens/dhd-16.hlmodel"),
        "{}",
        path.display()
    );
    assert_eq!((classes, sims.len()), (2, 4));
    assert!(
        (sims[0] - 1.0).abs() < 1e-4 && (sims[3] - 1.0).abs() < 1e-4,
        "{sims:?}"
    );
    let curves = &lib.model_panel.curves;
    assert!(curves.lr.len() >= 2 && curves.losses.iter().all(|l| l.len() == curves.lr.len()));
    // With classes the run scores itself after every epoch (epochs / 4, rounded up, is 1).
    let epochs: Vec<f64> = curves.map.iter().map(|p| p[0]).collect();
    assert_eq!(epochs, vec![1.0, 2.0, 3.0, 4.0]);
    assert!(curves.map.iter().all(|p| (0.0..=1.0).contains(&p[1])));
    // The curve in numbers, readable from the back of a room.
    harness.get_by_label_contains("after epoch 1, then ");
    harness.get_by_label_contains("Cosine similarity of the class vectors");
    harness.get_by_label("Training loss by step: L = L_HP + 0.1·L_SdH + 0.1·L_bce-Q");

    // A query chosen before the re-index stays chosen after it, beside what it found before.
    let query = if let super::Screen::Library(lib) = &mut harness.state_mut().screen {
        lib.select(3);
        lib.update_results();
        lib.index.as_ref().unwrap().photos()[3].path.clone()
    } else {
        unreachable!("a library is open")
    };
    harness.get_by_label("Re-index with the new model").click();
    harness.step();
    wait(&mut harness, |app| {
        app.library().is_some_and(|l| !l.indexing())
    });
    let lib = harness.state().library().unwrap();
    let selected = lib
        .selected
        .map(|i| lib.index.as_ref().unwrap().photos()[i].path.clone());
    assert_eq!(selected.as_ref(), Some(&query));
    let before = lib.before.as_ref().unwrap();
    assert_eq!((&before.query, before.results.len()), (&query, 10));
    // 16 photos are too few for their own 16-bit fit: the shipped reference made the codes before.
    assert!(
        before.model.contains("the CIFAR-10 training set"),
        "{}",
        before.model
    );
    harness.get_by_label_contains("Before and after the re-index: now ");
    let model =
        hashlens_core::model::HashModel::load(&path, &burn::tensor::Device::flex()).unwrap();
    let index = CodeIndex::load(&root.join(".hashlens/index.hlindex")).unwrap();
    assert_eq!(index.model(), model.fingerprint());
    assert_eq!((index.len(), index.bits()), (16, 16));
    // The app's hash-layer-only runs use τ 0.5 (`recommended_temperature`), and the model records it.
    let settings = &model.config.provenance.settings;
    assert_eq!(settings["loss"]["temperature"], 0.5, "{settings}");

    // The codes view scores the folder's codes against its sub-folders (8 held-out queries).
    harness.get_by_label("Codes").click();
    wait(&mut harness, |app| {
        app.library()
            .and_then(|l| l.codes.quality())
            .is_some_and(|q| q.done())
    });
    harness.get_by_label_contains("8 photos of 16 searched the other 8 (2 classes");

    // Opened again, the folder keeps its fine-tuned model (nothing is re-encoded).
    harness.get_by_label("Folders").click();
    harness.run_steps(2);
    assert!(harness.state().library().is_none());
    open_indexed(&mut harness, &root);
    let lib = harness.state().library().unwrap();
    let report = lib.last_report.as_ref().unwrap();
    assert_eq!((report.encoded, report.kept), (0, 16));
    // The run's curves come back from its checkpoint, one point per epoch.
    wait(&mut harness, |app| {
        app.library()
            .is_some_and(|l| !l.model_panel.curves.lr.is_empty())
    });
    let curves = &harness.state().library().unwrap().model_panel.curves;
    assert_eq!(curves.lr.len(), 4);
    let epochs: Vec<f64> = curves.map.iter().map(|p| p[0]).collect();
    assert_eq!(epochs, vec![1.0, 2.0, 3.0, 4.0]);
    let index = CodeIndex::load(&root.join(".hashlens/index.hlindex")).unwrap();
    assert_eq!(index.model(), model.fingerprint());
}

/// CIFAR-10's own layout, `train/<class>/…` and `test/<class>/…`: the Model and Codes tabs see the
/// real classes (the folders that hold the photos), not "train" and "test" (the rule in
/// `hashlens_core::dataset::folder_classes`, shared with `hashlens train`).
#[test]
fn a_train_and_test_layout_gives_the_real_classes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cifar");
    for part in ["train", "test"] {
        for class in ["cool", "warm", "grey"] {
            photos(&root.join(part).join(class), 4);
        }
    }
    let mut harness = app();
    open_indexed(&mut harness, &root);
    harness.get_by_label("Model").click();
    harness.run_steps(2);
    harness.get_by_label_contains("24 photos in 3 sub-folders");
    harness.get_by_label("Codes").click();
    wait(&mut harness, |app| {
        app.library()
            .and_then(|l| l.codes.quality())
            .is_some_and(|q| q.done())
    });
    harness.get_by_label_contains("(3 classes");
}

/// The near-duplicate calibration the shipped reference model of `bits` bits carries.
fn reference_calibration(bits: usize) -> Option<hashlens_core::eval::VerdictCalibration> {
    let (reference, _) = hashlens_core::model::reference::reference_model(
        hashlens_core::index::DEFAULT_ARCH,
        bits,
        &burn::tensor::Device::flex(),
    )
    .unwrap()
    .unwrap();
    reference.config.verdict
}

/// A folder too small for its own PCA + ITQ starts with the shipped reference model, and the warning
/// says how to move on; once it has grown, "Fit the default again" in the Model tab fits PCA + ITQ on
/// its photos and re-encodes them all.
#[test]
fn a_grown_folder_refits_the_default_from_the_model_tab() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 10);
    let mut harness = app();
    open_indexed(&mut harness, &root);
    harness.run_steps(2);
    let lib = harness.state().library().unwrap();
    assert!(
        lib.model.starts_with("PCA + ITQ, 64 bits")
            && lib
                .model
                .ends_with("of 2000 photos of the CIFAR-10 training set"),
        "{}",
        lib.model
    );
    // The reference carries its own calibration (measured on edits of CIFAR-10 test photos).
    assert_eq!(
        lib.verdict_rule().unwrap().calibration(),
        reference_calibration(64).as_ref()
    );
    assert!(
        lib.warnings
            .iter()
            .any(|w| w.contains("Fit the default again")),
        "{:?}",
        lib.warnings
    );
    photos(&root.join("more"), 60);
    harness.get_by_label("Model").click();
    harness.run_steps(2);
    harness.get_by_label("Fit the default again").click();
    harness.step();
    wait(&mut harness, |app| {
        app.library().is_some_and(|l| {
            !l.indexing() && l.last_report.as_ref().is_some_and(|r| r.indexed == 70)
        })
    });
    harness.run_steps(2);
    let lib = harness.state().library().unwrap();
    assert!(lib.model.starts_with("PCA + ITQ"), "{}", lib.model);
    let report = lib.last_report.as_ref().unwrap();
    assert_eq!((report.encoded, report.kept), (70, 0));
    // The fitted default carries the calibration measured for it (read from the model file), and the
    // near-duplicates tab starts at its threshold.
    let bits = lib.index.as_ref().unwrap().bits();
    let shipped =
        hashlens_core::eval::default_calibration(bits).expect("measured at the default length");
    let rule = lib.verdict_rule().unwrap();
    assert_eq!(rule.calibration(), Some(&shipped));
    assert_eq!(rule.near_duplicate_within(), shipped.near_duplicate_within);
    assert!(
        rule.explain(3, None)
            .contains("calibrated on 15 everyday edits")
    );
    // "Similar" is read from this library's own distances: as close as its nearest 5 % of pairs.
    let pairs = &lib.pair_distances.as_ref().unwrap().histogram;
    let all: u64 = pairs.iter().sum();
    let within = |d: u32| pairs[..=d as usize].iter().sum::<u64>();
    let similar = rule.similar_within();
    assert!(similar == rule.near_duplicate_within() || within(similar) * 20 <= all);
    assert!(within(similar + 1) * 20 > all, "{similar}: {pairs:?}");
    assert!(
        rule.explain(similar, None)
            .contains("nearest 5 % of this library's pairs")
    );
    harness.get_by_label("Near-duplicates").click();
    harness.run_steps(2);
    let lib = harness.state().library().unwrap();
    assert_eq!(
        lib.duplicates.search().unwrap().radius,
        shipped.near_duplicate_within
    );
}

/// The Model tab offers the built-in default at 32, 64 and 128 bits: choosing 128 and using the default
/// re-encodes the library with 128-bit codes (here the shipped 128-bit reference, the folder being too
/// small for its own fit), with that length's calibrated verdict; the choice then follows the index.
#[test]
fn the_default_can_be_fitted_at_128_bits_from_the_model_tab() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 8);
    let mut harness = app();
    open_indexed(&mut harness, &root);
    harness.run_steps(2);
    let lib = harness.state().library().unwrap();
    assert_eq!(lib.index.as_ref().unwrap().bits(), 64);
    harness.get_by_label("Model").click();
    harness.run_steps(2);
    harness.get_by_label("code length").click();
    harness.run_steps(2);
    harness.get_by_label("128 bits").click();
    harness.run_steps(2);
    harness.get_by_label("Use the built-in default").click();
    harness.step();
    wait(&mut harness, |app| {
        app.library()
            .is_some_and(|l| !l.indexing() && l.index.as_ref().is_some_and(|i| i.bits() == 128))
    });
    harness.run_steps(2);
    let lib = harness.state().library().unwrap();
    assert!(
        lib.model.starts_with("PCA + ITQ, 128 bits"),
        "{}",
        lib.model
    );
    assert_eq!(lib.last_report.as_ref().unwrap().encoded, 8);
    assert_eq!(
        lib.verdict_rule().unwrap().calibration(),
        reference_calibration(128).as_ref()
    );
    assert_eq!(lib.model_panel.default_bits(128), 128);
}

/// "codes for: copies of this photo" in the Model tab fits the default after the shipped edit whitening,
/// with its own calibration, and the choice then follows the index.
#[test]
fn codes_for_finding_copies_can_be_chosen_in_the_model_tab() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 36);
    let mut harness = app();
    open_indexed(&mut harness, &root);
    assert_eq!(
        harness.state().library().unwrap().purpose,
        CodePurpose::Similar
    );
    harness.get_by_label("Model").click();
    harness.run_steps(2);
    // 36 photos fit 32 bits (not 64): choose the length, then the purpose.
    harness.get_by_label("code length").click();
    harness.run_steps(2);
    harness.get_by_label("32 bits").click();
    harness.run_steps(2);
    harness.get_by_label("codes for").click();
    harness.run_steps(2);
    harness.get_by_label(CodePurpose::Copies.label()).click();
    harness.run_steps(2);
    harness.get_by_label("Use the built-in default").click();
    harness.step();
    wait(&mut harness, |app| {
        app.library()
            .is_some_and(|l| !l.indexing() && l.index.as_ref().is_some_and(|i| i.bits() == 32))
    });
    harness.run_steps(2);
    let lib = harness.state().library().unwrap();
    assert_eq!(lib.purpose, CodePurpose::Copies);
    assert!(lib.model.contains("for finding copies"), "{}", lib.model);
    assert_eq!(lib.last_report.as_ref().unwrap().encoded, 36);
    assert_eq!(
        lib.verdict_rule().unwrap().calibration(),
        hashlens_core::eval::copies_calibration(32).as_ref()
    );
    assert_eq!(
        lib.model_panel.default_purpose(CodePurpose::Copies),
        CodePurpose::Copies
    );
    harness.get_by_label("Model").click();
    harness.run_steps(2);
    harness.get_by_label_contains("this index's codes are for finding copies");
}

/// After indexing, the photos' perceptual prints are computed in the background and kept beside the
/// index; a turned copy, whatever its code, then reads as a near-duplicate of its original, and the hover
/// says that the prints spoke.
#[test]
fn perceptual_prints_join_the_verdict_once_computed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 70);
    let original = image::open(root.join("000.png")).unwrap().into_rgb8();
    image::imageops::rotate90(&original)
        .save(root.join("turned.png"))
        .unwrap();
    let mut harness = app();
    open_indexed(&mut harness, &root);
    wait(&mut harness, |app| {
        app.library().is_some_and(|l| l.prints.progress.is_none())
    });
    let lib = harness.state().library().unwrap();
    let index = lib.index.as_ref().unwrap();
    assert_eq!(index.len(), 71);
    assert!(hashlens_core::index::prints_path_for(lib.index_path()).is_file());
    let (a, b) = (
        index.position(&root.join("000.png")).unwrap(),
        index.position(&root.join("turned.png")).unwrap(),
    );
    assert_eq!(lib.prints.distance(index.photos(), a, b), Some(0));
    let rule = lib.verdict_rule().unwrap();
    assert!(
        rule.print_rule().is_some(),
        "the default ships a two-signal rule"
    );
    let code = index.codes().get(a).hamming(&index.codes().get(b)).unwrap();
    assert_eq!(
        super::library_view::verdict(rule, code, Some(0)),
        "near-duplicate"
    );
    assert!(rule.explain(code, Some(0)).contains("perceptual print"));

    // The near-duplicates group the turned copy with its original, the prints joining them where the
    // codes alone do not.
    let radius = rule.near_duplicate_within();
    show_near_duplicates(&mut harness);
    let dup = harness
        .state()
        .library()
        .unwrap()
        .duplicates
        .search()
        .unwrap();
    assert!(dup.with_prints);
    let groups = dup.groups.as_ref().unwrap();
    let together = groups.iter().any(|g| {
        let paths: Vec<_> = g.iter().map(|m| m.path.clone()).collect();
        paths.contains(&root.join("000.png")) && paths.contains(&root.join("turned.png"))
    });
    // (The turned copy's code lies farther than the radius: 20 bits against 7 when this was written.)
    assert!(
        code > radius,
        "the codes alone would group them: {code} ≤ {radius}"
    );
    assert!(together, "code distance {code}, radius {radius}");
    harness.get_by_label_contains("with photos whose perceptual prints match");
}

/// Without class folders, choosing 16 bits suggests SHC with self-distillation (what measured best
/// there); one click takes it, and the suggestion goes.
#[test]
fn sixteen_bits_without_classes_suggest_shc_with_self_distillation() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 6);
    let mut harness = app();
    open_indexed(&mut harness, &root);
    harness.get_by_label("Model").click();
    harness.run_steps(2);
    assert!(
        harness.query_by_label("Use SHC + SdH").is_none(),
        "not at 64 bits"
    );
    harness.get_by_label("16").click();
    harness.run_steps(2);
    harness.get_by_label("Use SHC + SdH").click();
    harness.run_steps(2);
    assert_eq!(chosen_method(&harness), hashlens_core::train::Method::Shc);
    let settings = &harness.state().library().unwrap().model_panel.settings;
    assert!(settings.sdh && settings.bits == 16);
    assert!(harness.query_by_label("Use SHC + SdH").is_none());
}

/// F5 switches presentation mode: everything half as large again, and one line saying what the view
/// shows, which follows the view; F5 again goes back.
#[test]
fn presentation_mode_enlarges_and_explains_the_view_on_screen() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 6);
    let mut harness = app();
    let zoom = harness.ctx.zoom_factor();
    harness.key_press(egui::Key::F5);
    harness.run_steps(2);
    assert!(harness.state().presentation.on);
    // Full-contrast text, which the bit cells read to switch to their high-contrast colours.
    assert!(
        harness
            .ctx
            .global_style()
            .visuals
            .override_text_color
            .is_some()
    );
    assert_eq!(harness.ctx.zoom_factor(), zoom * super::presentation::ZOOM);
    harness.get_by_label_contains("Open the demo to see it");
    open_indexed(&mut harness, &root);
    harness.get_by_label_contains("Click a photo: every other photo is ranked");
    // The top bar fits the default window half as large again: the tabs, the folder and the buttons
    // side by side, none over another or past the edge (the folder's path is shortened instead).
    let width = harness.ctx.content_rect().width();
    let model = harness.get_by_label("Model").rect();
    let search = harness.get_by_label("Search with a photo…").rect();
    let reindex = harness.get_by_label("Re-index").rect();
    assert!(
        model.right() < search.left() && search.right() < reindex.left(),
        "{model:?} {search:?} {reindex:?}"
    );
    assert!(reindex.right() <= width, "{reindex:?} past {width}");
    harness.get_by_label("photo 002.png").click();
    harness.run_steps(3);
    harness.get_by_label_contains("their count is the Hamming distance");
    harness.get_by_label("Codes").click();
    harness.run_steps(2);
    harness.get_by_label_contains("its bits do not repeat each other");
    harness.key_press(egui::Key::F5);
    harness.run_steps(2);
    assert!(!harness.state().presentation.on);
    assert_eq!(harness.ctx.zoom_factor(), zoom);
    assert!(
        harness
            .query_by_label_contains("its bits do not repeat each other")
            .is_none()
    );
}

/// A stand-in for the system's trash in tests: each photo is renamed `NAME.trashed` beside itself (not
/// a photo any more, so the next scan leaves it out).
fn trash_beside(paths: &[std::path::PathBuf]) -> Result<(), String> {
    for p in paths {
        let mut to = p.clone().into_os_string();
        to.push(".trashed");
        std::fs::rename(p, to).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The near-duplicates tab on real photos: the likely original of a group first, each copy with what it
/// looks like; "select the others" only ticks; two ticked photos compare side by side; the trash
/// asks first, naming every file, and moves only the ticked ones.
#[test]
fn near_duplicates_can_be_compared_and_sent_to_the_trash_after_a_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    std::fs::create_dir_all(&root).unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo");
    for name in ["chelsea", "brick", "coffee", "horse", "rocket", "grass"] {
        std::fs::copy(
            demo.join(format!("{name}.jpg")),
            root.join(format!("{name}.jpg")),
        )
        .unwrap();
    }
    let cat = image::open(demo.join("chelsea.jpg")).unwrap().into_rgb8();
    let half = image::imageops::resize(
        &cat,
        cat.width() / 2,
        cat.height() / 2,
        image::imageops::FilterType::Triangle,
    );
    half.save(root.join("cat copy.jpg")).unwrap();

    let mut harness = app();
    open_indexed(&mut harness, &root);
    harness.state_mut().library_mut().unwrap().trash = trash_beside;
    show_near_duplicates(&mut harness);
    let lib = harness.state().library().unwrap();
    let groups = lib.duplicates.search().unwrap().groups.as_ref().unwrap();
    let group = groups
        .iter()
        .find(|g| g.iter().any(|m| m.path.ends_with("cat copy.jpg")))
        .expect("the cat and its copy are grouped");
    assert!(group[0].path.ends_with("chelsea.jpg"), "the original first");
    assert_eq!(
        group[1].looks_like.map(|l| l.describe()).as_deref(),
        Some("resized to 50 %")
    );
    harness.get_by_label_contains("likely resized to 50 %");
    harness.get_by_label_contains("Suggestion: keep chelsea.jpg");

    // The suggestion ticks the copy and moves nothing.
    harness.get_by_label("Select the others").click();
    harness.run_steps(2);
    let copy = root.join("cat copy.jpg");
    let ticked: Vec<_> = harness
        .state()
        .library()
        .unwrap()
        .duplicates
        .selected
        .iter()
        .cloned()
        .collect();
    assert_eq!(ticked, std::slice::from_ref(&copy));
    assert!(copy.exists());

    // Two ticked photos compare side by side.
    harness.get_by_label("chelsea.jpg").click();
    harness.run_steps(2);
    harness.get_by_label("Compare side by side").click();
    harness.run_steps(2);
    harness.get_by_label("Side by side");
    wait(&mut harness, |app| {
        app.library()
            .and_then(|l| l.duplicates.compare.as_ref())
            .is_some_and(|c| c.ready())
    });
    let compared = &harness.state().library().unwrap().duplicates.compare;
    let mut paths = compared.as_ref().unwrap().paths.to_vec();
    paths.sort();
    assert_eq!(paths, [copy.clone(), root.join("chelsea.jpg")]);
    harness.get_by_label("Close").click();
    harness.run_steps(2);
    harness.get_by_label("chelsea.jpg").click(); // untick the original again
    harness.run_steps(2);

    // The trash asks first, naming the file; Cancel keeps it.
    harness.get_by_label("Move to the trash…").click();
    harness.run_steps(10);
    harness.get_by_label("Move 1 photo to the trash?");
    harness.get_by_label(&copy.display().to_string());
    harness.get_by_label("Cancel").click();
    harness.run_steps(10);
    assert!(copy.exists());
    assert!(
        harness
            .state()
            .library()
            .unwrap()
            .duplicates
            .confirm_trash
            .is_none()
    );
    harness.get_by_label("Move to the trash…").click();
    harness.run_steps(10);
    harness.get_by_label("Move to the trash").click();
    harness.run_steps(2);
    assert!(!copy.exists(), "moved");
    assert!(root.join("cat copy.jpg.trashed").exists());
    assert!(root.join("chelsea.jpg").exists(), "the original stays");
    wait(&mut harness, |app| {
        app.library().is_some_and(|l| !l.indexing())
    });
    let lib = harness.state().library().unwrap();
    assert!(
        lib.warnings
            .iter()
            .any(|w| w.contains("Moved 1 photo to the trash")),
        "{:?}",
        lib.warnings
    );
    let index = lib.index.as_ref().unwrap();
    assert_eq!(index.len(), 6, "the index dropped the moved copy");
    // The groups are made again from the updated index: the cat has no copy left.
    wait(&mut harness, |app| {
        app.library()
            .and_then(|l| l.duplicates.search())
            .is_some_and(|d| d.groups.is_some() && d.for_len == 6)
    });
    let lib = harness.state().library().unwrap();
    let groups = lib.duplicates.search().unwrap().groups.as_ref().unwrap();
    assert!(
        groups
            .iter()
            .flatten()
            .all(|m| !m.path.ends_with("cat copy.jpg")),
    );
}

/// The Map tab lays every photo out by its code once the folder is indexed, and clicking a photo on it
/// searches with that photo.
#[test]
fn the_map_places_every_photo_and_a_click_searches_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 20);
    let mut harness = app();
    open_indexed(&mut harness, &root);
    harness.get_by_label("Map").click();
    harness.run_steps(2);
    wait(&mut harness, |app| {
        app.library().is_some_and(|l| l.map.layout.is_some())
    });
    let lib = harness.state().library().unwrap();
    let layout = lib.map.layout.as_ref().unwrap();
    assert_eq!(layout.points.len(), 20);
    assert!(
        layout
            .points
            .iter()
            .all(|(_, p)| p.iter().all(|v| v.abs() <= 1.0))
    );
    let mut placed: Vec<usize> = layout.points.iter().map(|(i, _)| *i).collect();
    placed.sort_unstable();
    assert_eq!(placed, (0..20).collect::<Vec<_>>());
    harness.get_by_label_contains("20 photos placed by their 64-bit codes");
    // The photo farthest from its nearest neighbour on the map (others may overlap a photo, and the
    // one drawn last takes the click).
    let d = |a: [f32; 2], b: [f32; 2]| (a[0] - b[0]).hypot(a[1] - b[1]);
    let (alone, _) = layout
        .points
        .iter()
        .map(|&(i, p)| {
            let nearest = layout
                .points
                .iter()
                .filter(|&&(j, _)| j != i)
                .map(|&(_, q)| d(p, q))
                .fold(f32::INFINITY, f32::min);
            (i, nearest)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    let name = lib.index.as_ref().unwrap().photos()[alone]
        .path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    harness.get_by_label(&format!("map photo {name}")).click();
    harness.run_steps(3);
    let lib = harness.state().library().unwrap();
    assert_eq!(lib.tab, super::library::Tab::Photos);
    assert_eq!(lib.selected, Some(alone), "the photo clicked on the map");
    assert!(!lib.results.is_empty());
}

/// Selects the indexed photo whose path ends with `suffix`, opens "Compare with perceptual hashes" and
/// waits for its `columns` columns; returns the photo's position and the index.
fn compare_hashes(
    harness: &mut Harness<'static, HashlensApp>,
    suffix: &str,
    columns: usize,
) -> (usize, CodeIndex) {
    let index = harness.state().library().unwrap().index.clone().unwrap();
    let query = (0..index.len())
        .find(|&i| index.photos()[i].path.ends_with(suffix))
        .unwrap();
    harness.state_mut().library_mut().unwrap().select(query);
    harness.run_steps(3);
    harness
        .get_by_label("Compare with perceptual hashes (dHash, pHash)")
        .click();
    harness.run_steps(2);
    wait(harness, |app| {
        app.library().is_some_and(|l| {
            l.hashes
                .columns
                .as_ref()
                .is_some_and(|(_, c)| c.len() == columns)
        })
    });
    (query, index)
}

/// "Compare with perceptual hashes" lists the query's ten nearest under dHash, pHash and the learned
/// codes, each with its P@10 when the sub-folders are classes (checked here against hashes computed
/// from the files and plain counting).
#[test]
fn a_query_compares_under_perceptual_hashes_and_the_learned_codes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root.join("a"), 14);
    photos(&root.join("b"), 14);
    // Make the two folders differ: b's photos are mirrored, so their hashes differ from a's.
    for entry in std::fs::read_dir(root.join("b")).unwrap() {
        let path = entry.unwrap().path();
        let img = image::open(&path).unwrap().into_rgb8();
        image::imageops::flip_horizontal(&img).save(&path).unwrap();
    }
    let mut harness = app();
    open_indexed(&mut harness, &root);
    let (query, index) = compare_hashes(&mut harness, "a/003.png", 3);
    let lib = harness.state().library().unwrap();
    let (_, columns) = lib.hashes.columns.as_ref().unwrap();
    let folder = |i: usize| index.photos()[i].path.parent().unwrap().to_path_buf();
    for (column, hash) in columns[..2].iter().zip([
        hashlens_core::photo::perceptual::dhash,
        hashlens_core::photo::perceptual::phash,
    ]) {
        // Expected: every other photo ranked by its hash's distance to the query's, ties by position.
        let of = |i: usize| hash(&image::open(&index.photos()[i].path).unwrap().into_rgb8());
        let q = of(query);
        let mut ranked: Vec<(u32, usize)> = (0..index.len())
            .filter(|&i| i != query)
            .map(|i| (q.hamming(&of(i)).unwrap(), i))
            .collect();
        ranked.sort_unstable();
        let expected: Vec<(usize, u32)> = ranked.iter().take(10).map(|&(d, i)| (i, d)).collect();
        assert_eq!(column.nearest, expected, "{}", column.name);
        let same = expected
            .iter()
            .filter(|&&(i, _)| folder(i) == folder(query))
            .count();
        assert_eq!(column.precision_at_10, Some(same as f64 / 10.0));
    }
    let learned = &columns[2];
    assert_eq!(learned.name, "learned codes (64 bits)");
    let ten: Vec<usize> = lib.results.iter().take(10).map(|n| n.index).collect();
    assert_eq!(learned.nearest.iter().map(|n| n.0).collect::<Vec<_>>(), ten);
    harness.get_by_label("learned codes (64 bits)");
}

/// On a first index, photos are searchable with the shipped reference codes while the folder's own fit
/// is read; the status bar says so. When the fitted model arrives, its codes replace them, the chosen
/// query is selected again, and no before/after is offered (there was no earlier model to compare).
#[test]
fn provisional_codes_give_way_to_the_fitted_ones_and_keep_the_query() {
    use hashlens_core::index::{IndexEvent, IndexedPhoto};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root, 12);
    let mut harness = app();
    open_indexed(&mut harness, &root);
    let (photos, codes): (Vec<IndexedPhoto>, Vec<HashCode>) = {
        let index = harness.state().library().unwrap().index.as_ref().unwrap();
        (
            index.photos().to_vec(),
            (0..index.len()).map(|i| index.codes().get(i)).collect(),
        )
    };
    let bits = codes[0].bits();
    let model = |fingerprint: &str, provisional: bool| IndexEvent::Model {
        description: fingerprint.to_string(),
        fingerprint: fingerprint.to_string(),
        bits,
        fitted: !provisional,
        provisional,
        verdicts: hashlens_core::eval::VerdictRule::fixed(bits),
        purpose: hashlens_core::model::CodePurpose::Similar,
    };
    let lib = harness.state_mut().library_mut().unwrap();
    lib.apply_index_event(model("reference", true));
    for (p, c) in photos.iter().zip(&codes) {
        lib.apply_index_event(IndexEvent::Encoded(p.clone(), c.clone()));
    }
    lib.select(3);
    lib.update_results();
    assert!(lib.provisional);
    assert_eq!(lib.index.as_ref().unwrap().model(), "reference");
    harness.run_steps(2);
    harness.get_by_label("for now with the shipped reference codes");

    let lib = harness.state_mut().library_mut().unwrap();
    lib.apply_index_event(model("fitted", false));
    assert!(!lib.provisional);
    assert!(
        lib.before.is_none(),
        "nothing to compare with provisional codes"
    );
    assert_eq!(lib.index.as_ref().unwrap().len(), 0);
    // The fitted codes come in another order: the query follows its photo, not its position.
    for (p, c) in photos.iter().zip(&codes).rev() {
        lib.apply_index_event(IndexEvent::Encoded(p.clone(), c.clone()));
    }
    harness.run_steps(2);
    let lib = harness.state().library().unwrap();
    let index = lib.index.as_ref().unwrap();
    assert_eq!(index.model(), "fitted");
    let selected = lib.selected.map(|i| index.photos()[i].path.clone());
    assert_eq!(selected.as_ref(), Some(&photos[3].path));
    assert!(
        harness
            .query_by_label("for now with the shipped reference codes")
            .is_none()
    );
}

/// A model file beside the index that the index does not use (here random projections; after
/// fine-tuning, the new model before re-indexing) gets a column of its own in the comparison: the
/// query's ten nearest under that model's codes, checked against codes computed photo by photo.
#[test]
fn another_model_beside_the_index_gets_its_own_column() {
    use hashlens_core::hashing::LinearHash;
    use hashlens_core::model::reference::{REFERENCE_ARCH, reference_model};
    use hashlens_core::model::{HashModel, HeadKind, Provenance};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("photos");
    photos(&root.join("a"), 10);
    photos(&root.join("b"), 10);
    let device = burn::tensor::Device::flex();
    let (_, hash) = reference_model(REFERENCE_ARCH, 32, &device)
        .unwrap()
        .unwrap();
    let lsh = LinearHash::lsh(&hash.mean, hash.dim, 32, 7).unwrap();
    let other = HashModel::linear(
        REFERENCE_ARCH,
        HeadKind::Lsh,
        &lsh,
        Provenance::default(),
        &device,
    )
    .unwrap();
    std::fs::create_dir_all(root.join(".hashlens")).unwrap();
    other.save(&root.join(".hashlens/other.hlmodel")).unwrap();

    let mut harness = app();
    open_indexed(&mut harness, &root);
    let (query, index) = compare_hashes(&mut harness, "b/004.png", 4);
    let lib = harness.state().library().unwrap();
    let (_, columns) = lib.hashes.columns.as_ref().unwrap();
    let column = &columns[3];
    assert_eq!(column.name, "other (32 bits)");
    let code = |i: usize| {
        hashlens_core::index::encode_photo(&other, &index.photos()[i].path, &device).unwrap()
    };
    let q = code(query);
    let mut ranked: Vec<(u32, usize)> = (0..index.len())
        .filter(|&i| i != query)
        .map(|i| (q.hamming(&code(i)).unwrap(), i))
        .collect();
    ranked.sort_unstable();
    let expected: Vec<(usize, u32)> = ranked.iter().take(10).map(|&(d, i)| (i, d)).collect();
    assert_eq!(column.nearest, expected);
    let folder = |i: usize| index.photos()[i].path.parent().unwrap().to_path_buf();
    let same = expected
        .iter()
        .filter(|&&(i, _)| folder(i) == folder(query))
        .count();
    assert_eq!(column.precision_at_10, Some(same as f64 / 10.0));
    harness.get_by_label("other (32 bits)");
}
