//! `run(settings)`: what `main` calls, and what tests start.

use anyhow::Context;

use crate::config::Settings;
use crate::store::Store;

/// Opens and migrates the database. The Discord front end and the job worker join here in
/// the next releases; for now the binary prepares the database and exits.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let store = Store::open(&settings.database)
        .await
        .with_context(|| format!("opening the database {}", settings.database.path.display()))?;
    tracing::info!(path = %store.path().display(), "database ready (migrated)");
    store.close().await;
    Ok(())
}
