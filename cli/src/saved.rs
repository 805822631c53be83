//! Projects this CLI imported, with their owner tokens, so later commands need no ids. Kept in
//! `$XDG_CONFIG_HOME/shotweave/cli.json` (or `~/.config/...`), readable by the user only.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Saved {
    current: Option<String>,
    tokens: BTreeMap<String, String>,
    #[serde(skip)]
    path: PathBuf,
}

fn config_path() -> Result<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .ok_or_else(|| anyhow!("neither XDG_CONFIG_HOME nor HOME is set"))?;
    Ok(base.join("shotweave").join("cli.json"))
}

impl Saved {
    pub(crate) fn load() -> Result<Self> {
        let path = config_path()?;
        let mut saved: Saved = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
                format!("{} is not valid; delete it to start over", path.display())
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Saved::default(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        saved.path = path;
        Ok(saved)
    }

    pub(crate) fn remember(&mut self, project: &str, token: &str) -> Result<()> {
        self.tokens.insert(project.to_owned(), token.to_owned());
        self.current = Some(project.to_owned());
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&self.path, serde_json::to_vec_pretty(self)?)?;
        // Owner tokens grant full control of a project: keep them private to the user.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(())
    }

    /// The project and token to use: flags first, then what was saved.
    pub(crate) fn pick(
        &self,
        project: Option<String>,
        token: Option<String>,
    ) -> Result<(String, String)> {
        let project = project
            .or_else(|| self.current.clone())
            .ok_or_else(|| anyhow!("no project: pass --project or import a novel first"))?;
        let token = token
            .or_else(|| self.tokens.get(&project).cloned())
            .ok_or_else(|| anyhow!("no token for project {project}: pass --token"))?;
        Ok((project, token))
    }
}
