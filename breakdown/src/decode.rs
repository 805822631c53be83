//! Bytes to text: BOM, then UTF-8, then UTF-16 without BOM, then the legacy encoding a detector
//! (chardetng, Firefox's) finds most likely, e.g. GB18030 for a Chinese novel saved as GBK.

use encoding_rs::{Encoding, GB18030, UTF_8, UTF_16BE, UTF_16LE};

use crate::{Error, Result};

#[derive(Debug)]
pub(crate) struct Decoded {
    pub text: String,
    pub encoding: &'static str,
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::Empty);
    }
    let (encoding, body) = if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        (enc, &bytes[bom_len..])
    } else if let Some(enc) = utf16_without_bom(bytes) {
        (enc, bytes)
    } else if std::str::from_utf8(bytes).is_ok() {
        (UTF_8, bytes)
    } else {
        let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
        detector.feed(bytes, true);
        // A GBK file is also valid GB18030; prefer the superset so no character is lost.
        let guess = detector.guess(None, chardetng::Utf8Detection::Allow);
        let guess = if guess == encoding_rs::GBK {
            GB18030
        } else {
            guess
        };
        (guess, bytes)
    };
    let (text, had_errors) = encoding.decode_without_bom_handling(body);
    if had_errors {
        let bad = text.chars().filter(|&c| c == '\u{FFFD}').count();
        if bad * 100 > text.chars().count() {
            return Err(Error::NotText(format!(
                "{bad} undecodable sequences as {}",
                encoding.name()
            )));
        }
    }
    check_plain_text(&text)?;
    Ok(Decoded {
        text: text.into_owned(),
        encoding: encoding.name(),
    })
}

/// ASCII-heavy UTF-16 has a zero in every other byte; that is the one case we can tell
/// without a BOM.
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    if bytes.len() < 4 || !bytes.len().is_multiple_of(2) {
        return None;
    }
    let pairs = bytes.len() / 2;
    let zero_odd = bytes.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
    let zero_even = bytes.iter().step_by(2).filter(|&&b| b == 0).count();
    if zero_odd * 10 > pairs * 3 && zero_even * 10 < pairs {
        Some(UTF_16LE)
    } else if zero_even * 10 > pairs * 3 && zero_odd * 10 < pairs {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// Text has almost no control characters; executables, images and archives have many.
fn check_plain_text(text: &str) -> Result<()> {
    let total = text.chars().count().max(1);
    let control = text
        .chars()
        .filter(|&c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
        .count();
    if text.contains('\0') || control * 200 > total {
        return Err(Error::NotText(format!(
            "{control} control characters in {total}: binary data"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "第一回 宴桃园豪杰三结义\n话说天下大势，分久必合，合久必分。";

    #[test]
    fn decodes_every_supported_encoding() {
        let mut utf8_bom = vec![0xEF, 0xBB, 0xBF];
        utf8_bom.extend_from_slice(SAMPLE.as_bytes());
        let mut utf16le_bom = vec![0xFF, 0xFE];
        utf16le_bom.extend(SAMPLE.encode_utf16().flat_map(u16::to_le_bytes));
        let mut utf16be_bom = vec![0xFE, 0xFF];
        utf16be_bom.extend(SAMPLE.encode_utf16().flat_map(u16::to_be_bytes));
        let (gbk, _, _) = encoding_rs::GBK.encode(SAMPLE);
        let (gb18030, _, _) = GB18030.encode(SAMPLE);

        for (name, bytes) in [
            ("utf-8", SAMPLE.as_bytes().to_vec()),
            ("utf-8 bom", utf8_bom),
            ("utf-16le bom", utf16le_bom),
            ("utf-16be bom", utf16be_bom),
            ("gbk", gbk.into_owned()),
            ("gb18030", gb18030.into_owned()),
        ] {
            assert_eq!(decode(&bytes).expect(name).text, SAMPLE, "{name}");
        }
    }

    #[test]
    fn ascii_utf16_without_bom_is_recognised() {
        let text = "CHAPTER I. Down the Rabbit-Hole\nAlice was beginning to get very tired.";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(decode(&le).expect("UTF-16LE").text, text);
    }

    #[test]
    fn empty_and_binary_inputs_are_refused() {
        assert!(matches!(decode(b""), Err(Error::Empty)));
        assert!(matches!(decode(b" \n\t "), Err(Error::Empty)));
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0\x1f\xf3\xffa";
        assert!(matches!(decode(png), Err(Error::NotText(_))));
    }
}
