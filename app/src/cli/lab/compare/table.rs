//! `compare`'s table: one row per run (and per baseline), printed as Markdown and written as JSON.
//!
//! With `--validation`, each row also has the mAP of half the held-out training photos searching the
//! other half, and for every method, targets, SdH and bit count the run (of the epoch counts and the
//! method's τ or logit scales) that scored best there is `chosen`: a table that ranks methods at
//! settings chosen without looking at the test split.

use serde::Serialize;

/// One cell row of the table.
#[derive(Serialize)]
pub struct Row {
    pub method: &'static str,
    /// Trained with the protocol's labels (false: `targets`; the baseline uses none).
    pub labels: bool,
    /// What the run's targets were: `labels`, a pseudo-label source (`imagenet:5`, `clusters:32`), or
    /// `none` (the training-free baseline).
    pub targets: String,
    pub sdh: bool,
    pub bits: usize,
    /// Training epochs (none for the training-free baseline).
    pub epochs: Option<usize>,
    /// DHD's `--temperature` τ (none for the other methods).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// DHN's `--dhn-scale` or HybridHash's `--hybrid-alpha` as given (`0.5`, `2/K`); none for the
    /// methods without a logit scale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logit_scale: Option<String>,
    pub map_all: f64,
    pub map_1000: f64,
    pub p_1000: f64,
    pub p_r2: f64,
    pub train_s: f64,
    /// mAP@ALL with deformed queries, by deformation (with `--robustness`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub robustness: Vec<(&'static str, f64)>,
    /// With `--validation`: mAP@ALL of half the held-out training photos searching the other half.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub val_map_all: Option<f64>,
    /// With `--validation`: this run scored best on the held-out photos among the runs that differ
    /// from it only in epochs and τ or logit scale.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub chosen: bool,
}

impl Row {
    /// The cells that name the run: method (with its τ or logit scale), targets, SdH, bits, epochs.
    fn key(&self) -> String {
        let yes = |b: bool| if b { "yes" } else { "no" };
        let setting = match (self.temperature, &self.logit_scale) {
            (Some(t), _) => format!(", τ {t}"),
            (_, Some(s)) => format!(", scale {s}"),
            (None, None) => String::new(),
        };
        format!(
            "{}{setting} | {} | {} | {} | {}",
            self.method,
            self.targets,
            yes(self.sdh),
            self.bits,
            self.epochs.map_or("—".to_string(), |e| e.to_string())
        )
    }

    /// What the runs a choice is made among share: all but epochs and τ or logit scale.
    fn group(&self) -> (&'static str, &str, bool, usize) {
        (self.method, &self.targets, self.sdh, self.bits)
    }
}

/// Marks in each group of rows that differ only in epochs and τ or logit scale the one with the best
/// `val_map_all` (on a tie the fewer epochs, then the earlier row). Rows without a validation score are
/// left alone.
pub fn mark_chosen(rows: &mut [Row]) {
    let mut best: std::collections::HashMap<_, (usize, f64, usize)> = Default::default();
    for (i, r) in rows.iter().enumerate() {
        let (Some(v), Some(e)) = (r.val_map_all, r.epochs) else {
            continue;
        };
        let b = best.entry(r.group()).or_insert((i, v, e));
        if v > b.1 || (v == b.1 && e < b.2) {
            *b = (i, v, e);
        }
    }
    let chosen: Vec<usize> = best.into_values().map(|(i, _, _)| i).collect();
    for i in chosen {
        rows[i].chosen = true;
    }
}

#[derive(Serialize)]
pub struct Table {
    pub protocol: String,
    pub seed: u64,
    pub backbone: &'static str,
    pub mode: &'static str,
    pub epochs: Vec<usize>,
    pub batch: usize,
    pub image_size: usize,
    pub train_images: usize,
    pub queries: usize,
    pub database: usize,
    /// Training photos held out for choosing the epochs and settings (not trained on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<usize>,
    pub device: String,
    pub command: String,
    pub rows: Vec<Row>,
}

/// The table, then (with `--validation`) the chosen rows alone, then (with `--robustness`) the
/// robustness table.
pub fn print_markdown(rows: &[Row]) {
    let validated = rows.iter().any(|r| r.val_map_all.is_some());
    let main = |rows: &mut dyn Iterator<Item = &Row>| {
        println!(
            "| method | targets | SdH | bits | epochs | mAP@ALL | mAP@1000 | P@1000 | P(r≤2) | train s |{}",
            if validated { " val mAP |" } else { "" }
        );
        println!(
            "|---|---|---|---|---|---|---|---|---|---|{}",
            if validated { "---|" } else { "" }
        );
        for r in rows {
            println!(
                "| {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.0} |{}",
                r.key(),
                r.map_all,
                r.map_1000,
                r.p_1000,
                r.p_r2,
                r.train_s,
                match (validated, r.val_map_all) {
                    (false, _) => String::new(),
                    (true, Some(v)) => format!(" {v:.4} |"),
                    (true, None) => " — |".into(),
                }
            );
        }
    };
    main(&mut rows.iter());
    if validated {
        println!();
        println!(
            "Epochs chosen by the held-out training photos (val mAP), and DHD's τ and the logit scale of \
             DHN and HybridHash's loss; the baseline has none to choose"
        );
        println!();
        main(&mut rows.iter().filter(|r| r.chosen || r.epochs.is_none()));
    }
    let Some(first) = rows.iter().find(|r| !r.robustness.is_empty()) else {
        return;
    };
    println!();
    let names: Vec<&str> = first.robustness.iter().map(|(d, _)| *d).collect();
    println!("Robustness: mAP@ALL with deformed queries against the clean database");
    println!();
    println!(
        "| method | targets | SdH | bits | epochs | none | {} |",
        names.join(" | ")
    );
    println!("|---|---|---|---|---|---|{}", "---|".repeat(names.len()));
    for r in rows.iter().filter(|r| !r.robustness.is_empty()) {
        let cells: Vec<String> = r
            .robustness
            .iter()
            .map(|(_, m)| format!("{m:.4}"))
            .collect();
        println!("| {} | {:.4} | {} |", r.key(), r.map_all, cells.join(" | "));
    }
}
