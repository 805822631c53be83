//! What a generation job asks its provider for, and the asset record of what came back, as
//! pure functions of the job's row, its recipe and the project document. The runner reads
//! the replica, calls these, and does the IO (reference bytes, the provider, the store)
//! around them.

use provider_adapters::{
    GenerationRequest, Operation, ReferenceImage, ShotSketch, Size, SketchCharacter,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use shared_model::{
    Asset, AssetId, Character, CharacterId, Cost, JobKind, Project, Provenance, Shot, ShotId,
};

use super::super::recipe::{self, PromptInputs};
use crate::store::{AssetRow, JobRecord};

/// Reference images sent along with one request, at most (what `GET /api/providers` promises).
const MAX_REFERENCES: usize = super::super::providers::MAX_REFERENCES as usize;

/// What a job makes a result for, as its row says.
#[derive(Debug, Clone, Copy)]
pub(super) struct Target<'a> {
    pub provider: &'a str,
    pub kind: JobKind,
    pub shot: Option<&'a ShotId>,
    pub character: Option<&'a CharacterId>,
    /// The shot's number on the board when the job was queued (drawn on offline frames).
    pub shot_number: Option<i64>,
}

impl<'a> Target<'a> {
    pub(super) fn of(row: &'a JobRecord) -> Self {
        Target {
            provider: &row.provider,
            kind: row.kind,
            shot: row.shot_id.as_ref(),
            character: row.character_id.as_ref(),
            shot_number: row.shot_number,
        }
    }
}

/// Everything of a request that comes from the document and the recipe; only the reference
/// images' bytes are still to be read.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Draft {
    pub kind: JobKind,
    pub prompt: String,
    pub negative_prompt: Option<String>,
    /// The recipe's provider settings.
    pub extra: Map<String, Value>,
    /// Assets to attach as references if the provider takes them, in order: a clip's
    /// starting frame, or the characters' reference sheets for a frame.
    pub reference_ids: Vec<AssetId>,
    pub duration_s: Option<u32>,
    /// What the offline renderer draws (shots only).
    pub sketch: Option<ShotSketch>,
}

/// The target the document no longer has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Gone {
    Shot,
    Character,
}

impl Gone {
    pub(super) fn message(self) -> String {
        let what = match self {
            Gone::Shot => "shot",
            Gone::Character => "character",
        };
        format!("the {what} was deleted before the job ran")
    }
}

/// The final prompt, references and settings of `target`'s request. Characters a shot names
/// that are no longer in the document are left out.
pub(super) fn draft(p: &Project, target: &Target<'_>) -> Result<Draft, Gone> {
    let recipe = recipe::builtin(target.provider, target.kind);
    let make = |prompt_inputs: &PromptInputs,
                reference_ids: Vec<AssetId>,
                duration_s: Option<u32>,
                sketch: Option<ShotSketch>| Draft {
        kind: target.kind,
        prompt: recipe::render(recipe.template, prompt_inputs),
        negative_prompt: recipe.negative_prompt.map(str::to_owned),
        extra: recipe.parameters.clone(),
        reference_ids,
        duration_s,
        sketch,
    };
    if let Some(id) = target.character {
        let character = p.character(id).ok_or(Gone::Character)?;
        return Ok(make(
            &PromptInputs::for_character(&character),
            Vec::new(),
            None,
            None,
        ));
    }
    let shot = target.shot.and_then(|id| p.shot(id)).ok_or(Gone::Shot)?;
    let characters: Vec<Character> = shot
        .character_ids
        .iter()
        .filter_map(|id| p.character(id))
        .collect();
    let inputs = PromptInputs::for_shot(&shot, &characters, &p.meta().aspect_ratio);
    let references: Vec<AssetId> = match target.kind {
        // A clip starts from the shot's chosen frame, when it has one.
        JobKind::Clip => shot
            .selected_take
            .iter()
            .filter(|t| p.asset(t).is_some_and(|a| a.mime.starts_with("image/")))
            .cloned()
            .collect(),
        _ => characters
            .iter()
            .filter_map(|c| c.reference_asset_ids.first().cloned())
            .take(MAX_REFERENCES)
            .collect(),
    };
    let duration_s = (target.kind == JobKind::Clip).then(|| recipe::clip_seconds(&shot));
    let sketch = sketch(p, &shot, &characters, target.shot_number);
    Ok(make(&inputs, references, duration_s, Some(sketch)))
}

fn sketch(p: &Project, shot: &Shot, characters: &[Character], number: Option<i64>) -> ShotSketch {
    ShotSketch {
        number: number.map(|n| n.to_string()).unwrap_or_default(),
        scene: shot
            .scene_id
            .as_ref()
            .and_then(|s| p.scene(s))
            .map(|s| s.title)
            .unwrap_or_default(),
        framing: shot.framing.clone(),
        camera: shot.camera.clone(),
        description: shot.description.clone(),
        dialogue: shot.dialogue.clone(),
        characters: characters
            .iter()
            .map(|c| SketchCharacter {
                name: c.name.clone(),
                color: Some(c.color.clone()).filter(|c| !c.is_empty()),
            })
            .collect(),
        duration_ms: shot.duration_ms,
    }
}

/// The operation a request of `kind` uses with references, and the one without.
pub(super) fn operations(kind: JobKind) -> (Operation, Operation) {
    match kind {
        JobKind::Clip => (Operation::ImageToVideo, Operation::TextToVideo),
        _ => (Operation::ImageEdit, Operation::TextToImage),
    }
}

/// The provider-neutral request: `references` are the draft's reference images that could be
/// read (none when the provider takes none). `Err` names the operation the provider lacks.
pub(super) fn request(
    draft: Draft,
    references: Vec<ReferenceImage>,
    supports: impl Fn(Operation) -> bool,
) -> Result<GenerationRequest, Operation> {
    let (with_references, without) = operations(draft.kind);
    let operation = if references.is_empty() {
        without
    } else {
        with_references
    };
    if !supports(operation) {
        return Err(operation);
    }
    Ok(GenerationRequest {
        operation,
        model: None,
        prompt: draft.prompt,
        negative_prompt: draft.negative_prompt,
        references,
        size: Some(Size::HD),
        duration_s: draft.duration_s,
        seed: None,
        extra: draft.extra,
        sketch: draft.sketch,
    })
}

/// What was sent, stored with the job right after the provider accepted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Submission {
    pub prompt: String,
    pub reference_asset_ids: Vec<AssetId>,
    pub provenance: provider_adapters::Provenance,
}

/// An output's size, duration and seed, as far as the provider said.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct OutputDims {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u32>,
    pub seed: Option<i64>,
}

/// The asset record of a job's stored output, with the provenance that traces it back to
/// the request (`cost` in USD).
pub(super) fn output_asset(
    job: &JobRecord,
    stored: &AssetRow,
    dims: OutputDims,
    submission: &Submission,
    cost: f64,
    now_ms: i64,
) -> Asset {
    let p = &submission.provenance;
    Asset {
        id: AssetId::from(stored.sha256.as_str()),
        sha256: stored.sha256.clone(),
        mime: stored.content_type.clone(),
        size: u64::try_from(stored.size).unwrap_or(0),
        name: match (job.kind, job.shot_number) {
            (JobKind::CharacterSheet, _) => "character sheet".into(),
            (_, Some(n)) => format!("shot {n} {}", job.kind.as_str()),
            _ => job.kind.as_str().into(),
        },
        width: dims.width,
        height: dims.height,
        duration_ms: dims.duration_ms,
        created_at_ms: now_ms as f64,
        provenance: Some(Provenance {
            provider: p.provider.clone(),
            model: p.model.clone(),
            recipe_id: job.recipe_id.clone(),
            recipe_version: job.recipe_version.clone(),
            prompt: p.prompt.clone(),
            seed: dims.seed.or(p.seed),
            parameters: p.parameters.clone(),
            reference_asset_ids: submission.reference_asset_ids.clone(),
            job_id: job.id.clone(),
            cost: Some(Cost {
                amount: cost,
                currency: "USD".into(),
            }),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_model::{NewCharacter, NewScene, NewShot, ProjectOptions};

    fn sha(fill: char) -> AssetId {
        AssetId::from(std::iter::repeat_n(fill, 64).collect::<String>())
    }

    fn add_asset(p: &Project, id: &AssetId, mime: &str) {
        let asset = Asset {
            id: id.clone(),
            sha256: id.to_string(),
            mime: mime.into(),
            size: 10,
            name: String::new(),
            width: None,
            height: None,
            duration_ms: None,
            created_at_ms: 0.0,
            provenance: None,
        };
        p.add_asset(&asset).unwrap_or_else(|e| panic!("{e}"));
    }

    /// A scene "The Peach Garden" with one 4.5 s shot of two characters who each have a
    /// reference sheet, and whose selected take is an image.
    struct Fixture {
        project: Project,
        shot: ShotId,
        liu: CharacterId,
        guan: CharacterId,
    }

    fn fixture() -> Fixture {
        let project = Project::empty(ProjectOptions::default());
        let (liu_sheet, guan_sheet, frame) = (sha('a'), sha('b'), sha('c'));
        for id in [&liu_sheet, &guan_sheet, &frame] {
            add_asset(&project, id, "image/png");
        }
        // A shot's characters are a set, read in id order: fixed ids fix the prompt's order.
        let (liu, guan) = (CharacterId::from("c1-liu"), CharacterId::from("c2-guan"));
        project.insert_character(
            &liu,
            &NewCharacter {
                name: "Liu Bei".into(),
                description: "long arms, green robe".into(),
                color: Some("#228833".into()),
                reference_asset_ids: vec![liu_sheet],
                ..NewCharacter::default()
            },
        );
        project.insert_character(
            &guan,
            &NewCharacter {
                name: "Guan Yu".into(),
                color: Some("#aa3333".into()),
                reference_asset_ids: vec![guan_sheet],
                ..NewCharacter::default()
            },
        );
        let (_, shots) = project.add_scene_with_shots(
            &NewScene {
                title: "The Peach Garden".into(),
                ..NewScene::default()
            },
            &[NewShot {
                description: "Three men swear an oath ".into(),
                framing: "wide".into(),
                camera: "slow push in".into(),
                dialogue: "We swear to live and die as brothers".into(),
                duration_ms: 4_500,
                character_ids: vec![liu.clone(), guan.clone()],
                ..NewShot::default()
            }],
        );
        let shot = shots[0].clone();
        project
            .add_take(&shot, &frame, true)
            .unwrap_or_else(|e| panic!("{e}"));
        Fixture {
            project,
            shot,
            liu,
            guan,
        }
    }

    fn target<'a>(f: &'a Fixture, provider: &'a str, kind: JobKind) -> Target<'a> {
        Target {
            provider,
            kind,
            shot: Some(&f.shot),
            character: None,
            shot_number: Some(3),
        }
    }

    fn image(name: &str) -> ReferenceImage {
        ReferenceImage {
            bytes: vec![1, 2, 3].into(),
            mime: "image/png".into(),
            name: name.into(),
        }
    }

    #[test]
    fn a_frame_carries_the_shot_its_characters_and_their_sheets() {
        let f = fixture();
        let draft = draft(&f.project, &target(&f, "comfyui", JobKind::Frame))
            .unwrap_or_else(|g| panic!("{g:?}"));
        assert_eq!(
            draft.prompt,
            "Three men swear an oath\n\
             Shot size: wide.\n\
             Camera: slow push in.\n\
             Characters: Liu Bei (long arms, green robe); Guan Yu.\n\
             Dialogue in this moment: \"We swear to live and die as brothers\"\n\
             Cinematic storyboard frame, 16:9 composition, consistent character design."
        );
        assert_eq!(draft.reference_ids, vec![sha('a'), sha('b')]);
        assert_eq!(draft.duration_s, None);
        assert_eq!(
            draft.negative_prompt.as_deref(),
            Some("blurry, distorted faces, extra limbs, text, watermark")
        );
        let sketch = draft.sketch.clone().unwrap_or_default();
        assert_eq!(
            (sketch.number.as_str(), sketch.scene.as_str()),
            ("3", "The Peach Garden")
        );
        assert_eq!(
            sketch.characters,
            vec![
                SketchCharacter {
                    name: "Liu Bei".into(),
                    color: Some("#228833".into())
                },
                SketchCharacter {
                    name: "Guan Yu".into(),
                    color: Some("#aa3333".into())
                },
            ]
        );

        // A provider that edits images gets both sheets; one that cannot, the text alone.
        let with = request(draft.clone(), vec![image("a"), image("b")], |_| true)
            .unwrap_or_else(|op| panic!("{op}"));
        assert_eq!(with.operation, Operation::ImageEdit);
        assert_eq!(with.references.len(), 2);
        assert_eq!(with.size, Some(Size::HD));
        assert_eq!(with.prompt, draft.prompt);
        let without = request(draft.clone(), Vec::new(), |op| op == Operation::TextToImage)
            .unwrap_or_else(|op| panic!("{op}"));
        assert_eq!(without.operation, Operation::TextToImage);
        assert!(without.references.is_empty());
        assert_eq!(
            request(draft, Vec::new(), |_| false).map(|r| r.operation),
            Err(Operation::TextToImage)
        );
    }

    #[test]
    fn a_clip_starts_from_the_chosen_frame_and_asks_for_the_shot_length() {
        let f = fixture();
        let clip = draft(&f.project, &target(&f, "kling", JobKind::Clip))
            .unwrap_or_else(|g| panic!("{g:?}"));
        assert_eq!(clip.reference_ids, vec![sha('c')], "the selected take");
        assert_eq!(clip.duration_s, Some(5), "4.5 s rounds up");
        assert!(
            clip.prompt.contains("Camera movement: slow push in.")
                && clip
                    .prompt
                    .ends_with("A single continuous shot of about 5 seconds, cinematic, 16:9."),
            "{}",
            clip.prompt
        );
        let request = request(clip, vec![image("c")], |_| true).unwrap_or_else(|op| panic!("{op}"));
        assert_eq!(request.operation, Operation::ImageToVideo);
        assert_eq!(request.duration_s, Some(5));
        // Without a frame to start from, a clip is made from text.
        let clip = draft(&f.project, &target(&f, "kling", JobKind::Clip))
            .unwrap_or_else(|g| panic!("{g:?}"));
        assert_eq!(
            super::request(clip, Vec::new(), |_| true).map(|r| r.operation),
            Ok(Operation::TextToVideo)
        );

        // A long shot asks for what providers make at most, and the prompt says the same.
        f.project
            .update_shot(
                &f.shot,
                &shared_model::ShotPatch {
                    duration_ms: Some(45_000),
                    ..Default::default()
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let long = draft(&f.project, &target(&f, "kling", JobKind::Clip))
            .unwrap_or_else(|g| panic!("{g:?}"));
        assert_eq!(long.duration_s, Some(20));
        assert!(long.prompt.contains("about 20 seconds"), "{}", long.prompt);

        // A video take is no starting frame.
        let video = sha('d');
        add_asset(&f.project, &video, "video/mp4");
        f.project
            .add_take(&f.shot, &video, false)
            .and_then(|()| f.project.select_take(&f.shot, Some(&video)))
            .unwrap_or_else(|e| panic!("{e}"));
        let clip = draft(&f.project, &target(&f, "kling", JobKind::Clip))
            .unwrap_or_else(|g| panic!("{g:?}"));
        assert!(clip.reference_ids.is_empty());
    }

    #[test]
    fn missing_characters_are_left_out_and_deleted_targets_are_gone() {
        let f = fixture();
        // A peer that had not yet seen Liu Bei's deletion names him in the shot again: the
        // shot then names a character the document does not have.
        f.project
            .delete_character(&f.liu)
            .unwrap_or_else(|e| panic!("{e}"));
        f.project
            .update_shot(
                &f.shot,
                &shared_model::ShotPatch {
                    character_ids: Some(vec![f.liu.clone(), f.guan.clone()]),
                    ..Default::default()
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let shot = f.project.shot(&f.shot).unwrap_or_else(|| panic!("shot"));
        assert_eq!(shot.character_ids.len(), 2, "the dangling id is there");
        let frame = draft(&f.project, &target(&f, "offline", JobKind::Frame))
            .unwrap_or_else(|g| panic!("{g:?}"));
        assert!(
            frame.prompt.contains("Characters: Guan Yu.") && !frame.prompt.contains("Liu Bei"),
            "{}",
            frame.prompt
        );
        assert_eq!(frame.reference_ids, vec![sha('b')]);
        let names: Vec<String> = frame
            .sketch
            .map(|s| s.characters.into_iter().map(|c| c.name).collect())
            .unwrap_or_default();
        assert_eq!(names, vec!["Guan Yu".to_owned()]);

        let sheet = |character| Target {
            provider: "offline",
            kind: JobKind::CharacterSheet,
            shot: None,
            character,
            shot_number: None,
        };
        assert_eq!(
            draft(&f.project, &sheet(Some(&f.liu))),
            Err(Gone::Character)
        );
        let guan = draft(&f.project, &sheet(Some(&f.guan))).unwrap_or_else(|g| panic!("{g:?}"));
        assert!(
            guan.prompt
                .starts_with("Character reference sheet of Guan Yu")
        );
        assert_eq!((guan.sketch, guan.reference_ids.len()), (None, 0));

        f.project
            .delete_shot(&f.shot)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            draft(&f.project, &target(&f, "offline", JobKind::Frame)),
            Err(Gone::Shot)
        );
        assert_eq!(
            Gone::Shot.message(),
            "the shot was deleted before the job ran"
        );
    }
}
