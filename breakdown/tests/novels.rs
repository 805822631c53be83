//! The real novels from `../shared/data/novels`, imported and broken down offline.

use breakdown::{ImportOptions, apply, import, offline};
use shared_model::testing::data_dir;
use shared_model::{Project, ProjectOptions};

fn read(file: &str) -> Vec<u8> {
    let path = data_dir().join("novels").join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn options(file: &str) -> ImportOptions {
    ImportOptions {
        file_name: Some(file.into()),
        ..Default::default()
    }
}

#[test]
fn alice_has_twelve_chapters_and_becomes_a_storyboard() {
    let novel = import(
        &read("alice-in-wonderland.en.txt"),
        &options("alice-in-wonderland.en.txt"),
    )
    .expect("Alice imports");
    assert_eq!(novel.language.tag(), "en");
    assert_eq!(novel.chapters.len(), 12);
    assert!(novel.chapters[0].title.starts_with("CHAPTER I."));
    assert!(novel.chapters[11].title.starts_with("CHAPTER XII."));

    let breakdown = offline::breakdown(&novel);
    assert!(
        breakdown.scenes.len() >= 12,
        "{} scenes",
        breakdown.scenes.len()
    );
    assert!(
        breakdown.shot_count() > 300,
        "{} shots",
        breakdown.shot_count()
    );
    let names: Vec<&str> = breakdown
        .characters
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    for expected in ["Alice", "Hatter", "King", "Queen", "Gryphon"] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    // Every chapter is represented and the scenes follow the text.
    for chapter in &novel.chapters {
        assert!(
            breakdown.scenes.iter().any(|s| s.chapter == chapter.title),
            "{} has no scene",
            chapter.title
        );
    }
    assert!(
        breakdown
            .scenes
            .windows(2)
            .all(|w| w[0].range.end <= w[1].range.start)
    );

    let project = Project::empty(ProjectOptions::default());
    let applied = apply(&novel, &breakdown, &project);
    assert_eq!(project.shots().len(), breakdown.shot_count());
    assert_eq!(applied.scenes.len(), breakdown.scenes.len());
    assert_eq!(project.script_text(), novel.script);
    let first = project.scene(&applied.scenes[0]).expect("the first scene");
    let text = project
        .anchored_text(first.script_range.as_ref().expect("an anchored scene"))
        .expect("the anchor resolves");
    assert!(
        text.starts_with("CHAPTER I. Down the Rabbit-Hole"),
        "{text:.80}"
    );
    assert!(project.validate().is_empty(), "{:?}", project.validate());
}

#[test]
fn sanguo_has_ten_chapters_no_html_and_merged_aliases() {
    let novel = import(
        &read("sanguo-ch01-10.zh.txt"),
        &options("sanguo-ch01-10.zh.txt"),
    )
    .expect("the first ten chapters import");
    assert_eq!(novel.language.tag(), "zh");
    let titles: Vec<&str> = novel.chapters.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles.len(), 10, "{titles:?}");
    assert!(titles[0].starts_with("第一回"));
    assert!(titles[9].starts_with("第十回"));
    for tag in ["<p>", "</p>", "<br", "□", "简介", "===="] {
        assert!(!novel.script.contains(tag), "{tag} left in the script");
    }

    let breakdown = offline::breakdown(&novel);
    for (name, alias) in [
        ("刘备", "玄德"),
        ("关羽", "云长"),
        ("张飞", "翼德"),
        ("曹操", "孟德"),
    ] {
        let c = breakdown
            .characters
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name} not found among {:?}", breakdown.characters));
        assert!(
            c.aliases.iter().any(|a| a == alias),
            "{name} lacks alias {alias}: {:?}",
            c.aliases
        );
    }
    // Shots that mention only the courtesy name are linked to the character.
    let xuande = breakdown
        .scenes
        .iter()
        .flat_map(|s| &s.shots)
        .filter(|s| s.description.contains("玄德") && !s.description.contains("刘备"))
        .find(|s| !s.characters.is_empty())
        .expect("a shot mentioning 玄德");
    assert!(
        xuande.characters.contains(&"刘备".to_string()),
        "{xuande:?}"
    );
    let dialogue = breakdown
        .scenes
        .iter()
        .flat_map(|s| &s.shots)
        .filter(|s| !s.dialogue.is_empty())
        .count();
    assert!(dialogue > 100, "only {dialogue} dialogue shots");
}

#[test]
fn broken_inputs_end_in_clear_errors() {
    let opts = ImportOptions::default();
    assert_eq!(
        import(b"", &opts).expect_err("empty").to_string(),
        "the file is empty"
    );
    let binary: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    assert!(
        import(&binary, &opts)
            .expect_err("binary")
            .to_string()
            .contains("does not look like text")
    );
    let huge = vec![b'a'; 50 * 1024 * 1024];
    let err = import(&huge, &opts).expect_err("too large").to_string();
    assert!(
        err.contains("52428800 bytes") && err.contains("limit"),
        "{err}"
    );
    assert_eq!(
        import(b"<p></p><br/>", &opts)
            .expect_err("no text")
            .to_string(),
        "the file contains no story text after cleaning"
    );
}

#[test]
fn the_full_novel_imports() {
    let novel = import(&read("sanguo-full.zh.txt"), &options("sanguo-full.zh.txt"))
        .expect("the full novel imports");
    assert_eq!(novel.chapters.len(), 120);
    let breakdown = offline::breakdown(&novel);
    assert!(breakdown.shot_count() > 3_000);
}
