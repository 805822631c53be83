//! What a comment's text may be, and the people its `@name` mentions name. Pure functions: the
//! handlers call them before anything is written.

use api_types::review::MAX_TEXT_CHARS;
use api_types::{Person, PersonId};

use crate::http::ApiError;

/// A comment's text: 1 to [`MAX_TEXT_CHARS`] characters, not only spaces. Kept as written
/// (its line breaks and spacing are the author's).
pub(crate) fn comment_text(text: &str) -> Result<&str, ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::BadRequest("a comment needs some text".into()));
    }
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(ApiError::BadRequest(format!(
            "a comment is limited to {MAX_TEXT_CHARS} characters (this one has {chars})"
        )));
    }
    Ok(text)
}

/// A verdict's summary: empty, or up to [`MAX_TEXT_CHARS`] characters.
pub(crate) fn summary_text(text: &str) -> Result<&str, ApiError> {
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(ApiError::BadRequest(format!(
            "a verdict's summary is limited to {MAX_TEXT_CHARS} characters (this one has {chars})"
        )));
    }
    Ok(text)
}

/// The people `@Name` mentions in `text` name, in order of first mention, each once. Names
/// may contain spaces ("@Lin Wei"), so at every `@` the longest person's name that follows
/// (ignoring case) and ends at a word boundary wins; an `@` naming nobody is plain text.
pub(crate) fn mentions(text: &str, people: &[Person]) -> Vec<PersonId> {
    let mut found: Vec<PersonId> = Vec::new();
    for (at, _) in text.match_indices('@') {
        let rest = &text[at + 1..];
        let best = people
            .iter()
            .filter(|p| !p.name.is_empty() && starts_with_name(rest, &p.name))
            .max_by_key(|p| p.name.len());
        if let Some(person) = best
            && !found.contains(&person.id)
        {
            found.push(person.id.clone());
        }
    }
    found
}

/// Whether `text` starts with `name` (case-insensitively) followed by something that cannot
/// continue a name.
fn starts_with_name(text: &str, name: &str) -> bool {
    let mut chars = text.chars();
    for n in name.chars() {
        match chars.next() {
            Some(c) if c.to_lowercase().eq(n.to_lowercase()) => {}
            _ => return false,
        }
    }
    chars
        .next()
        .is_none_or(|c| !c.is_alphanumeric() && c != '_')
}

#[cfg(test)]
mod tests {
    use api_types::Role;

    use super::*;

    fn person(id: &str, name: &str) -> Person {
        Person {
            id: PersonId::from(id),
            name: name.into(),
            role: Role::Commenter,
        }
    }

    #[test]
    fn mentions_resolve_to_people_by_name() {
        let people = [
            person("lin", "Lin"),
            person("linwei", "Lin Wei"),
            person("ada", "Ada"),
            person("zhang", "张飞"),
        ];
        let ids = |text: &str| -> Vec<String> {
            mentions(text, &people)
                .into_iter()
                .map(|p| p.as_str().to_owned())
                .collect()
        };
        assert_eq!(ids("@lin, look: @Ada and @ada again"), ["lin", "ada"]);
        // The longest name that follows wins.
        assert_eq!(ids("thanks @Lin Wei!"), ["linwei"]);
        // A name must end where a word does; an unknown name is plain text.
        assert_eq!(ids("@Linda @Bob mail@example.com"), Vec::<String>::new());
        assert_eq!(ids("@张飞，看这里"), ["zhang"]);
    }

    #[test]
    fn comment_text_is_bounded() {
        assert!(comment_text("  \n ").is_err());
        assert!(comment_text(&"字".repeat(MAX_TEXT_CHARS)).is_ok());
        assert!(comment_text(&"字".repeat(MAX_TEXT_CHARS + 1)).is_err());
        assert!(summary_text("").is_ok());
    }
}
