//! PLACEHOLDER until `shared_model::diff` and `Project::restore` land from the model work
//! (branch wt/model): the two calls this module stands for. It answers that the operation is
//! not available rather than pretending; it is removed when the model is merged.

use api_types::{DiffSide, VersionDiff};
use shared_model::{Project, ProjectSnapshot};

use crate::{Error, Result};

pub(super) fn diff(
    _from: &ProjectSnapshot,
    _to: &ProjectSnapshot,
    _from_side: DiffSide,
    _to_side: DiffSide,
) -> Result<VersionDiff> {
    Err(Error::Conflict(
        "diffs are not available in this build yet".into(),
    ))
}

pub(super) fn restore(_live: &Project, _target: &Project) -> Result<()> {
    Err(Error::Conflict(
        "restores are not available in this build yet".into(),
    ))
}
