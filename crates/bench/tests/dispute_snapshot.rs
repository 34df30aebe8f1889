//! The dispute gas figures are deterministic: a regression (or an improvement) fails here until
//! `snapshots/bench-dispute.json` is updated with `ecm bench dispute --update`.

use ecm_bench::dispute::{self, Plan, Snapshot};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispute_gas_matches_the_snapshot_and_the_targets() {
    let report = dispute::run(&Plan::quick()).await.unwrap();
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../snapshots/bench-dispute.json");
    let expected: Snapshot =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        report.snapshot(),
        expected,
        "dispute gas changed: if intended, run `cargo run -p ecm-cli --features bench -- bench dispute --update snapshots/bench-dispute.json`"
    );
    // The figures ARCHITECTURE.md section 4 sets, in real transaction gas.
    for row in report.bisection.iter().chain(&report.sweep) {
        assert!(row.rounds <= row.max_rounds, "{row:?}");
    }
    for row in report.bisection.iter().filter(|r| r.arity == 16) {
        assert!(row.max_move_gas <= 90_000, "{row:?}");
    }
    let big = report
        .bisection
        .iter()
        .find(|r| r.program == "counter" && r.log2_steps == 32)
        .unwrap();
    assert!(big.total_gas <= 1_500_000, "{big:?}");
    // Issue 14's goal for machine programs: a whole dispute over 2^32 steps within 1.5M gas.
    let machine = report
        .bisection
        .iter()
        .find(|r| r.program.contains("machine") && r.log2_steps == 32)
        .unwrap();
    assert!(machine.total_gas <= 1_500_000, "{machine:?}");
}
