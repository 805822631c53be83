//! Versions and diffs as the CLI prints them: one line per version, and a diff as a change
//! list a person reads (shots added, removed, moved and changed with each field old → new,
//! scenes, characters, then the script's hunks with `+`/`-`).

use std::fmt::Write;

use anyhow::{Result, bail};
use api_types::{
    ChangeKind, FieldChange, LineOp, ShotPlace, VersionDiff, VersionInfo, VersionKind,
};

/// A version argument: `now`, a version's id, or a version's name (which must name one).
/// Something shaped like an id that is not listed is passed on, so the studio says why.
pub(crate) fn resolve(versions: &[VersionInfo], arg: &str) -> Result<String> {
    if arg == "now" || versions.iter().any(|v| v.id.as_str() == arg) {
        return Ok(arg.to_owned());
    }
    let named: Vec<&VersionInfo> = versions.iter().filter(|v| v.name == arg).collect();
    match named.as_slice() {
        [one] => Ok(one.id.to_string()),
        [] if arg.len() == 32 && arg.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(arg.to_owned()),
        [] => bail!("no version is named or numbered {arg:?}; `shotweave versions` lists them"),
        several => {
            let ids: Vec<&str> = several.iter().map(|v| v.id.as_str()).collect();
            bail!(
                "{} versions are named {arg:?}; give one of their ids: {}",
                several.len(),
                ids.join(", ")
            )
        }
    }
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KB", b as f64 / f64::from(1 << 10)),
        b => format!("{b} B"),
    }
}

/// One version as `shotweave versions` lists it.
pub(crate) fn version_line(v: &VersionInfo) -> String {
    let mut line = format!(
        "{}  {}  \"{}\"{}  by {}, {} shots, {} stored",
        v.id,
        crate::utc_ms(v.created_at_ms),
        v.name,
        if v.kind == VersionKind::Auto {
            " (automatic)"
        } else {
            ""
        },
        v.author.name,
        v.shots,
        size(v.stored_bytes)
    );
    let t = v.tally;
    if t.approve + t.request_changes + t.comment > 0 {
        let _ = write!(
            line,
            ", {} approve, {} request changes, {} comment",
            t.approve, t.request_changes, t.comment
        );
    }
    if let Some(note) = &v.note {
        let _ = write!(line, "\n    {note}");
    }
    line
}

fn place(p: &ShotPlace) -> String {
    format!("\"{}\" #{}", p.scene_title, p.index)
}

fn fields(out: &mut String, fields: &[FieldChange]) {
    for f in fields {
        let _ = writeln!(out, "      {}: {:?} → {:?}", f.field, f.old, f.new);
    }
}

fn mark(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Added => "+",
        ChangeKind::Removed => "-",
        ChangeKind::Moved => ">",
        ChangeKind::Changed => "~",
    }
}

/// The whole diff as text, ending with a newline.
pub(crate) fn render(diff: &VersionDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} → {}", diff.from.label, diff.to.label);
    if diff.is_empty() {
        out.push_str("no changes\n");
        return out;
    }
    if !diff.meta.is_empty() {
        out.push_str("project\n");
        fields(&mut out, &diff.meta);
    }
    if !diff.scenes.is_empty() {
        let _ = writeln!(out, "scenes ({})", diff.scenes.len());
        for s in &diff.scenes {
            let _ = writeln!(out, "  {} {} \"{}\"", mark(s.kind), s.kind, s.title);
            fields(&mut out, &s.fields);
        }
    }
    if !diff.shots.is_empty() {
        let _ = writeln!(out, "shots ({})", diff.shots.len());
        for s in &diff.shots {
            let at = match (&s.from, &s.to) {
                (Some(from), Some(to)) if s.moved => format!("{} → {}", place(from), place(to)),
                (_, Some(to)) => place(to),
                (Some(from), None) => place(from),
                (None, None) => String::new(),
            };
            let _ = writeln!(out, "  {} {} {at}: {}", mark(s.kind), s.kind, s.description);
            fields(&mut out, &s.fields);
            if let Some(take) = &s.take {
                let name = |a: &Option<api_types::AssetId>| {
                    a.as_ref()
                        .map_or("none".to_owned(), |a| a.as_str().chars().take(12).collect())
                };
                let _ = writeln!(out, "      take: {} → {}", name(&take.old), name(&take.new));
            }
        }
    }
    if !diff.characters.is_empty() {
        let _ = writeln!(out, "characters ({})", diff.characters.len());
        for c in &diff.characters {
            let _ = writeln!(out, "  {} {} {}", mark(c.kind), c.kind, c.name);
            fields(&mut out, &c.fields);
        }
    }
    if !diff.script.is_empty() {
        out.push_str("script\n");
        for hunk in &diff.script {
            let _ = writeln!(out, "  @@ -{} +{} @@", hunk.old_start, hunk.new_start);
            for line in &hunk.lines {
                let op = match line.op {
                    LineOp::Same => ' ',
                    LineOp::Added => '+',
                    LineOp::Removed => '-',
                };
                let _ = writeln!(out, "  {op} {}", line.text);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use api_types::{
        Author, DiffSide, ScriptHunk, ScriptLine, ShotChange, ShotId, VerdictTally, VersionId,
    };

    use super::*;

    fn version(name: &str) -> VersionInfo {
        VersionInfo {
            id: VersionId::new(),
            name: name.into(),
            note: None,
            kind: VersionKind::Named,
            author: Author {
                id: None,
                name: "Lin".into(),
            },
            created_at_ms: 1_765_099_080_000,
            shots: 3,
            state_bytes: 4096,
            stored_bytes: 2048,
            tally: VerdictTally::default(),
        }
    }

    #[test]
    fn versions_are_found_by_id_or_unique_name() {
        let (a, b, c) = (version("Draft 1"), version("Draft 2"), version("Draft 2"));
        let list = vec![a.clone(), b.clone(), c.clone()];
        assert_eq!(resolve(&list, "Draft 1").ok(), Some(a.id.to_string()));
        assert_eq!(resolve(&list, b.id.as_str()).ok(), Some(b.id.to_string()));
        assert_eq!(resolve(&list, "now").ok().as_deref(), Some("now"));
        let twice = resolve(&list, "Draft 2")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            twice.contains(b.id.as_str()) && twice.contains(c.id.as_str()),
            "{twice}"
        );
        assert!(resolve(&list, "Draft 3").is_err());
        let unlisted = VersionId::new();
        assert_eq!(
            resolve(&list, unlisted.as_str()).ok(),
            Some(unlisted.to_string())
        );
    }

    #[test]
    fn times_are_utc_calendar_dates() {
        assert_eq!(crate::utc_ms(0), "1970-01-01 00:00 UTC");
        assert_eq!(crate::utc_ms(951_827_696_000), "2000-02-29 12:34 UTC");
        assert!(version_line(&version("v")).contains("\"v\"  by Lin, 3 shots, 2.0 KB stored"));
    }

    #[test]
    fn a_diff_reads_as_a_change_list() {
        let side = |label: &str| DiffSide {
            version: None,
            label: label.into(),
        };
        let at = |index| ShotPlace {
            scene_id: None,
            scene_title: "The pier".into(),
            index,
        };
        let diff = VersionDiff {
            from: side("v1"),
            to: side("now"),
            meta: vec![],
            scenes: vec![],
            shots: vec![
                ShotChange {
                    shot_id: ShotId::from("a"),
                    kind: ChangeKind::Changed,
                    from: Some(at(1)),
                    to: Some(at(2)),
                    moved: true,
                    description: "Rain".into(),
                    fields: vec![FieldChange {
                        field: "camera".into(),
                        old: "static".into(),
                        new: "push in".into(),
                    }],
                    take: None,
                },
                ShotChange {
                    shot_id: ShotId::from("b"),
                    kind: ChangeKind::Removed,
                    from: Some(at(4)),
                    to: None,
                    moved: false,
                    description: "Gone".into(),
                    fields: vec![],
                    take: None,
                },
            ],
            characters: vec![],
            script: vec![ScriptHunk {
                old_start: 3,
                new_start: 3,
                lines: vec![
                    ScriptLine {
                        op: LineOp::Removed,
                        text: "old".into(),
                    },
                    ScriptLine {
                        op: LineOp::Added,
                        text: "new".into(),
                    },
                ],
            }],
        };
        let text = render(&diff);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "v1 → now",
                "shots (2)",
                "  ~ changed \"The pier\" #1 → \"The pier\" #2: Rain",
                "      camera: \"static\" → \"push in\"",
                "  - removed \"The pier\" #4: Gone",
                "script",
                "  @@ -3 +3 @@",
                "  - old",
                "  + new",
            ]
        );
        let empty = VersionDiff {
            shots: vec![],
            script: vec![],
            ..diff
        };
        assert_eq!(render(&empty), "v1 → now\nno changes\n");
    }
}
