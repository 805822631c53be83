//! The offline renderer: deterministic, 16:9, real glyphs for Chinese, wrapped descriptions.

use provider_adapters::offline::{OfflineConfig, OfflineRenderer, render_frame};
use provider_adapters::{
    GenerationProvider, GenerationRequest, Operation, ShotSketch, Size, SketchCharacter,
    TaskStatus, generate,
};
use std::time::Duration;

fn sketch() -> ShotSketch {
    ShotSketch {
        number: "12".into(),
        scene: "桃园 · day".into(),
        framing: "medium".into(),
        camera: "low angle, slow push in".into(),
        description: "Liu Bei, Guan Yu and Zhang Fei kneel before the altar.".into(),
        dialogue: "“We were not born on the same day...”".into(),
        characters: vec![
            SketchCharacter {
                name: "Liu Bei".into(),
                color: Some("#c0392b".into()),
            },
            SketchCharacter {
                name: "Guan Yu".into(),
                color: None,
            },
        ],
        duration_ms: 3500,
    }
}

/// A PNG's size and premultiplied RGBA pixels.
fn pixels(png: &[u8]) -> (u32, u32, Vec<u8>) {
    let pixmap = tiny_skia::Pixmap::decode_png(png).expect("a valid png");
    (pixmap.width(), pixmap.height(), pixmap.data().to_vec())
}

/// How many pixels differ between two same-sized renders inside a band of rows.
fn differing_pixels(a: &[u8], b: &[u8], width: u32, rows: std::ops::Range<u32>) -> usize {
    let w = width as usize;
    rows.map(|y| y as usize)
        .map(|y| {
            (0..w)
                .filter(|x| {
                    let i = (y * w + x) * 4;
                    a[i..i + 4] != b[i..i + 4]
                })
                .count()
        })
        .sum()
}

#[test]
fn same_shot_gives_the_same_bytes() -> anyhow::Result<()> {
    let a = render_frame(&sketch(), Size::HD)?;
    let b = render_frame(&sketch(), Size::HD)?;
    assert_eq!(a, b);
    let mut other = sketch();
    other.number = "13".into();
    assert_ne!(a, render_frame(&other, Size::HD)?);
    Ok(())
}

#[test]
fn frames_are_16_by_9_pngs() -> anyhow::Result<()> {
    let png = render_frame(&sketch(), Size::HD)?;
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let (w, h, data) = pixels(&png);
    assert_eq!((w, h), (1280, 720));
    assert_eq!(data.len(), 1280 * 720 * 4);
    let small = render_frame(&sketch(), Size::new(640, 999))?;
    let (w, h, _) = pixels(&small);
    assert_eq!(
        (w, h),
        (640, 360),
        "height follows 16:9, whatever was asked"
    );
    Ok(())
}

#[test]
fn chinese_text_draws_real_glyphs() -> anyhow::Result<()> {
    let with = |description: &str| {
        let mut s = sketch();
        s.description = description.into();
        render_frame(&s, Size::HD)
    };
    let blank = pixels(&with("")?).2;
    let a = pixels(&with("刘备、关羽、张飞于桃园结义")?).2;
    let b = pixels(&with("曹操煮酒论英雄于许田之上")?).2;
    // The description band starts under the viewfinder (y = 552 at 1280x720).
    let ink = differing_pixels(&blank, &a, 1280, 556..720);
    assert!(ink > 1000, "only {ink} pixels of Chinese text drawn");
    // Missing glyphs would all draw the same box: different characters must differ.
    let distinct = differing_pixels(&a, &b, 1280, 556..720);
    assert!(
        distinct > 1000,
        "different characters drew alike ({distinct} pixels)"
    );
    Ok(())
}

#[test]
fn chinese_names_draw_in_the_viewfinder_and_legend() -> anyhow::Result<()> {
    let render = |name: &str| {
        let mut s = sketch();
        s.characters = vec![SketchCharacter {
            name: name.into(),
            color: Some("#2e8b57".into()),
        }];
        render_frame(&s, Size::HD)
    };
    let a = pixels(&render("刘备")?).2;
    let b = pixels(&render("诸葛亮")?).2;
    assert!(differing_pixels(&a, &b, 1280, 84..552) > 200);
    Ok(())
}

#[test]
fn long_descriptions_wrap_onto_several_lines() -> anyhow::Result<()> {
    let render = |description: &str| {
        let mut s = sketch();
        s.description = description.into();
        render_frame(&s, Size::HD)
    };
    let blank = pixels(&render("")?).2;
    let short = pixels(&render("A short line.")?).2;
    let long = "The camera drifts across the orchard as petals fall on the three men, who \
                kneel in a row before a makeshift altar of stacked stones, incense smoke \
                curling into the morning light while their horses graze by the fence. \
                Behind them the farmhouse door stands open; a servant watches, unsure \
                whether to call them in for the meal that is getting cold on the table.";
    let long = pixels(&render(long)?).2;
    // Line 1 has its baseline at y = 588, line 2 at 622, line 3 at 656.
    let second_line = 600..630;
    assert_eq!(
        differing_pixels(&blank, &short, 1280, second_line.clone()),
        0
    );
    assert!(differing_pixels(&blank, &long, 1280, second_line) > 500);
    assert!(differing_pixels(&blank, &long, 1280, 634..664) > 100);
    Ok(())
}

#[test]
fn framing_notes_change_the_guide() -> anyhow::Result<()> {
    let render = |framing: &str| {
        let mut s = sketch();
        s.framing = framing.into();
        render_frame(&s, Size::HD)
    };
    let wide = render("wide")?;
    let close = render("特写")?;
    let medium = render("medium")?;
    assert_ne!(wide, close);
    assert_ne!(close, medium);
    Ok(())
}

#[tokio::test]
async fn renderer_is_a_synchronous_provider() -> anyhow::Result<()> {
    let renderer = OfflineRenderer::new(OfflineConfig::default());
    let mut request = GenerationRequest::text_to_image("prompt text");
    request.sketch = Some(sketch());
    let handle = renderer.submit(&request).await?;
    assert!(matches!(handle.status, TaskStatus::Succeeded { .. }));
    assert_eq!(handle.provenance.provider, "offline");
    let generation = generate(&renderer, &request, Duration::from_millis(1)).await?;
    let output = &generation.outputs[0];
    assert_eq!(output.mime, "image/png");
    assert_eq!((output.width, output.height), (Some(1280), Some(720)));
    assert_eq!(output.bytes, render_frame(&sketch(), Size::HD)?);

    // Without a sketch the prompt is drawn as the description.
    let plain = generate(
        &renderer,
        &GenerationRequest::text_to_image("just a prompt"),
        Duration::ZERO,
    )
    .await?;
    assert!(plain.outputs[0].bytes.len() > 1000);

    let video = GenerationRequest::text_to_image("x").with_operation(Operation::TextToVideo);
    let err = renderer.submit(&video).await.expect_err("no video");
    assert_eq!(err.to_string(), "offline does not support text_to_video");
    Ok(())
}

/// Writes a sample frame when `SHOTWEAVE_RENDER_SAMPLE` names a path, to look at by eye.
#[test]
fn sample_frame_for_review() -> anyhow::Result<()> {
    let mut s = sketch();
    s.description =
        "刘备、关羽、张飞三人在桃园中焚香结义，誓同生死。花瓣纷纷落下，远处的马匹低头吃草。".into();
    s.characters.push(SketchCharacter {
        name: "张飞".into(),
        color: None,
    });
    let png = render_frame(&s, Size::HD)?;
    assert!(png.len() > 10_000);
    if let Ok(path) = std::env::var("SHOTWEAVE_RENDER_SAMPLE") {
        std::fs::write(path, &png)?;
    }
    Ok(())
}

/// The shots whose frames are pinned by hash: Latin and CJK text, a long description and
/// dialogue that wrap and overflow, an empty shot, several framings, and a request of each
/// aspect ratio a project can have (the frame is 16:9 at the requested width whatever the
/// ratio, and the hashes pin that too).
fn pinned_frames() -> Vec<(&'static str, ShotSketch, Size)> {
    let latin = sketch();
    let mut cjk = sketch();
    cjk.number = "7A".into();
    cjk.scene = "许田 · 围猎".into();
    cjk.framing = "特写".into();
    cjk.camera = "手持，轻微倾斜".into();
    cjk.description =
        "曹操纵马上前，接过天子的宝雕弓，一箭射中大鹿。群臣以为天子射中，齐呼万岁。".into();
    cjk.dialogue = "关羽：（按刀欲斩）……".into();
    cjk.characters = ["曹操", "汉献帝", "关羽"]
        .iter()
        .map(|n| SketchCharacter {
            name: (*n).into(),
            color: None,
        })
        .collect();
    let mut long = sketch();
    long.framing = "extreme wide".into();
    long.description = "The camera drifts across the orchard as petals fall on the three men, \
        who kneel in a row before a makeshift altar of stacked stones, incense smoke curling \
        into the morning light while their horses graze by the fence. Behind them the \
        farmhouse door stands open; a servant watches, unsure whether to call them in for the \
        meal that is getting cold on the table, and the dog at her feet has stopped barking. "
        .repeat(3);
    long.dialogue =
        "“We were not born on the same day, but we ask to die on the same day.” ".repeat(6);
    long.characters = (0..9)
        .map(|i| SketchCharacter {
            name: format!("Soldier {i}"),
            color: (i % 2 == 0).then(|| format!("#{:02x}60{:02x}", 30 * i, 200 - 20 * i)),
        })
        .collect();
    let mut close = sketch();
    close.framing = "close-up".into();
    let mut mixed = cjk.clone();
    mixed.description =
        "Zhang Fei 张飞 shouts across the bridge: 长坂桥 — nobody dares to cross.".into();
    vec![
        ("latin-16x9", latin.clone(), Size::HD),
        ("cjk-16x9", cjk.clone(), Size::HD),
        ("long-16x9", long, Size::HD),
        ("empty-16x9", ShotSketch::default(), Size::HD),
        ("close-up-16x9", close, Size::HD),
        ("mixed-16x9-1920", mixed, Size::new(1920, 1080)),
        ("latin-9x16", latin.clone(), Size::new(720, 1280)),
        ("latin-1x1", latin.clone(), Size::new(1024, 1024)),
        ("latin-4x3", latin.clone(), Size::new(1440, 1080)),
        ("latin-2.39x1", latin, Size::new(1920, 804)),
        ("cjk-16x9-640", cjk, Size::new(640, 360)),
    ]
}

/// Every pinned frame's SHA-256 must match `tests/offline_hashes.txt`: the renderer promises
/// the same bytes on every machine, and a change to them (a font, a layout constant, a
/// dependency's rasteriser) should be a decision, not an accident.
#[test]
fn pinned_frames_keep_their_bytes() -> anyhow::Result<()> {
    use sha2::{Digest, Sha256};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/offline_hashes.txt");
    let mut actual = String::from(
        "# SHA-256 of the offline renderer's pinned frames (tests/offline.rs, pinned_frames).\n\
         # Regenerate only on purpose: SHOTWEAVE_BLESS=1 cargo test -p provider-adapters --test offline\n",
    );
    for (name, sketch, size) in pinned_frames() {
        let png = render_frame(&sketch, size)?;
        actual.push_str(&format!("{name} {}\n", hex::encode(Sha256::digest(&png))));
    }
    if std::env::var_os("SHOTWEAVE_BLESS").is_some() {
        std::fs::write(&path, &actual)?;
        eprintln!("wrote {}", path.display());
        return Ok(());
    }
    let stored = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let hashes = |text: &str| -> Vec<(String, String)> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| l.split_once(' '))
            .map(|(n, h)| (n.to_owned(), h.trim().to_owned()))
            .collect()
    };
    let (want, got) = (hashes(&stored), hashes(&actual));
    let differing: Vec<String> = got
        .iter()
        .filter(|g| !want.contains(g))
        .map(|(name, hash)| {
            let stored = want
                .iter()
                .find(|(n, _)| n == name)
                .map_or("none", |(_, h)| h);
            format!("  {name}: rendered {hash}, stored {stored}")
        })
        .collect();
    assert!(
        differing.is_empty() && want.len() == got.len(),
        "the offline renderer's bytes changed:\n{}\n({} frames stored, {} rendered)\n\
         If the change is deliberate, regenerate the hashes and commit them:\n  \
         SHOTWEAVE_BLESS=1 cargo test -p provider-adapters --test offline pinned_frames\n\
         If it is not (a dependency update, another platform), the renderer is no longer \
         deterministic: find out why before blessing.",
        differing.join("\n"),
        want.len(),
        got.len()
    );
    Ok(())
}
