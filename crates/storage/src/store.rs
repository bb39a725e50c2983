use crate::backend::{postgres, sqlite};
use crate::{Catalogue, CatalogueIds, LocalAuthority, StorageError};
use contactpoint_domain::{ChildRecord, ContactPointId, Permit};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, PgPool, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// A handle on the database; cheap to clone (it holds a connection pool).
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same function of the backend module that matches the store.
macro_rules! dispatch_to_backend {
    ($store:expr, $function:ident ( $($arg:expr),* )) => {
        match $store {
            Store::Sqlite(pool) => sqlite::$function(pool, $($arg),*).await,
            Store::Postgres(pool) => postgres::$function(pool, $($arg),*).await,
        }
    };
}

pub(crate) use dispatch_to_backend as dispatch;

/// A postcode district as stored: upper case, no spaces.
pub(crate) fn district_key(district: &str) -> String {
    district
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Where a load puts the search keys of the children it stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchKeys {
    /// Into the index, in the same transaction: the children can be found at once.
    Indexed,
    /// Aside, unsorted, until [`Store::index_set_aside_keys`] moves them into the index all
    /// at once: for a bulk load of many batches, whose keys written batch by batch land all
    /// over the index (every commit rewrote most of its pages). The children cannot be found
    /// by a search until then.
    SetAside,
}

/// What loading a batch of children did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub children: usize,
    /// IDs that were already taken in the database, and the fresh ones issued instead.
    pub reissued_ids: Vec<(ContactPointId, ContactPointId)>,
}

/// Counts for one local authority, for `contactpoint stats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAuthorityStats {
    pub code: String,
    pub name: String,
    pub children: i64,
    pub shielded: i64,
    pub services: i64,
    pub involvements: i64,
}

/// How much of an SQLite file a bulk load maps into memory at most (SQLite caps it further at
/// its own compiled maximum): more than any database here holds.
const LOADING_MMAP_BYTES: u64 = 1 << 40;

/// A bulk load runs statements of minutes by design (moving a nation's search keys into the
/// index at its end); only one longer than this is worth a warning.
const LOADING_SLOW_STATEMENT: Duration = Duration::from_secs(1800);

impl Store {
    /// Connects to `sqlite://PATH` (creating the file if needed) or `postgres://...`.
    pub async fn connect(url: &str) -> Result<Self, StorageError> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
            Self::connect_sqlite(options).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::connect_postgres(PgConnectOptions::from_str(url)?).await
        } else {
            Err(StorageError::UnsupportedUrl(
                url.split(':').next().unwrap_or_default().to_owned(),
            ))
        }
    }

    /// Connects for a bulk load (imports, generated nations): as [`Store::connect`], but on
    /// SQLite the database file is read through memory mapping, which reads a page not in
    /// SQLite's own cache without copying it. That made a load of 100,000 children's files
    /// about a fifth faster, but searches and views slower (docs/BENCHMARKS.md), so a server
    /// does not use it. On both backends only a statement over half an hour is logged as slow:
    /// a load's long statements are expected.
    pub async fn connect_for_loading(url: &str) -> Result<Self, StorageError> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .pragma("mmap_size", LOADING_MMAP_BYTES.to_string())
                .log_slow_statements(log::LevelFilter::Warn, LOADING_SLOW_STATEMENT);
            Self::connect_sqlite(options).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?
                .log_slow_statements(log::LevelFilter::Warn, LOADING_SLOW_STATEMENT);
            Self::connect_postgres(options).await
        } else {
            Self::connect(url).await
        }
    }

    pub async fn connect_sqlite(options: SqliteConnectOptions) -> Result<Self, StorageError> {
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Self::Sqlite(pool))
    }

    pub async fn connect_postgres(options: PgConnectOptions) -> Result<Self, StorageError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(Self::Postgres(pool))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Brings the schema up to date, and indexes for search any children stored before the
    /// index existed or whose keys a stopped bulk load left set aside. Safe to run at every
    /// start.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        dispatch_to_backend!(self, migrate())?;
        let moved = self.index_set_aside_keys().await?;
        if moved > 0 {
            tracing::info!(
                keys = moved,
                "indexed the search keys a stopped load set aside"
            );
        }
        let indexed = dispatch_to_backend!(self, index_unindexed_children())?;
        if indexed > 0 {
            tracing::info!(
                children = indexed,
                "indexed for search the children stored before the index"
            );
        }
        Ok(())
    }

    /// Refreshes the query planner's statistics; worth running after a bulk load, without
    /// which PostgreSQL may plan searches on a new nation of a million as if it were empty.
    pub async fn analyze(&self) -> Result<(), StorageError> {
        dispatch_to_backend!(self, analyze())
    }

    /// Claims this pass of a scheduled task (`task` names it) for the caller: true when the
    /// task never ran or last started at least `due_after` before `now`, and the start is
    /// then recorded. Of several servers sharing the database, one runs each pass.
    pub async fn claim_scheduled_run(
        &self,
        permit: &Permit,
        task: &str,
        now: chrono::DateTime<chrono::Utc>,
        due_after: chrono::Duration,
    ) -> Result<bool, StorageError> {
        dispatch_to_backend!(self, claim_scheduled_run(permit, task, now, due_after))
    }

    /// Answers when the database answers.
    pub async fn ping(&self) -> Result<(), StorageError> {
        dispatch_to_backend!(self, ping())
    }

    pub async fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }

    /// Adds local authorities, leaving any that already exist as they are.
    pub async fn load_local_authorities(
        &self,
        permit: &Permit,
        authorities: &[LocalAuthority],
    ) -> Result<(), StorageError> {
        dispatch_to_backend!(self, load_local_authorities(permit, authorities))
    }

    /// Records which local authority is responsible for children living in each postcode
    /// district (e.g. "MK40"), leaving districts already recorded as they are.
    pub async fn load_postcode_districts(
        &self,
        permit: &Permit,
        districts: &[(String, contactpoint_domain::LocalAuthorityCode)],
    ) -> Result<(), StorageError> {
        dispatch_to_backend!(self, load_postcode_districts(permit, districts))
    }

    /// The local authority responsible for a postcode district ("MK40", any case or
    /// spacing), if the district is known.
    pub async fn local_authority_of_district(
        &self,
        district: &str,
    ) -> Result<Option<contactpoint_domain::LocalAuthorityCode>, StorageError> {
        dispatch_to_backend!(self, local_authority_of_district(district))
    }

    /// Writes organisations, services and practitioners in one transaction.
    pub async fn load_catalogue(
        &self,
        permit: &Permit,
        catalogue: &Catalogue,
    ) -> Result<CatalogueIds, StorageError> {
        dispatch_to_backend!(self, load_catalogue(permit, catalogue))
    }

    /// Writes whole child records in one transaction: either every record of the batch is
    /// stored with all its parts, or nothing is. The services and practitioners the records
    /// name must already be stored.
    pub async fn load_children(
        &self,
        permit: &Permit,
        records: &[ChildRecord],
    ) -> Result<LoadReport, StorageError> {
        dispatch_to_backend!(self, load_children(permit, records, SearchKeys::Indexed))
    }

    /// As [`Store::load_children`], with the batch's search keys placed as `keys` says.
    pub async fn load_children_with_keys(
        &self,
        permit: &Permit,
        records: &[ChildRecord],
        keys: SearchKeys,
    ) -> Result<LoadReport, StorageError> {
        dispatch_to_backend!(self, load_children(permit, records, keys))
    }

    /// Moves every search key set aside by loads ([`SearchKeys::SetAside`]) into the index,
    /// none twice; returns how many keys were moved. On PostgreSQL the move is one
    /// transaction, which a load still running waits for; on SQLite it is made in committed
    /// steps of about [`Store::KEYS_PER_MOVE_STEP`] keys, and takes only the keys set aside
    /// when it began. A move stopped part way is finished by the next. Run it, or start a
    /// server, once a load has ended.
    pub async fn index_set_aside_keys(&self) -> Result<u64, StorageError> {
        self.index_set_aside_keys_in_steps_of(Self::KEYS_PER_MOVE_STEP)
            .await
    }

    /// About how many set-aside keys one committed step of a move on SQLite takes: the
    /// 11,000,000-child nation's 195.6 million keys moved in one transaction grew a WAL of
    /// 11 GB and slowed per key fifty-fold against 1,000,000 children (docs/BENCHMARKS.md).
    pub const KEYS_PER_MOVE_STEP: u64 = 8_000_000;

    /// [`Store::index_set_aside_keys`] with steps of about `keys_per_step` keys on SQLite
    /// (PostgreSQL moves them in one transaction whatever the step).
    pub async fn index_set_aside_keys_in_steps_of(
        &self,
        keys_per_step: u64,
    ) -> Result<u64, StorageError> {
        dispatch_to_backend!(self, index_set_aside_keys(keys_per_step))
    }

    /// The whole stored record of one child.
    pub async fn child_record(
        &self,
        permit: &Permit,
        id: &ContactPointId,
    ) -> Result<ChildRecord, StorageError> {
        dispatch_to_backend!(self, child_record(permit, id))
    }

    /// Counts per local authority: children, shielded children, services, involvements.
    pub async fn stats(&self) -> Result<Vec<LocalAuthorityStats>, StorageError> {
        dispatch_to_backend!(self, stats())
    }

    /// A child's record, read together with the audit entry of the view (`audit_for` makes
    /// it from the record, e.g. to name the projection shown), and for a shield override of
    /// a shielded child the alert to its team; NotFound for no such (or an archived) child.
    pub async fn view_child(
        &self,
        permit: &Permit,
        id: &ContactPointId,
        audit_for: &(dyn Fn(&ChildRecord) -> contactpoint_domain::AuditEvent + Sync),
        override_alert: Option<&crate::NewShieldAlert>,
    ) -> Result<ChildRecord, StorageError> {
        dispatch_to_backend!(self, view_child(permit, id, audit_for, override_alert))
    }

    /// The shield-override alerts of a local authority, unacknowledged first, read with the
    /// audit entry of the reading.
    pub async fn shield_alerts(
        &self,
        permit: &Permit,
        la: &contactpoint_domain::LocalAuthorityCode,
        audit: &contactpoint_domain::AuditEvent,
    ) -> Result<Vec<crate::ShieldAlertRecord>, StorageError> {
        dispatch_to_backend!(self, shield_alerts(permit, la, audit))
    }

    /// Marks an alert as dealt with by the audit entry's actor, recording it.
    pub async fn acknowledge_shield_alert(
        &self,
        permit: &Permit,
        la: &contactpoint_domain::LocalAuthorityCode,
        id: i64,
        audit: &contactpoint_domain::AuditEvent,
    ) -> Result<(), StorageError> {
        dispatch_to_backend!(self, acknowledge_shield_alert(permit, la, id, audit))
    }

    /// The words of names the directory holds under these spelling fragments
    /// (`contactpoint_matching::search::Query::spelling_fragments`): what a misspelt name in
    /// a search may have meant. Reads no child's record.
    pub async fn spellings(&self, fragments: &[i64]) -> Result<Vec<String>, StorageError> {
        dispatch_to_backend!(self, spellings(fragments))
    }

    /// Finds the candidates of a search and, in the same transaction, records the audit
    /// entry `decide` makes with the outcome: nothing is returned unless that entry is
    /// committed.
    pub async fn search_children(
        &self,
        permit: &Permit,
        lookup: &crate::CandidateLookup,
        decide: &crate::SearchDecision<'_>,
    ) -> Result<contactpoint_domain::search::SearchOutcome, StorageError> {
        dispatch_to_backend!(self, search_children(permit, lookup, decide))
    }

    /// Imports one batch of a supplier's file in one transaction (see
    /// [`crate::supply`]): unchanged records are skipped, the others placed by `place`,
    /// and the batch's audit entry appended before the commit. With `cache` (a bulk load's
    /// copy, `candidate_cache`), candidates are read from the copy while nothing else writes
    /// to the directory, and the copy is brought up to date with what the batch did.
    pub async fn import_supply_batch(
        &self,
        permit: &Permit,
        batch: &crate::supply::SupplyBatch<'_>,
        cache: Option<&mut crate::CandidateCache>,
        place: &mut crate::supply::Placer<'_>,
        audit: &crate::supply::BatchAudit<'_>,
    ) -> Result<crate::supply::BatchSummary, StorageError> {
        dispatch_to_backend!(
            self,
            import_supply_batch(permit, batch, cache, place, audit)
        )
    }

    /// Places one batch as [`Store::import_supply_batch`] does, and leaves its transaction
    /// open: the batch is written and committed by [`crate::supply::PlacedSupplyBatch::finish`],
    /// and the copy brought fully up to date by
    /// [`crate::supply::FinishedSupplyBatch::settle_copy`]. Meanwhile the copy may be read
    /// (the next batch scored against it), but must not be placed from.
    pub async fn place_supply_batch(
        &self,
        permit: &Permit,
        batch: &crate::supply::SupplyBatch<'_>,
        cache: Option<&mut crate::CandidateCache>,
        place: &mut crate::supply::Placer<'_>,
    ) -> Result<crate::supply::PlacedSupplyBatch, StorageError> {
        use crate::supply::{Placed, PlacedSupplyBatch};
        Ok(PlacedSupplyBatch(match self {
            Store::Sqlite(pool) => {
                Placed::Sqlite(sqlite::place_supply_batch(pool, permit, batch, cache, place).await?)
            }
            Store::Postgres(pool) => Placed::Postgres(
                postgres::place_supply_batch(pool, permit, batch, cache, place).await?,
            ),
        }))
    }

    /// A copy in memory of every child a supplied record could be linked to and the keys
    /// that reach each (`CandidateCache`), for a bulk load to read its candidates from.
    pub async fn candidate_cache(
        &self,
        permit: &Permit,
    ) -> Result<crate::CandidateCache, StorageError> {
        dispatch_to_backend!(self, candidate_cache(permit))
    }

    /// The exceptions of `queue` waiting (or all, with `include_resolved`), oldest first, at
    /// most 500, read with the audit entry of the look.
    pub async fn supply_exceptions(
        &self,
        permit: &Permit,
        queue: crate::ExceptionQueue<'_>,
        include_resolved: bool,
        audit: &contactpoint_domain::AuditEvent,
    ) -> Result<Vec<crate::supply::SupplyExceptionRecord>, StorageError> {
        dispatch_to_backend!(
            self,
            supply_exceptions(permit, queue, include_resolved, audit)
        )
    }

    /// One exception of `queue` with its candidates side by side, read with the audit entry of
    /// the look; NotFound outside the queue.
    pub async fn supply_exception(
        &self,
        permit: &Permit,
        queue: crate::ExceptionQueue<'_>,
        id: i64,
        audit_for: &(dyn Fn(&crate::supply::SupplyExceptionRecord) -> contactpoint_domain::AuditEvent
              + Sync),
    ) -> Result<crate::supply::SupplyExceptionRecord, StorageError> {
        dispatch_to_backend!(self, supply_exception(permit, queue, id, audit_for))
    }

    /// Resolves a waiting exception of `queue` (link to a child or create one) with its audit
    /// entry; returns the ContactPoint ID of the child the record now belongs to.
    #[allow(clippy::too_many_arguments)]
    pub async fn resolve_supply_exception(
        &self,
        permit: &Permit,
        queue: crate::ExceptionQueue<'_>,
        id: i64,
        resolution: &crate::supply::Resolution,
        by_user_id: Option<i64>,
        at: chrono::DateTime<chrono::Utc>,
        audit: &contactpoint_domain::AuditEvent,
    ) -> Result<ContactPointId, StorageError> {
        dispatch_to_backend!(
            self,
            resolve_supply_exception(permit, queue, id, resolution, by_user_id, at, audit)
        )
    }

    /// Two or more records side by side, as a merge compares them (each named by the field
    /// it came in), read with the audit entry of the look. With `within`, each must be a
    /// child of that authority.
    pub async fn children_to_compare(
        &self,
        permit: &Permit,
        within: Option<&contactpoint_domain::LocalAuthorityCode>,
        ids: &[(&str, &ContactPointId)],
        audit: &contactpoint_domain::AuditEvent,
    ) -> Result<Vec<crate::supply::LinkCandidate>, StorageError> {
        dispatch_to_backend!(self, children_to_compare(permit, within, ids, audit))
    }

    /// Merges two records of the same child: the retired record's involvements, parents
    /// and carers, former names and supplied records move to the survivor, its name becomes
    /// a former name there, and its ID leads to the survivor. Returns the merge's id. With
    /// `within`, both must be children of that authority.
    #[allow(clippy::too_many_arguments)]
    pub async fn merge_children(
        &self,
        permit: &Permit,
        within: Option<&contactpoint_domain::LocalAuthorityCode>,
        survivor: &ContactPointId,
        retired: &ContactPointId,
        by_user_id: Option<i64>,
        at: chrono::DateTime<chrono::Utc>,
        audit: &contactpoint_domain::AuditEvent,
    ) -> Result<i64, StorageError> {
        dispatch_to_backend!(
            self,
            merge_children(permit, within, survivor, retired, by_user_id, at, audit)
        )
    }

    /// Merges two records at once when both are children of `own`, or asks the team of the
    /// other record's authority to agree when one is held elsewhere. `audit` makes the entry
    /// for what happened, in the same transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn merge_or_request(
        &self,
        permit: &Permit,
        own: &contactpoint_domain::LocalAuthorityCode,
        survivor: &ContactPointId,
        retired: &ContactPointId,
        by_user_id: i64,
        at: chrono::DateTime<chrono::Utc>,
        audit: &(dyn Fn(&crate::MergeOutcome) -> contactpoint_domain::AuditEvent + Sync),
    ) -> Result<crate::MergeOutcome, StorageError> {
        dispatch_to_backend!(
            self,
            merge_or_request(permit, own, survivor, retired, by_user_id, at, audit)
        )
    }

    /// The merges still waiting that `la` asked for or is asked to agree to, oldest first.
    pub async fn merge_requests(
        &self,
        permit: &Permit,
        la: &contactpoint_domain::LocalAuthorityCode,
        audit: &contactpoint_domain::AuditEvent,
    ) -> Result<Vec<crate::MergeRequestRecord>, StorageError> {
        dispatch_to_backend!(self, merge_requests(permit, la, audit))
    }

    /// Agrees to (and so performs) or declines a merge waiting for `la`; returns the merge's
    /// id when it merged. `audit` makes the entry from the request and the merge's id.
    #[allow(clippy::too_many_arguments)]
    pub async fn decide_merge_request(
        &self,
        permit: &Permit,
        la: &contactpoint_domain::LocalAuthorityCode,
        request_id: i64,
        agree: bool,
        by_user_id: i64,
        at: chrono::DateTime<chrono::Utc>,
        audit: &(dyn Fn(&crate::MergeRequestRecord, Option<i64>) -> contactpoint_domain::AuditEvent
              + Sync),
    ) -> Result<Option<i64>, StorageError> {
        dispatch_to_backend!(
            self,
            decide_merge_request(permit, la, request_id, agree, by_user_id, at, audit)
        )
    }

    /// Withdraws a merge `la` asked for that still waits; `audit` makes the entry from the
    /// request. NotFound for one `la` did not ask for or that was decided already.
    pub async fn withdraw_merge_request(
        &self,
        permit: &Permit,
        la: &contactpoint_domain::LocalAuthorityCode,
        request_id: i64,
        by_user_id: i64,
        at: chrono::DateTime<chrono::Utc>,
        audit: &(dyn Fn(&crate::MergeRequestRecord) -> contactpoint_domain::AuditEvent + Sync),
    ) -> Result<(), StorageError> {
        dispatch_to_backend!(
            self,
            withdraw_merge_request(permit, la, request_id, by_user_id, at, audit)
        )
    }

    /// Undoes a merge: both records exactly as they were before it. With `within`, only a
    /// merge whose surviving record is a child of that authority.
    pub async fn unmerge_children(
        &self,
        permit: &Permit,
        within: Option<&contactpoint_domain::LocalAuthorityCode>,
        merge_id: i64,
        by_user_id: Option<i64>,
        at: chrono::DateTime<chrono::Utc>,
        audit: &contactpoint_domain::AuditEvent,
    ) -> Result<(), StorageError> {
        dispatch_to_backend!(
            self,
            unmerge_children(permit, within, merge_id, by_user_id, at, audit)
        )
    }

    /// The latest 200 merges whose surviving record is a child of `within` (all, for
    /// `None`), newest first, read with the audit entry of the look.
    pub async fn child_merges(
        &self,
        permit: &Permit,
        within: Option<&contactpoint_domain::LocalAuthorityCode>,
        audit: &contactpoint_domain::AuditEvent,
    ) -> Result<Vec<crate::MergeRecord>, StorageError> {
        dispatch_to_backend!(self, child_merges(permit, within, audit))
    }

    /// Registers a supplier's system account with its audit entry; returns its id.
    pub async fn register_supplier_account(
        &self,
        permit: &Permit,
        account: &crate::NewSupplierAccount,
        audit: &contactpoint_domain::AuditEvent,
    ) -> Result<i64, StorageError> {
        dispatch_to_backend!(self, register_supplier_account(permit, account, audit))
    }

    /// A supplier's system account by its client ID (NotFound if there is none).
    pub async fn supplier_account(
        &self,
        client_id: &str,
    ) -> Result<crate::SupplierAccountRecord, StorageError> {
        dispatch_to_backend!(self, supplier_account(client_id))
    }

    /// Every supplier's system account (standing ones first), without their secrets' digests.
    pub async fn supplier_accounts(
        &self,
        permit: &Permit,
    ) -> Result<Vec<crate::SupplierAccountListing>, StorageError> {
        dispatch_to_backend!(self, supplier_accounts(permit))
    }

    /// Revokes a supplier's system account with its audit entry.
    pub async fn revoke_supplier_account(
        &self,
        permit: &Permit,
        client_id: &str,
        audit: &contactpoint_domain::AuditEvent,
    ) -> Result<(), StorageError> {
        dispatch_to_backend!(self, revoke_supplier_account(permit, client_id, audit))
    }

    /// The ContactPoint ID a record now lives under: the survivor's, for a record merged
    /// into another; its own otherwise.
    pub async fn current_contactpoint_id(
        &self,
        id: &ContactPointId,
    ) -> Result<ContactPointId, StorageError> {
        dispatch_to_backend!(self, current_contactpoint_id(id))
    }

    /// Imports one batch of supplied involvements in one transaction with its audit entry:
    /// unchanged records skipped, new ones started, changed ones updated, and those that name
    /// an unknown child, service or practitioner, or break a rule, reported.
    pub async fn import_involvement_batch(
        &self,
        permit: &Permit,
        batch: &crate::supply::InvolvementBatch<'_>,
        audit: &crate::supply::InvolvementAudit<'_>,
    ) -> Result<crate::supply::InvolvementSummary, StorageError> {
        dispatch_to_backend!(self, import_involvement_batch(permit, batch, audit))
    }

    /// `name` as one of the suppliers the directory knows, or `Invalid` naming `field` and
    /// listing them.
    pub async fn known_source(
        &self,
        field: &str,
        name: &str,
    ) -> Result<contactpoint_domain::SourceCode, StorageError> {
        let known = self.source_codes().await?;
        let names: Vec<&str> = known.iter().map(|s| s.as_str()).collect();
        let expected = || {
            StorageError::Invalid(contactpoint_domain::FieldError::new(
                field,
                format!("one of {}", names.join(", ")),
            ))
        };
        let source = contactpoint_domain::SourceCode::parse(name.trim()).map_err(|_| expected())?;
        if known.contains(&source) {
            Ok(source)
        } else {
            Err(expected())
        }
    }

    /// The suppliers the directory knows (the `sources` table).
    pub async fn source_codes(&self) -> Result<Vec<contactpoint_domain::SourceCode>, StorageError> {
        dispatch_to_backend!(self, source_codes())
    }

    /// Up to `limit` of a source's supplied records after the identifier `after`, in
    /// identifier order, with what became of each.
    pub async fn supply_links(
        &self,
        permit: &Permit,
        source: &contactpoint_domain::SourceCode,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<crate::supply::SupplyLink>, StorageError> {
        dispatch_to_backend!(self, supply_links(permit, source, after, limit))
    }

    /// How many children the directory holds and how many records `source` has placed on
    /// them (a child it sent twice counts twice).
    pub async fn source_coverage(
        &self,
        permit: &Permit,
        source: &contactpoint_domain::SourceCode,
    ) -> Result<crate::supply::SourceCoverage, StorageError> {
        dispatch_to_backend!(self, source_coverage(permit, source))
    }

    /// The local authority of each postcode district of `districts` the directory knows (as
    /// a supply batch reads them for its records).
    pub async fn district_authorities(
        &self,
        permit: &Permit,
        districts: &[&str],
    ) -> Result<
        std::collections::HashMap<String, contactpoint_domain::LocalAuthorityCode>,
        StorageError,
    > {
        dispatch_to_backend!(self, district_authorities(permit, districts))
    }

    /// For each of a batch's records, whether importing it will look for its candidates: not
    /// for one it passes over as unchanged, nor for one it places again on its known child.
    /// Read outside any batch's transaction: a guide to matching work that can be done ahead.
    pub async fn records_matched_against_candidates(
        &self,
        permit: &Permit,
        source: &contactpoint_domain::SourceCode,
        records: &[crate::supply::IncomingRecord],
        retry_waiting: bool,
    ) -> Result<Vec<bool>, StorageError> {
        dispatch_to_backend!(
            self,
            records_matched_against_candidates(permit, source, records, retry_waiting)
        )
    }

    /// Up to `limit` of a source's records still waiting in the exceptions queue, after the
    /// identifier `after`, in identifier order: what an import tries again.
    pub async fn waiting_records(
        &self,
        permit: &Permit,
        source: &contactpoint_domain::SourceCode,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<crate::supply::WaitingRecord>, StorageError> {
        dispatch_to_backend!(self, waiting_records(permit, source, after, limit))
    }

    /// Archives a child's record on a date: from then on no search finds it and no
    /// practitioner opens it.
    pub async fn archive_child(
        &self,
        permit: &Permit,
        id: &ContactPointId,
        on: chrono::NaiveDate,
    ) -> Result<(), StorageError> {
        dispatch_to_backend!(self, archive_child(permit, id, on))
    }

    /// Sign-ins, searches and views in `[from, to)` by the authority's users or about its
    /// children, read with the review's own audit entry.
    pub async fn review_activity(
        &self,
        permit: &Permit,
        la: &contactpoint_domain::LocalAuthorityCode,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        audit: &contactpoint_domain::AuditEvent,
    ) -> Result<Vec<contactpoint_domain::review::Activity>, StorageError> {
        dispatch_to_backend!(self, review_activity(permit, la, from, to, audit))
    }

    /// The latest `limit` views of a child, newest first (with `audit`, recorded).
    pub async fn child_access_history(
        &self,
        permit: &Permit,
        id: &ContactPointId,
        limit: i64,
        audit: Option<&contactpoint_domain::AuditEvent>,
    ) -> Result<Vec<crate::ChildAccess>, StorageError> {
        dispatch_to_backend!(self, child_access_history(permit, id, limit, audit))
    }

    /// The local authority responsible for a child (to decide who may read its history).
    pub async fn child_local_authority(
        &self,
        id: &ContactPointId,
    ) -> Result<contactpoint_domain::LocalAuthorityCode, StorageError> {
        dispatch_to_backend!(self, child_local_authority(id))
    }

    /// The services an organisation runs (its staff see their own sensitive services).
    pub async fn service_ids_of_organisation(
        &self,
        organisation_id: i64,
    ) -> Result<Vec<i64>, StorageError> {
        dispatch_to_backend!(self, service_ids_of_organisation(organisation_id))
    }
}
