//! Real editing traces replayed through the script API.

use shared_model::testing::{Trace, load_trace};
use shared_model::{Project, ProjectOptions};

/// Trace positions count code points; script offsets count UTF-16 units. The two agree for
/// text without astral characters, which `Trace::is_bmp_only` checks.
fn apply_patches(project: &Project, txn: &shared_model::testing::Txn) {
    for patch in &txn.patches {
        if patch.1 > 0 {
            project.script_delete(patch.0 as u32, patch.1 as u32);
        }
        if !patch.2.is_empty() {
            project.script_insert(patch.0 as u32, &patch.2);
        }
    }
}

/// Replays a concurrent trace: every transaction is applied on its agent's replica, after that
/// replica has merged exactly the transaction's causal parents. Each transaction's own yrs update
/// is recorded so that other replicas can merge it later.
fn replay_concurrent(trace: &Trace) -> Vec<Project> {
    let agents = trace.num_agents.max(1);
    let replicas: Vec<Project> = (0..agents)
        .map(|a| {
            Project::empty(ProjectOptions {
                client_id: Some(a as u64 + 1),
                ..Default::default()
            })
        })
        .collect();
    let mut updates: Vec<Vec<u8>> = Vec::with_capacity(trace.txns.len());
    let mut applied: Vec<Vec<bool>> = vec![vec![false; trace.txns.len()]; agents];

    for (i, txn) in trace.txns.iter().enumerate() {
        let replica = &replicas[txn.agent];
        // Merge the causal past of this transaction (iteratively, to stay off the stack).
        let mut stack: Vec<usize> = txn.parents.clone();
        let mut order = Vec::new();
        while let Some(p) = stack.pop() {
            if applied[txn.agent][p] {
                continue;
            }
            applied[txn.agent][p] = true;
            order.push(p);
            stack.extend(trace.txns[p].parents.iter().copied());
        }
        // Parents come before children in the trace, so ascending index is a causal order.
        order.sort_unstable();
        for p in order {
            replica
                .apply_update(&updates[p])
                .expect("recorded update applies");
        }

        let before = replica.state_vector();
        apply_patches(replica, txn);
        updates.push(
            replica
                .encode_diff(&before)
                .expect("own state vector decodes"),
        );
        applied[txn.agent][i] = true;
    }
    replicas
}

#[test]
fn friendsforever_concurrent_trace_converges_to_end_content() {
    let trace = load_trace("friendsforever");
    assert_eq!(trace.num_agents, 2);
    assert!(trace.is_bmp_only());
    let replicas = replay_concurrent(&trace);

    // Full exchange between the replicas, in both directions.
    let states: Vec<Vec<u8>> = replicas.iter().map(Project::encode_state).collect();
    for replica in &replicas {
        for state in &states {
            replica.apply_update(state).unwrap();
        }
    }
    for replica in &replicas {
        assert_eq!(replica.script_text(), trace.end_content);
    }
}

#[test]
fn sequential_prefix_of_automerge_paper_matches_a_plain_string() {
    // The full 259,778-edit replay runs in the benchmark; here the first 20,000 edits are checked
    // against a plain string model, which catches offset bugs quickly.
    let trace = load_trace("automerge-paper");
    assert!(trace.is_bmp_only());
    let project = Project::empty(ProjectOptions::default());
    let mut model: Vec<char> = trace.start_content.chars().collect();
    project.script_insert(0, &trace.start_content);
    for txn in trace.txns.iter().take(20_000) {
        for patch in &txn.patches {
            model.splice(patch.0..patch.0 + patch.1, patch.2.chars());
        }
        apply_patches(&project, txn);
    }
    assert_eq!(project.script_text(), model.into_iter().collect::<String>());
}
