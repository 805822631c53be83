//! An animatic: the selected takes played for their shot durations, as an H.264 MP4, through
//! ffmpeg's concat demuxer. Shots without a take show black.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Error, Media, Result, Timeline};

fn run(cmd: &mut Command) -> Result<()> {
    let output = cmd.output().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::FfmpegMissing,
        _ => Error::Io(e),
    })?;
    if output.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        Err(Error::Ffmpeg(
            tail.into_iter().rev().collect::<Vec<_>>().join(" / "),
        ))
    }
}

/// Quotes a path for an ffconcat `file` line.
fn concat_path(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// Renders `timeline` to `out` (an `.mp4`) at 1280x720. `file_of` gives the local file of a
/// take. Intermediate files go next to `out` and are removed afterwards.
pub fn render(timeline: &Timeline, file_of: impl Fn(&Media) -> PathBuf, out: &Path) -> Result<()> {
    if timeline.shots.is_empty() {
        return Err(Error::NoShots);
    }
    let work = tempdir_next_to(out)?;
    let black = work.join("black.png");
    if timeline.shots.iter().any(|s| s.media.is_none()) {
        run(Command::new("ffmpeg")
            .args([
                "-nostdin",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "color=c=black:s=1280x720",
                "-frames:v",
                "1",
            ])
            .arg(&black))?;
    }
    let mut list = String::from("ffconcat version 1.0\n");
    let mut last = None;
    for shot in &timeline.shots {
        let file = match &shot.media {
            Some(m) => file_of(m),
            None => black.clone(),
        };
        let seconds = shot.frames as f64 / f64::from(timeline.fps);
        list.push_str(&format!(
            "file {}\nduration {seconds:.6}\n",
            concat_path(&file)
        ));
        last = Some(file);
    }
    // The concat demuxer ignores the last entry's duration unless the file is listed again.
    if let Some(last) = last {
        list.push_str(&format!("file {}\n", concat_path(&last)));
    }
    let list_path = work.join("list.ffconcat");
    std::fs::write(&list_path, list)?;
    let result = run(Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i"])
        .arg(&list_path)
        .args([
            "-vf",
            "scale=1280:720:force_original_aspect_ratio=decrease,pad=1280:720:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p",
            // One encoded frame per still, held for the shot's duration: an animatic of two
            // hours of storyboard encodes in seconds instead of re-encoding every 24th second.
            "-fps_mode",
            "vfr",
            "-video_track_timescale",
            &(timeline.fps * 1000).to_string(),
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            // Stills held for seconds: tell x264, which then spends almost nothing on repeats.
            "-tune",
            "stillimage",
            "-movflags",
            "+faststart",
        ])
        .arg(out));
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn tempdir_next_to(out: &Path) -> Result<PathBuf> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = parent.join(format!(".animatic-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
