//! ARCHITECTURE.md is kept true: every crate of the workspace has its heading in the code map,
//! so a new crate cannot land without saying what it is for and what it may touch.

use std::path::Path;

#[test]
fn every_workspace_member_has_a_code_map_entry() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml"))?;
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md"))?;
    let members_line = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("members"))
        .ok_or_else(|| anyhow::anyhow!("no members line in Cargo.toml"))?;
    let members: Vec<&str> = members_line.split('"').skip(1).step_by(2).collect();
    assert!(
        members.len() >= 9,
        "members line not understood: {members_line}"
    );
    let missing: Vec<&&str> = members
        .iter()
        .filter(|m| !architecture.contains(&format!("### `{m}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md has no `### \\`name\\`` heading for {missing:?}"
    );
    Ok(())
}
