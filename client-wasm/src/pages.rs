//! The addresses of the Versions tab's pages, sans-IO so that they are tested natively.
//!
//! `#/p/{id}/versions` is the list, `#/p/{id}/versions/{v}[/script|/characters][?shot={s}]` a
//! version's read-only view, `#/p/{id}/versions/compare?from={v}&to={v|now}` a comparison.
//! Links carry these hashes (a review link opens a version), so parsing never fails: anything
//! it cannot read is the list.

use api_types::{ShotId, VersionId};

/// Which part of a version the view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Board,
    Script,
    Characters,
}

impl Part {
    pub const ALL: [Part; 3] = [Part::Board, Part::Script, Part::Characters];

    pub fn slug(self) -> &'static str {
        match self {
            Part::Board => "board",
            Part::Script => "script",
            Part::Characters => "characters",
        }
    }
}

/// A page of the Versions tab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    List,
    View {
        version: VersionId,
        part: Part,
        /// A shot to point at (the diff's link to a shot that is gone from the live project).
        shot: Option<ShotId>,
    },
    Compare {
        from: VersionId,
        /// `None` is the live project.
        to: Option<VersionId>,
    },
}

/// Reads the page from a hash such as `#/p/{id}/versions/{v}/script?shot=...`.
pub fn parse(hash: &str) -> Page {
    let hash = hash.trim_start_matches('#');
    let (path, query) = hash.split_once('?').unwrap_or((hash, ""));
    let param = |key: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
            .filter(|v| !v.is_empty())
            .map(decode)
    };
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        ["p", _, "versions", "compare", ..] => match param("from") {
            Some(from) => Page::Compare {
                from: VersionId::from(from),
                to: param("to").filter(|t| t != "now").map(VersionId::from),
            },
            None => Page::List,
        },
        ["p", _, "versions", version, rest @ ..] => Page::View {
            version: VersionId::from(decode(version)),
            part: match rest.first() {
                Some(&"script") => Part::Script,
                Some(&"characters") => Part::Characters,
                _ => Part::Board,
            },
            shot: param("shot").map(ShotId::from),
        },
        _ => Page::List,
    }
}

/// The hash of a page of `project`'s Versions tab.
pub fn href(project: &str, page: &Page) -> String {
    match page {
        Page::List => format!("#/p/{project}/versions"),
        Page::View {
            version,
            part,
            shot,
        } => {
            let mut h = format!("#/p/{project}/versions/{}", encode(version.as_str()));
            if *part != Part::Board {
                h.push('/');
                h.push_str(part.slug());
            }
            if let Some(shot) = shot {
                h.push_str("?shot=");
                h.push_str(&encode(shot.as_str()));
            }
            h
        }
        Page::Compare { from, to } => format!(
            "#/p/{project}/versions/compare?from={}&to={}",
            encode(from.as_str()),
            to.as_ref()
                .map_or_else(|| "now".to_owned(), |t| encode(t.as_str()))
        ),
    }
}

/// A project's hash without its `token=` parameter (the other parameters stay), or `None`
/// when the hash is not a project's.
pub fn without_token(hash: &str) -> Option<String> {
    let hash = hash.trim_start_matches('#');
    let (path, query) = hash.split_once('?').unwrap_or((hash, ""));
    if !path.starts_with("/p/") {
        return None;
    }
    let rest: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("token="))
        .collect();
    Some(if rest.is_empty() {
        format!("#{path}")
    } else {
        format!("#{path}?{}", rest.join("&"))
    })
}

/// Fills the `{name}` placeholders of a translated template.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (key, value) in values {
        out = out.replace(&format!("{{{key}}}"), value);
    }
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters (ids are mostly hex, but a
/// peer may write any string).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Undoes [`encode`] (and any other percent-encoding); a malformed escape stays as it is.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(page: Page) {
        let hash = href("p1", &page);
        assert_eq!(parse(&hash), page, "{hash}");
    }

    #[test]
    fn every_page_reads_back_from_its_address() {
        round_trip(Page::List);
        round_trip(Page::View {
            version: VersionId::from("v1"),
            part: Part::Board,
            shot: None,
        });
        round_trip(Page::View {
            version: VersionId::from("v1"),
            part: Part::Script,
            shot: None,
        });
        round_trip(Page::View {
            version: VersionId::from("v 2/é"),
            part: Part::Characters,
            shot: Some(ShotId::from("shot&=?#1")),
        });
        round_trip(Page::Compare {
            from: VersionId::from("a"),
            to: None,
        });
        round_trip(Page::Compare {
            from: VersionId::from("a"),
            to: Some(VersionId::from("b")),
        });
    }

    #[test]
    fn addresses_are_the_documented_ones() {
        let view = Page::View {
            version: VersionId::from("v1"),
            part: Part::Board,
            shot: Some(ShotId::from("s4")),
        };
        assert_eq!(href("p1", &view), "#/p/p1/versions/v1?shot=s4");
        let compare = Page::Compare {
            from: VersionId::from("v1"),
            to: None,
        };
        assert_eq!(
            href("p1", &compare),
            "#/p/p1/versions/compare?from=v1&to=now"
        );
    }

    #[test]
    fn what_cannot_be_read_is_the_list() {
        assert_eq!(parse(""), Page::List);
        assert_eq!(parse("#/p/p1/board"), Page::List);
        assert_eq!(parse("#/p/p1/versions"), Page::List);
        assert_eq!(parse("#/p/p1/versions/compare?to=now"), Page::List);
        assert_eq!(parse("#/p/p1/versions/compare?from=&to=now"), Page::List);
        // A broken escape is kept as it is rather than refused.
        assert_eq!(
            parse("#/p/p1/versions/v%zz"),
            Page::View {
                version: VersionId::from("v%zz"),
                part: Part::Board,
                shot: None
            }
        );
    }

    #[test]
    fn the_token_leaves_the_address_and_the_rest_stays() {
        assert_eq!(
            without_token("#/p/p1/versions/v1?token=abc"),
            Some("#/p/p1/versions/v1".to_owned())
        );
        assert_eq!(
            without_token("#/p/p1/versions/compare?from=a&token=abc&to=now"),
            Some("#/p/p1/versions/compare?from=a&to=now".to_owned())
        );
        assert_eq!(without_token("#/?token=abc"), None);
    }

    #[test]
    fn templates_fill_every_placeholder() {
        assert_eq!(
            fill(
                "{author} 于 {time}",
                &[("time", "5 Dec"), ("author", "Lin")]
            ),
            "Lin 于 5 Dec"
        );
        assert_eq!(fill("no placeholders", &[("n", "1")]), "no placeholders");
    }
}
