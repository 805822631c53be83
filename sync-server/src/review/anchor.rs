//! What a new thread is anchored to, checked against the live project: the anchor the server
//! stores (a script range always as a `ScriptAnchor` it made or read itself) and the quote it
//! keeps for when the shot or the words are gone. Pure: the caller passes the replica.

use api_types::{Anchor, NewAnchor};
use shared_model::{Project, ScriptAnchor};

use crate::http::ApiError;

/// The stored anchor and quote for `new`, or why it points at nothing.
pub(crate) fn resolve(project: &Project, new: &NewAnchor) -> Result<(Anchor, String), ApiError> {
    match new {
        NewAnchor::Project => Ok((Anchor::Project, String::new())),
        NewAnchor::Shot { shot_id } => {
            let shot = project
                .shot(shot_id)
                .ok_or_else(|| ApiError::BadRequest(format!("there is no shot {shot_id}")))?;
            Ok((
                Anchor::Shot {
                    shot_id: shot_id.clone(),
                },
                shot.description,
            ))
        }
        NewAnchor::Script {
            anchor: Some(encoded),
            start: None,
            end: None,
        } => {
            let anchor = ScriptAnchor::from_base64(encoded)
                .map_err(|_| ApiError::BadRequest("the script anchor cannot be read".into()))?;
            let range = project
                .resolve_anchor(&anchor)
                .filter(|r| !r.is_empty())
                .ok_or_else(|| {
                    ApiError::BadRequest(
                        "the script anchor points at no text of this project's script".into(),
                    )
                })?;
            let quote = project.anchored_text(&anchor).unwrap_or_default();
            debug_assert!(!range.is_empty());
            // Stored as the server encodes it, so every stored anchor has one form.
            Ok((
                Anchor::Script {
                    anchor: anchor.to_base64(),
                },
                quote,
            ))
        }
        NewAnchor::Script {
            anchor: None,
            start: Some(start),
            end: Some(end),
        } => {
            let len = project.script_len();
            if start >= end || *end > len {
                return Err(ApiError::BadRequest(format!(
                    "the script range {start}..{end} is not a non-empty range of the script \
                     (it is {len} UTF-16 units long)"
                )));
            }
            let anchor = project.script_anchor(*start..*end).map_err(|_| {
                ApiError::BadRequest(format!(
                    "the script range {start}..{end} cannot be anchored"
                ))
            })?;
            let quote = project.anchored_text(&anchor).unwrap_or_default();
            Ok((
                Anchor::Script {
                    anchor: anchor.to_base64(),
                },
                quote,
            ))
        }
        NewAnchor::Script { .. } => Err(ApiError::BadRequest(
            "a script anchor is either `anchor` or `start` and `end`".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use api_types::ShotId;
    use shared_model::{NewScene, NewShot, ProjectOptions, ShotPatch};

    use super::*;

    fn project() -> (Project, ShotId) {
        let p = Project::empty(ProjectOptions::default());
        p.script_insert(0, "关羽 rides out at dawn.");
        let scene = p.add_scene(&NewScene::default());
        let shot = p
            .add_shot(&scene, &NewShot::default())
            .unwrap_or_else(|e| panic!("{e}"));
        p.update_shot(
            &shot,
            &ShotPatch {
                description: Some("A horse at dawn".into()),
                ..ShotPatch::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        (p, shot)
    }

    #[test]
    fn anchors_are_checked_against_the_project() {
        let (p, shot) = project();
        let (anchor, quote) = resolve(
            &p,
            &NewAnchor::Shot {
                shot_id: shot.clone(),
            },
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            (anchor, quote.as_str()),
            (Anchor::Shot { shot_id: shot }, "A horse at dawn")
        );
        assert!(
            resolve(
                &p,
                &NewAnchor::Shot {
                    shot_id: "nope".into()
                }
            )
            .is_err()
        );

        // UTF-16 offsets: "关羽" is two units.
        let range = NewAnchor::Script {
            anchor: None,
            start: Some(0),
            end: Some(2),
        };
        let (anchor, quote) = resolve(&p, &range).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(quote, "关羽");
        // The stored form resolves again, as a client's own anchor would.
        let Anchor::Script { anchor: encoded } = anchor else {
            panic!("not a script anchor")
        };
        let again = NewAnchor::Script {
            anchor: Some(encoded),
            start: None,
            end: None,
        };
        assert_eq!(
            resolve(&p, &again).map(|(_, q)| q).ok().as_deref(),
            Some("关羽")
        );

        for (start, end) in [(3, 3), (5, 2), (0, 999)] {
            let bad = NewAnchor::Script {
                anchor: None,
                start: Some(start),
                end: Some(end),
            };
            assert!(resolve(&p, &bad).is_err(), "{start}..{end}");
        }
        let garbage = NewAnchor::Script {
            anchor: Some("!!".into()),
            start: None,
            end: None,
        };
        assert!(resolve(&p, &garbage).is_err());
        let both = NewAnchor::Script {
            anchor: Some("AAAA".into()),
            start: Some(0),
            end: Some(1),
        };
        assert!(resolve(&p, &both).is_err());
        // An anchor made in another document points at nothing here.
        let other = Project::empty(ProjectOptions::default());
        other.script_insert(0, "elsewhere");
        let foreign = other.script_anchor(0..4).unwrap_or_else(|e| panic!("{e}"));
        let foreign = NewAnchor::Script {
            anchor: Some(foreign.to_base64()),
            start: None,
            end: None,
        };
        assert!(resolve(&p, &foreign).is_err());
    }
}
