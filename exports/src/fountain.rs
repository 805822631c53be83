//! The script as a Fountain screenplay (fountain.io): a title page, a scene heading per scene,
//! action from shot descriptions and dialogue blocks from shot dialogue.

use shared_model::ProjectSnapshot;

/// Fountain reads a line starting with INT./EXT. as a scene heading; such action is forced.
fn action(text: &str) -> String {
    let upper = text.trim_start().to_uppercase();
    let risky = ["INT", "EXT", "EST", "I/E", ".", "@", "~", "!", ">", "="]
        .iter()
        .any(|p| upper.starts_with(p))
        || (text.chars().any(char::is_alphabetic) && text == upper);
    if risky {
        format!("!{text}")
    } else {
        text.to_owned()
    }
}

/// Fountain recognises a character cue by its capitals; names without letter case (Chinese)
/// or with lower case are forced with `@`.
fn cue(name: &str) -> String {
    let upper = name.to_uppercase();
    if name.chars().any(|c| c.is_ascii_alphabetic()) && name.is_ascii() {
        upper
    } else {
        format!("@{name}")
    }
}

fn is_heading(text: &str) -> bool {
    let upper = text.to_uppercase();
    ["INT", "EXT", "EST", "I/E"]
        .iter()
        .any(|p| upper.starts_with(p))
}

/// A scene heading: the scene's own title when it already is one (imported screenplays),
/// else its location and time of day, forced with `.` when they do not start with INT./EXT.
fn heading(title: &str, location: &str, time_of_day: &str) -> String {
    if is_heading(title) {
        return title.to_owned();
    }
    let place = if location.is_empty() { title } else { location };
    let with_time = if time_of_day.is_empty() {
        place.to_owned()
    } else {
        format!("{place} - {}", time_of_day.to_uppercase())
    };
    if is_heading(place) {
        with_time
    } else {
        format!(".{with_time}")
    }
}

pub fn write(snapshot: &ProjectSnapshot) -> String {
    let names: std::collections::HashMap<&str, &str> = snapshot
        .characters
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    let mut out = format!(
        "Title: {}\nCredit: Storyboard adaptation\nSource: Shotweave\n\n",
        snapshot.meta.title.trim()
    );
    for scene in &snapshot.scenes {
        out.push_str(&heading(&scene.title, &scene.location, &scene.time_of_day));
        out.push_str("\n\n");
        for shot in snapshot
            .shots
            .iter()
            .filter(|s| s.scene_id.as_ref() == Some(&scene.id))
        {
            let speaker = shot
                .character_ids
                .first()
                .and_then(|id| names.get(id.as_str()));
            if shot.dialogue.trim().is_empty() {
                if !shot.description.trim().is_empty() {
                    out.push_str(&action(shot.description.trim()));
                    out.push_str("\n\n");
                }
                continue;
            }
            if !shot.description.trim().is_empty() && !shot.description.ends_with(" speaks") {
                out.push_str(&action(shot.description.trim()));
                out.push_str("\n\n");
            }
            out.push_str(&cue(speaker.copied().unwrap_or("VOICE")));
            out.push('\n');
            // Blank lines inside dialogue would end the block.
            out.push_str(&shot.dialogue.trim().replace("\n\n", "\n"));
            out.push_str("\n\n");
        }
    }
    out
}
