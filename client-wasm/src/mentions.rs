//! `@mentions` in a comment being written: which word after an `@` the caret is in, so the
//! composer can offer the project's people. (The server resolves mentions to people itself.)

/// The `@word` being typed just before `caret`, if any: its start (a char index) and the word.
pub fn mention_at(text: &str, caret: usize) -> Option<(usize, String)> {
    let before: Vec<char> = text.chars().take(caret).collect();
    let at = before.iter().rposition(|c| *c == '@')?;
    let word: String = before[at + 1..].iter().collect();
    if word.chars().any(char::is_whitespace) {
        return None;
    }
    // An address's `@` (letters right before it) is not a mention.
    if at > 0 && before[at - 1].is_alphanumeric() {
        return None;
    }
    Some((at, word))
}

#[cfg(test)]
mod tests {
    use super::mention_at;

    #[test]
    fn mentions_are_found_before_the_caret() {
        assert_eq!(mention_at("hi @Li", 6), Some((3, "Li".into())));
        assert_eq!(mention_at("@", 1), Some((0, String::new())));
        assert_eq!(mention_at("hi @Li Bei", 10), None);
        assert_eq!(mention_at("mail a@b", 8), None);
        assert_eq!(mention_at("看 @刘", 4), Some((2, "刘".into())));
    }
}
