//! The FCP exports parsed back with quick-xml's reader: every name, path, note and id of a
//! timeline whose strings carry `&`, `<`, `>`, both quotes and CJK comes back unchanged, in
//! element text and in attribute values alike. (The reference readers in `readers.rs` check
//! the same for what they expose; FCPXML's notes, media paths and metadata they do not.)

#[path = "fixtures/markup.rs"]
mod markup;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// Every attribute as (element, key, value) and every element's text as (element, "", text),
/// unescaped, in document order.
fn values(xml: &str) -> Vec<(String, String, String)> {
    let mut reader = Reader::from_str(xml);
    let mut out = Vec::new();
    // The open elements, each with the text read inside it so far: quick-xml hands text over
    // in pieces, split at every entity reference.
    let mut open: Vec<(String, String)> = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let name = attributes(&e, &mut out);
                open.push((name, String::new()));
            }
            Event::Empty(e) => {
                attributes(&e, &mut out);
            }
            Event::Text(t) => {
                let text = t.decode().expect("UTF-8 text");
                if let Some((_, inside)) = open.last_mut() {
                    inside.push_str(&text);
                }
            }
            Event::GeneralRef(r) => {
                let name = r.decode().expect("UTF-8 reference");
                let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                    .expect("only the predefined entities are used");
                if let Some((_, inside)) = open.last_mut() {
                    inside.push_str(resolved);
                }
            }
            Event::End(_) => {
                let (name, text) = open.pop().expect("an open element");
                if !text.trim().is_empty() {
                    out.push((name, String::new(), text));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// Records the attributes of `e`; returns its name.
fn attributes(e: &BytesStart, out: &mut Vec<(String, String, String)>) -> String {
    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    for attr in e.attributes() {
        let attr = attr.expect("a well-formed attribute");
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        let value = attr
            .normalized_value(XmlVersion::Explicit1_0)
            .expect("known entities");
        out.push((name.clone(), key, value.into_owned()));
    }
    name
}

fn has(values: &[(String, String, String)], element: &str, key: &str, value: &str) -> bool {
    values
        .iter()
        .any(|(e, k, v)| e == element && k == key && v == value)
}

#[test]
fn fcp7_names_paths_and_comments_come_back_unchanged() {
    let timeline = markup::timeline();
    let read = values(&exports::fcp7::write(&timeline));
    assert!(has(&read, "name", "", &timeline.name), "{read:#?}");
    let mut clips = 0;
    for shot in &timeline.shots {
        let Some(media) = &shot.media else { continue };
        clips += 1;
        for (element, value) in [
            ("name", media.asset_id.as_str()),
            ("pathurl", &media.url),
            ("mastercomment1", &shot.description),
            ("mastercomment2", shot.shot_id.as_str()),
        ] {
            assert!(has(&read, element, "", value), "{element} {value:?}");
        }
    }
    assert_eq!(clips, 2);
    assert_eq!(
        read.iter()
            .filter(|(e, k, _)| e == "clipitem" && k == "id")
            .count(),
        clips
    );
}

#[test]
fn fcpxml_names_paths_notes_and_ids_come_back_unchanged() {
    let timeline = markup::timeline();
    let read = values(&exports::fcpxml::write(&timeline));
    assert!(has(&read, "project", "name", &timeline.name), "{read:#?}");
    for shot in &timeline.shots {
        let Some(media) = &shot.media else {
            assert!(has(&read, "gap", "name", &format!("Shot {}", shot.number)));
            continue;
        };
        assert!(has(&read, "asset", "name", &media.asset_id));
        assert!(has(&read, "media-rep", "src", &media.url));
        assert!(has(&read, "note", "", &shot.description));
        assert!(has(&read, "md", "value", shot.shot_id.as_str()));
    }
}
