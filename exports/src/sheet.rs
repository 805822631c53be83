//! A print-ready HTML storyboard sheet: six shots per landscape page, each with its selected
//! take (or an empty frame), number, scene, framing, duration, characters, description and
//! dialogue. Print it from any browser, or save it as PDF.

use std::borrow::Cow;

use crate::Timeline;

/// Text for HTML element content and quoted attribute values: the five characters XML
/// escapes are the ones that matter in HTML too, so quick-xml's escaping serves both.
fn html(text: &str) -> Cow<'_, str> {
    quick_xml::escape::escape(text)
}

pub fn write(timeline: &Timeline) -> String {
    let mut cards = String::new();
    for shot in &timeline.shots {
        let frame = match &shot.media {
            Some(m) if m.is_video => format!(
                "<video src=\"{}\" muted preload=\"metadata\"></video>",
                html(&m.url)
            ),
            Some(m) => format!(
                "<img src=\"{}\" alt=\"Shot {}\">",
                html(&m.url),
                shot.number
            ),
            None => "<div class=\"empty\">no take yet</div>".into(),
        };
        let dialogue = if shot.dialogue.is_empty() {
            String::new()
        } else {
            let speaker = shot
                .speaker
                .as_deref()
                .map(|s| format!("<b>{}</b> ", html(s)))
                .unwrap_or_default();
            format!(
                "<p class=\"dialogue\">{speaker}“{}”</p>",
                html(&shot.dialogue)
            )
        };
        cards.push_str(&format!(
            "<article class=\"shot\"><div class=\"frame\">{frame}</div><header><span class=\"num\">{n}</span> <span class=\"scene\">{scene}</span> <span class=\"meta\">{framing} · {secs:.1}s</span></header><p>{desc}</p>{dialogue}<footer>{chars}</footer></article>\n",
            n = shot.number,
            scene = html(&shot.scene_title),
            framing = html(if shot.framing.is_empty() { "—" } else { &shot.framing }),
            secs = f64::from(shot.duration_ms) / 1000.0,
            desc = html(&shot.description),
            chars = html(&shot.characters.join(", ")),
        ));
    }
    let total = timeline.total_frames() as f64 / f64::from(timeline.fps);
    format!(
        r#"<!DOCTYPE html>
<html lang="und">
<head>
<meta charset="utf-8">
<title>{title} — storyboard</title>
<style>
  @page {{ size: A4 landscape; margin: 10mm; }}
  body {{ font-family: "Noto Sans", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 0; color: #111; }}
  h1 {{ font-size: 16pt; margin: 0 0 4mm; }}
  .grid {{ display: grid; grid-template-columns: repeat(3, 1fr); gap: 5mm; }}
  .shot {{ break-inside: avoid; border: 1px solid #999; padding: 2mm; font-size: 9pt; }}
  .shot:nth-child(6n) {{ break-after: page; }}
  .frame {{ aspect-ratio: 16 / 9; background: #eee; display: flex; align-items: center; justify-content: center; overflow: hidden; }}
  .frame img, .frame video {{ width: 100%; height: 100%; object-fit: contain; }}
  .empty {{ color: #888; }}
  .num {{ font-weight: bold; font-size: 12pt; }}
  .meta {{ float: right; color: #555; }}
  .dialogue {{ font-style: italic; }}
  footer {{ color: #555; }}
</style>
</head>
<body>
<h1>{title} — {count} shots, {total:.1} s</h1>
<main class="grid">
{cards}</main>
</body>
</html>
"#,
        title = html(&timeline.name),
        count = timeline.shots.len(),
    )
}
