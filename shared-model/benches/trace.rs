//! Replays the 259,778-edit `automerge-paper` trace (Joseph Gentle's editing-traces, CC BY 4.0)
//! through the script API, through raw yrs and through automerge, in the same run, and prints
//! time and encoded size for each.
//!
//! `cargo bench -p shared-model --bench trace` (set `SHOTWEAVE_BENCH_RUNS` to change the number
//! of runs per engine; the median is reported).
//!
//! A custom harness rather than criterion/divan: one replay takes seconds, and the figures worth
//! printing (encoded size, ratio to raw yrs) are not timings.

// A benchmark binary: a replay that goes wrong should stop it at once, so it unwraps.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use automerge::{AutoCommit, ObjType, ReadDoc, transaction::Transactable};
use shared_model::testing::{Trace, load_trace};
use shared_model::yrs::{self, GetString, ReadTxn, Text, Transact};
use shared_model::{Project, ProjectOptions};

struct Outcome {
    elapsed: Duration,
    encoded: usize,
}

fn script_api(trace: &Trace) -> Outcome {
    let start = Instant::now();
    let project = Project::empty(ProjectOptions::default());
    for txn in &trace.txns {
        for p in &txn.patches {
            if p.1 > 0 {
                project.script_delete(p.0 as u32, p.1 as u32);
            }
            if !p.2.is_empty() {
                project.script_insert(p.0 as u32, &p.2);
            }
        }
    }
    let elapsed = start.elapsed();
    assert_eq!(project.script_text(), trace.end_content);
    Outcome {
        elapsed,
        encoded: project.encode_state().len(),
    }
}

fn raw_yrs(trace: &Trace) -> Outcome {
    let start = Instant::now();
    let doc = yrs::Doc::with_options(yrs::Options {
        offset_kind: yrs::OffsetKind::Utf16,
        ..Default::default()
    });
    let text = doc.get_or_insert_text("script");
    for txn in &trace.txns {
        for p in &txn.patches {
            let mut t = doc.transact_mut();
            if p.1 > 0 {
                text.remove_range(&mut t, p.0 as u32, p.1 as u32);
            }
            if !p.2.is_empty() {
                text.insert(&mut t, p.0 as u32, &p.2);
            }
        }
    }
    let elapsed = start.elapsed();
    let t = doc.transact();
    assert_eq!(text.get_string(&t), trace.end_content);
    Outcome {
        elapsed,
        encoded: t.encode_state_as_update_v1(&Default::default()).len(),
    }
}

fn automerge(trace: &Trace) -> Outcome {
    let start = Instant::now();
    let mut doc = AutoCommit::new();
    let text = doc
        .put_object(automerge::ROOT, "script", ObjType::Text)
        .expect("root text");
    for txn in &trace.txns {
        for p in &txn.patches {
            doc.splice_text(&text, p.0, p.1 as isize, &p.2)
                .expect("splice");
        }
        doc.commit();
    }
    let elapsed = start.elapsed();
    assert_eq!(doc.text(&text).expect("text"), trace.end_content);
    Outcome {
        elapsed,
        encoded: doc.save().len(),
    }
}

fn median(mut runs: Vec<Outcome>) -> Outcome {
    runs.sort_by_key(|o| o.elapsed);
    runs.swap_remove(runs.len() / 2)
}

/// A replay engine by name.
type Engine = (&'static str, fn(&Trace) -> Outcome);

fn main() {
    // `cargo bench -- <filter>` and `cargo test --benches` pass arguments; a filter that names
    // none of the engines, or `--test`, means "smoke run": one run each.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = args.iter().any(|a| a == "--test");
    let runs: usize = if smoke {
        1
    } else {
        std::env::var("SHOTWEAVE_BENCH_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3)
    };

    let trace = load_trace("automerge-paper");
    assert!(
        trace.is_bmp_only(),
        "positions below assume code points == UTF-16 units"
    );
    let edits: usize = trace.txns.iter().map(|t| t.patches.len()).sum();
    println!(
        "automerge-paper: {edits} edits, final text {} chars, {runs} run(s) each, median",
        trace.end_content.chars().count()
    );

    let engines: [Engine; 3] = [
        ("script API (shared-model)", script_api),
        ("raw yrs 0.28", raw_yrs),
        ("automerge 0.12", automerge),
    ];
    let mut results = Vec::new();
    for (name, run) in engines {
        let outcome = median((0..runs).map(|_| run(&trace)).collect());
        println!(
            "{name:<28} {:>9.3} s {:>9.0} ns/edit {:>9} bytes encoded",
            outcome.elapsed.as_secs_f64(),
            outcome.elapsed.as_nanos() as f64 / edits as f64,
            outcome.encoded
        );
        results.push(outcome);
    }
    let ratio = results[0].elapsed.as_secs_f64() / results[1].elapsed.as_secs_f64();
    println!("script API / raw yrs = {ratio:.3} (target <= 1.2)");
}
