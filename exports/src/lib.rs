//! Storyboard out: the formats editors, screenwriters and printers read.
//!
//! Every writer works from a [`Timeline`]: the project's shots in storyboard order, each with
//! its duration in frames and the file of its selected take (or none, which becomes a gap or
//! black). The writers are pure functions from a timeline to text; only [`animatic`] runs a
//! program (ffmpeg).
//!
//! - [`otio`]: OpenTimelineIO JSON, the canonical interchange (shot ids in clip metadata), and
//!   reading an edited `.otio` back into shot order and durations;
//! - [`edl`]: CMX3600 EDL; [`fcp7`]: Final Cut Pro 7 XML (xmeml); [`fcpxml`]: FCPXML 1.9;
//! - [`fountain`]: the screenplay as Fountain; [`sheet`]: a print-ready HTML storyboard sheet;
//! - [`animatic`]: an MP4 of the selected takes with shot durations, through ffmpeg;
//! - [`review`]: open review threads as [`ReviewNotes`], which the timeline writers'
//!   `write_with_notes` turn into markers (OTIO, FCP7 XML, FCPXML) and locators (EDL);
//! - [`review_report`]: the review as a print-ready HTML page and a PDF (threads with their
//!   shot's frame, comments and status; verdicts per version).

pub mod animatic;
pub mod edl;
pub mod fcp7;
pub mod fcpxml;
pub mod fountain;
pub mod otio;
pub mod review;
pub mod review_report;
pub mod sheet;
mod timeline;
mod xml;

pub use review::{Note, ReviewNotes};
pub use timeline::{Media, Timeline, TimelineShot, extension, timecode};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid OpenTimelineIO file: {0}")]
    InvalidOtio(String),
    #[error(
        "ffmpeg is not installed (install it, e.g. `apt-get install ffmpeg`, to export animatics)"
    )]
    FfmpegMissing,
    #[error("ffmpeg failed: {0}")]
    Ffmpeg(String),
    #[error("nothing to export: the storyboard has no shots")]
    NoShots,
    #[error("the review report's PDF could not be written: {0}")]
    Pdf(String),
    #[error("io error: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
