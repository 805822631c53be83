//! Built-in default recipes: one provider-neutral prompt template plus parameters per provider.
//!
//! Recipes become shared automerge documents in a later step; until then every provider has
//! exactly one built-in recipe, identified as `builtin/{provider}` with a version that changes
//! whenever its template or parameters do (provenance records both, so a take can always be
//! traced to the text that produced it).

use serde_json::{Map, Value, json};
use shared_model::{Character, Shot};

use api_types::JobKind;

/// The template for frames. Each line is kept only if at least one of its placeholders has a
/// value (or it has none), so a shot without dialogue does not get an empty "They say" line.
const FRAME_TEMPLATE: &str = "\
{description}
Shot size: {framing}.
Camera: {camera}.
Characters: {characters}.
Dialogue in this moment: \"{dialogue}\"
Cinematic storyboard frame, {aspect} composition, consistent character design.";

const CLIP_TEMPLATE: &str = "\
{description}
Shot size: {framing}.
Camera movement: {camera}.
Characters: {characters}.
Dialogue in this moment: \"{dialogue}\"
A single continuous shot of about {duration_s} seconds, cinematic, {aspect}.";

const SHEET_TEMPLATE: &str = "\
Character reference sheet of {name}: {character_description}.
Front, three-quarter and side views on a plain background, neutral pose, consistent design.";

/// A recipe: template and parameters, as the runner applies them.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipe {
    pub id: String,
    pub version: String,
    pub template: &'static str,
    pub negative_prompt: Option<&'static str>,
    /// Provider settings merged into the request's `extra` (e.g. `quality` for OpenAI).
    pub parameters: Map<String, Value>,
}

/// The built-in recipe of `provider` for `kind`.
pub fn builtin(provider: &str, kind: JobKind) -> Recipe {
    let template = match kind {
        JobKind::Clip => CLIP_TEMPLATE,
        JobKind::CharacterSheet => SHEET_TEMPLATE,
        JobKind::Frame | JobKind::Breakdown => FRAME_TEMPLATE,
    };
    let parameters = match provider {
        "openai-images" => json!({"quality": "medium"}),
        _ => json!({}),
    };
    Recipe {
        id: format!("builtin/{provider}"),
        version: "1".into(),
        template,
        negative_prompt: match provider {
            "comfyui" | "dashscope" | "replicate" | "fal" => {
                Some("blurry, distorted faces, extra limbs, text, watermark")
            }
            _ => None,
        },
        parameters: parameters.as_object().cloned().unwrap_or_default(),
    }
}

/// The longest clip asked for, in seconds: what the video providers make at most.
const MAX_CLIP_SECONDS: u32 = 20;

/// How long a clip of `shot` is asked to be, in whole seconds (rounded up, 1 to 20): the
/// request's duration and the clip prompt's "about N seconds" alike.
pub fn clip_seconds(shot: &Shot) -> u32 {
    shot.duration_ms.div_ceil(1000).clamp(1, MAX_CLIP_SECONDS)
}

/// What a template can refer to.
#[derive(Debug, Clone, Default)]
pub struct PromptInputs {
    pub values: Vec<(&'static str, String)>,
}

impl PromptInputs {
    pub fn for_shot(shot: &Shot, characters: &[Character], aspect: &str) -> Self {
        let cast = characters
            .iter()
            .map(|c| {
                let description = c.description.trim();
                if description.is_empty() {
                    c.name.clone()
                } else {
                    format!("{} ({description})", c.name)
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
        PromptInputs {
            values: vec![
                ("description", shot.description.trim().to_owned()),
                ("framing", shot.framing.trim().to_owned()),
                ("camera", shot.camera.trim().to_owned()),
                ("characters", cast),
                ("dialogue", shot.dialogue.trim().to_owned()),
                ("aspect", aspect.to_owned()),
                ("duration_s", clip_seconds(shot).to_string()),
            ],
        }
    }

    pub fn for_character(character: &Character) -> Self {
        PromptInputs {
            values: vec![
                ("name", character.name.clone()),
                (
                    "character_description",
                    character.description.trim().to_owned(),
                ),
            ],
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Renders `template`: `{name}` is replaced by its value; a line whose placeholders are all
/// empty is dropped; unknown placeholders render empty.
pub fn render(template: &str, inputs: &PromptInputs) -> String {
    let mut lines = Vec::new();
    for line in template.lines() {
        let mut out = String::new();
        let mut placeholders = 0;
        let mut filled = 0;
        let mut rest = line;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            out.push_str(&rest[..open]);
            let name = &rest[open + 1..open + close];
            let value = inputs.get(name).unwrap_or_default();
            placeholders += 1;
            if !value.is_empty() {
                filled += 1;
            }
            out.push_str(value);
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        if placeholders == 0 || filled > 0 {
            lines.push(out);
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_lines_are_dropped_and_values_filled() {
        let inputs = PromptInputs {
            values: vec![
                ("description", "Three men swear an oath".into()),
                ("framing", "wide".into()),
                ("camera", String::new()),
                ("characters", "Liu Bei; Guan Yu".into()),
                ("dialogue", String::new()),
                ("aspect", "16:9".into()),
            ],
        };
        let prompt = render(FRAME_TEMPLATE, &inputs);
        assert_eq!(
            prompt,
            "Three men swear an oath\nShot size: wide.\nCharacters: Liu Bei; Guan Yu.\n\
             Cinematic storyboard frame, 16:9 composition, consistent character design."
        );
        let r = builtin("openai-images", JobKind::Frame);
        assert_eq!(
            (r.id.as_str(), r.version.as_str()),
            ("builtin/openai-images", "1")
        );
        assert_eq!(r.parameters["quality"], "medium");
    }
}
