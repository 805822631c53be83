//! Finding characters and their aliases in prose.
//!
//! Chinese: classical novels introduce people as 姓X名Y，字Z (family name, given name, courtesy
//! name), sometimes adding 后改W for a later courtesy name; the text then uses the courtesy
//! name (玄德) as often as the full name (刘备), so the two are one character. A family name
//! plus 公 (关公) is an honorific alias when only one character has that family name. Frequent
//! speakers (X曰) with a common family name are characters too.
//!
//! English: dialogue attributions ("said the Hatter", "Alice thought") name the speakers;
//! "the Hatter" and "Hatter" are one character, and a one-word name that is the last word of a
//! longer one ("Rabbit", "White Rabbit") is its alias.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use regex::Regex;

use crate::{CharacterDraft, Language};

static ZH_NAMING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"姓(\p{Han})[，,]?名(\p{Han}{1,2}?)[，,]?字(\p{Han}{2})(?:[，,]后改(\p{Han}{2}))?")
        .expect("valid regex")
});
static ZH_SPEAKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\p{Han}{2})(?:曰|大喜|大怒|大惊|笑曰)").expect("valid regex"));

/// The most common Chinese family names (single character), for telling a speaker's name from
/// a phrase that happens to precede 曰.
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤关诸葛庞鲁祝糜简";

const EN_VERBS: &str = "said|cried|thought|asked|replied|exclaimed|shouted|whispered|began|continued|remarked|added|repeated|answered|called|sighed|screamed|muttered|went on";

static EN_AFTER_VERB: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"\b(?:{EN_VERBS})\s+(?:(the)\s+)?([A-Z][a-z]+(?:\s[A-Z][a-z]+)?)"
    ))
    .expect("valid regex")
});
static EN_BEFORE_VERB: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?:(the)\s+)?\b([A-Z][a-z]+(?:\s[A-Z][a-z]+)?)\s+(?:{EN_VERBS})\b"
    ))
    .expect("valid regex")
});

/// Capitalised words that start sentences or address people but are not names.
const EN_STOP: &[&str] = &[
    "I",
    "She",
    "He",
    "It",
    "They",
    "We",
    "You",
    "The",
    "And",
    "But",
    "Then",
    "So",
    "Oh",
    "Well",
    "Yes",
    "No",
    "What",
    "This",
    "That",
    "There",
    "Here",
    "Now",
    "Come",
    "Do",
    "Please",
    "Sir",
    "Said",
    "Everybody",
    "Nobody",
    "Somebody",
    "Who",
    "Why",
    "How",
    "When",
    "Alas",
    "Ah",
];

pub(crate) fn find(text: &str, language: Language) -> Vec<CharacterDraft> {
    match language {
        Language::Zh => find_zh(text),
        Language::En => find_en(text),
    }
}

fn find_zh(text: &str) -> Vec<CharacterDraft> {
    // name -> aliases, in first-appearance order.
    let mut found: Vec<CharacterDraft> = Vec::new();
    for caps in ZH_NAMING.captures_iter(text) {
        let name = format!("{}{}", &caps[1], &caps[2]);
        if found.iter().any(|c| c.name == name) {
            continue;
        }
        let mut aliases = vec![caps[3].to_owned()];
        if let Some(later) = caps.get(4) {
            aliases.push(later.as_str().to_owned());
        }
        found.push(CharacterDraft {
            name,
            aliases,
            description: String::new(),
        });
    }

    let mut speakers: HashMap<&str, usize> = HashMap::new();
    for caps in ZH_SPEAKER.captures_iter(text) {
        *speakers
            .entry(caps.get(1).map_or("", |m| m.as_str()))
            .or_default() += 1;
    }
    let known = |n: &str, found: &[CharacterDraft]| {
        found
            .iter()
            .any(|c| c.name == n || c.aliases.iter().any(|a| a == n))
    };
    let mut frequent: Vec<(&str, usize)> = speakers
        .into_iter()
        .filter(|(n, count)| {
            *count >= 6
                && n.chars().next().is_some_and(|c| SURNAMES.contains(c))
                && !known(n, &found)
        })
        .collect();
    frequent.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (name, _) in frequent {
        found.push(CharacterDraft {
            name: name.to_owned(),
            aliases: Vec::new(),
            description: String::new(),
        });
    }

    // Honorific alias: family name + 公, when the family name is unique among the characters.
    let mut by_surname: BTreeMap<char, Vec<usize>> = BTreeMap::new();
    for (i, c) in found.iter().enumerate() {
        if let Some(s) = c.name.chars().next() {
            by_surname.entry(s).or_default().push(i);
        }
    }
    for (surname, holders) in by_surname {
        let honorific = format!("{surname}公");
        if holders.len() == 1 && text.matches(&honorific).count() >= 3 {
            found[holders[0]].aliases.push(honorific);
        }
    }
    found
}

fn find_en(text: &str) -> Vec<CharacterDraft> {
    // Canonical name -> (count, seen with "the").
    let mut counts: HashMap<String, (usize, bool)> = HashMap::new();
    for re in [&*EN_AFTER_VERB, &*EN_BEFORE_VERB] {
        for caps in re.captures_iter(text) {
            let name = &caps[2];
            if EN_STOP.contains(&name.split(' ').next().unwrap_or(name)) {
                continue;
            }
            let entry = counts.entry(name.to_owned()).or_default();
            entry.0 += 1;
            entry.1 |= caps.get(1).is_some();
        }
    }
    let mut names: Vec<(String, usize, bool)> = counts
        .into_iter()
        .filter(|(_, (n, _))| *n >= 3)
        .map(|(name, (n, the))| (name, n, the))
        .collect();
    names.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));

    let mut found: Vec<CharacterDraft> = Vec::new();
    // Longer names first, so "Rabbit" can fold into "White Rabbit".
    let mut by_length = names.clone();
    by_length.sort_by_key(|(name, _, _)| std::cmp::Reverse(name.len()));
    let mut folded: HashMap<String, String> = HashMap::new();
    for (name, _, _) in &by_length {
        let last = name.rsplit(' ').next().unwrap_or(name);
        if last != name {
            let longer_with_same_last = by_length
                .iter()
                .filter(|(n, _, _)| n.ends_with(&format!(" {last}")))
                .count();
            if longer_with_same_last == 1 {
                folded.insert(last.to_owned(), name.clone());
            }
        }
    }
    for (name, _, the) in &names {
        if folded.contains_key(name) {
            continue;
        }
        let mut aliases = Vec::new();
        if *the {
            aliases.push(format!("the {name}"));
        }
        for (short, long) in &folded {
            if long == name {
                aliases.push(short.clone());
            }
        }
        aliases.sort();
        found.push(CharacterDraft {
            name: name.clone(),
            aliases,
            description: String::new(),
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_naming_patterns_give_courtesy_names_as_aliases() {
        let text = "姓刘名备，字玄德。某姓张名飞，字翼德。吾姓关名羽，字长生，后改云长。姓曹名操字孟德。关公曰。关公大喜。关公曰。";
        let found = find(text, Language::Zh);
        let get = |n: &str| {
            found
                .iter()
                .find(|c| c.name == n)
                .unwrap_or_else(|| panic!("{n} missing: {found:?}"))
        };
        assert_eq!(get("刘备").aliases, ["玄德"]);
        assert_eq!(get("张飞").aliases, ["翼德"]);
        assert_eq!(get("关羽").aliases, ["长生", "云长", "关公"]);
        assert_eq!(get("曹操").aliases, ["孟德"]);
    }

    #[test]
    fn english_attributions_name_speakers_and_fold_aliases() {
        let text = "said the Hatter. said the Hatter. the Hatter said. Alice thought. said Alice. \
                    Alice said. said the White Rabbit. the White Rabbit said. said the Rabbit. \
                    She said. She said. She said.";
        let found = find(text, Language::En);
        let names: Vec<&str> = found.iter().map(|c| c.name.as_str()).collect();
        assert!(
            names.contains(&"Hatter") && names.contains(&"Alice"),
            "{names:?}"
        );
        assert!(!names.contains(&"She"));
        let hatter = found
            .iter()
            .find(|c| c.name == "Hatter")
            .expect("the Hatter");
        assert_eq!(hatter.aliases, ["the Hatter"]);
    }
}
