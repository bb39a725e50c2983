//! Loads a synthetic nation into a store: the catalogue first, then children in batches of
//! whole households' records, one transaction per batch. Drawing the next batch overlaps
//! with writing the last one.

use crate::{build_catalogue, ChildGenerator, NationSpec};
use contactpoint_domain::{Permit, SystemTask};
use contactpoint_storage::{StorageError, Store};

/// Children per transaction: large enough to amortise the commit, small enough to keep
/// memory flat.
pub const CHILDREN_PER_BATCH: usize = 5_000;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadSummary {
    pub authorities: usize,
    pub services: usize,
    pub practitioners: usize,
    pub children: u64,
    /// Generated IDs that were already taken and were replaced.
    pub reissued_ids: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the generator stopped unexpectedly")]
    Generator,
}

/// Generates `spec`'s nation into `store`; `progress` hears the running count of children.
pub async fn load_nation(
    store: &Store,
    spec: &NationSpec,
    mut progress: impl FnMut(u64),
) -> Result<LoadSummary, LoadError> {
    let permit = Permit::system_bypass(SystemTask::SyntheticLoad);
    let (authorities, catalogue, index) = build_catalogue(spec);
    store.load_local_authorities(&permit, &authorities).await?;
    let ids = store.load_catalogue(&permit, &catalogue).await?;
    let mut summary = LoadSummary {
        authorities: authorities.len(),
        services: catalogue.service_count(),
        practitioners: catalogue.practitioner_count(),
        ..LoadSummary::default()
    };

    let (sender, mut batches) = tokio::sync::mpsc::channel(2);
    let spec_for_thread = spec.clone();
    let generator = std::thread::spawn(move || {
        let mut children = ChildGenerator::new(&spec_for_thread, &catalogue, &index, &ids);
        loop {
            let batch = children.next_batch(CHILDREN_PER_BATCH);
            if batch.is_empty() || sender.blocking_send(batch).is_err() {
                break;
            }
        }
    });
    while let Some(batch) = batches.recv().await {
        let report = store.load_children(&permit, &batch).await?;
        summary.children += batch.len() as u64;
        summary.reissued_ids += report.reissued_ids.len();
        progress(summary.children);
    }
    generator.join().map_err(|_| LoadError::Generator)?;
    Ok(summary)
}
