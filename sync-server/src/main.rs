//! `sync-server serve` runs the server; `sync-server migrate` only applies migrations.

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sync_server::{AppState, Config};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(name = "sync-server", version, about = "Shotweave sync server")]
struct Cli {
    /// Log JSON lines instead of text.
    #[arg(long, env = "SHOTWEAVE_LOG_JSON", global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve HTTP and WebSocket sync (runs pending migrations first).
    Serve {
        /// Address to listen on; port 0 picks a free port (the chosen URL is printed).
        #[arg(long, env = "SHOTWEAVE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// A novel to import as a demo project when the studio has no projects yet.
        #[arg(long, env = "SHOTWEAVE_DEMO_NOVEL")]
        demo_novel: Option<std::path::PathBuf>,
        #[command(flatten)]
        config: Config,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[command(flatten)]
        config: Config,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    sync_server::observability::init_tracing(cli.log_json);
    match cli.command {
        Command::Serve {
            listen,
            demo_novel,
            config,
        } => {
            let state = AppState::open(config).await.context("opening storage")?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            let addr = listener.local_addr()?;
            // On stdout, so scripts and tests can read the chosen port.
            println!("shotweave sync server listening on http://{addr}");
            if let Some(path) = demo_novel
                && let Some(demo) = sync_server::studio::import_demo(&state, &path).await?
            {
                println!(
                    "demo project \"{}\" ({} shots): http://{addr}/#/p/{}/board?token={}",
                    demo.title, demo.shots, demo.project_id, demo.token
                );
            }
            let shutdown = CancellationToken::new();
            tokio::spawn(cancel_on_signal(shutdown.clone()));
            sync_server::run(listener, state, shutdown).await?;
        }
        Command::Migrate { config } => {
            std::fs::create_dir_all(&config.data_dir)?;
            let store = sync_server::open_store(&config).await?;
            store.migrate().await?;
            store.close().await;
            println!("migrations applied ({})", store.backend_name());
        }
    }
    Ok(())
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    let _ = ctrl_c.await;
                    shutdown.cancel();
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
    shutdown.cancel();
}
