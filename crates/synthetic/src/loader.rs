//! Loads a synthetic nation into a store: the catalogue first, then children in batches of
//! whole households' records, one transaction per batch. Drawing the next batch overlaps
//! with writing the last one. The children's search keys are set aside and indexed once, at
//! the end (`SearchKeys::SetAside`).

use crate::{build_catalogue, CatalogueIndex, ChildGenerator, NationSpec};
use contactpoint_domain::{LocalAuthorityCode, Permit, SystemTask};
use contactpoint_storage::{Catalogue, CatalogueIds, SearchKeys, StorageError, Store};

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

/// Every postcode district of the nation's local authorities (the area and each number of
/// its district range, e.g. "MK40"), with the authority responsible for it.
pub fn postcode_districts(spec: &NationSpec) -> Vec<(String, LocalAuthorityCode)> {
    spec.authorities()
        .into_iter()
        .flat_map(|(la, _)| {
            let code = LocalAuthorityCode::parse(la.code).expect("seed codes are valid");
            let (first, last) = la.district_range;
            (first..=last).map(move |n| (format!("{}{n}", la.postcode_area), code.clone()))
        })
        .collect()
}

/// What a nation is built on, as loaded into a store.
struct ReferenceData {
    catalogue: Catalogue,
    index: CatalogueIndex,
    ids: CatalogueIds,
    summary: LoadSummary,
}

async fn load_reference(store: &Store, spec: &NationSpec) -> Result<ReferenceData, LoadError> {
    let permit = Permit::system_bypass(SystemTask::SyntheticLoad);
    let (authorities, catalogue, index) = build_catalogue(spec);
    store.load_local_authorities(&permit, &authorities).await?;
    let ids = store.load_catalogue(&permit, &catalogue).await?;
    store
        .load_postcode_districts(&permit, &postcode_districts(spec))
        .await?;
    let summary = LoadSummary {
        authorities: authorities.len(),
        services: catalogue.service_count(),
        practitioners: catalogue.practitioner_count(),
        ..LoadSummary::default()
    };
    Ok(ReferenceData {
        catalogue,
        index,
        ids,
        summary,
    })
}

/// Loads `spec`'s local authorities, catalogue of services and postcode districts, and no
/// children: where an import of supplied files starts.
pub async fn load_reference_data(
    store: &Store,
    spec: &NationSpec,
) -> Result<LoadSummary, LoadError> {
    Ok(load_reference(store, spec).await?.summary)
}

/// Generates `spec`'s nation into `store`; `progress` hears the running count of children.
/// Once the last is stored, the nation's search keys are indexed (minutes at national scale),
/// after which every child can be found.
pub async fn load_nation(
    store: &Store,
    spec: &NationSpec,
    mut progress: impl FnMut(u64),
) -> Result<LoadSummary, LoadError> {
    let permit = Permit::system_bypass(SystemTask::SyntheticLoad);
    let ReferenceData {
        catalogue,
        index,
        ids,
        mut summary,
    } = load_reference(store, spec).await?;

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
        let report = store
            .load_children_with_keys(&permit, &batch, SearchKeys::SetAside)
            .await?;
        summary.children += batch.len() as u64;
        summary.reissued_ids += report.reissued_ids.len();
        progress(summary.children);
    }
    generator.join().map_err(|_| LoadError::Generator)?;
    store.index_set_aside_keys().await?;
    Ok(summary)
}
