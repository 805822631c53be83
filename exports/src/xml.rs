//! The few shapes the XML exports are made of, over quick-xml's writer, which does all the
//! escaping (element text and attribute values alike) and the indentation.

use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

pub(crate) type XmlWriter = Writer<Vec<u8>>;

/// A whole document: the XML declaration, `<!DOCTYPE root>`, what `body` writes (the root
/// element), indented by two spaces, and a final newline.
pub(crate) fn document(
    doctype: &str,
    body: impl FnOnce(&mut XmlWriter) -> io::Result<()>,
) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let written = (|| {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        w.write_event(Event::DocType(BytesText::from_escaped(doctype)))?;
        body(&mut w)
    })();
    // quick-xml reports the io errors of the sink it writes to; a `Vec` never refuses bytes,
    // so there is no error to hand on and the exports keep their infallible signatures.
    debug_assert!(written.is_ok(), "writing XML into memory failed");
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    // Everything written came from `&str`s (escaping only replaces ASCII characters), so the
    // bytes are UTF-8; the lossy conversion is never lossy.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `<name attrs…>` … `</name>`, with what `inner` writes in between.
pub(crate) fn element(
    w: &mut XmlWriter,
    name: &str,
    attrs: &[(&str, &str)],
    inner: impl FnOnce(&mut XmlWriter) -> io::Result<()>,
) -> io::Result<()> {
    w.create_element(name)
        .with_attributes(attrs.iter().copied())
        .write_inner_content(inner)?;
    Ok(())
}

/// `<name attrs…/>`.
pub(crate) fn empty(w: &mut XmlWriter, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
    w.create_element(name)
        .with_attributes(attrs.iter().copied())
        .write_empty()?;
    Ok(())
}

/// `<name>text</name>`, the text escaped.
pub(crate) fn text(w: &mut XmlWriter, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(text))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_in_text_and_attributes_are_escaped() {
        let doc = document("t", |w| {
            element(w, "t", &[("name", r#"a "b" & 'c' <d>"#)], |w| {
                text(w, "n", "x < y & \"z\" 猫")
            })
        });
        assert_eq!(
            doc,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE t>\n\
             <t name=\"a &quot;b&quot; &amp; &apos;c&apos; &lt;d&gt;\">\n  \
             <n>x &lt; y &amp; &quot;z&quot; 猫</n>\n</t>\n"
        );
    }
}
