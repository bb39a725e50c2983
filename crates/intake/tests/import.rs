//! Importing suppliers' files into a real database, on SQLite and on PostgreSQL: records
//! linked, created or queued; idempotence; rejections; precedence; shielding safety.

use contactpoint_domain::{Permit, SourceCode, SystemTask};
use contactpoint_intake::{import_reader_keeping, FileReport, ImportSettings, LoadCopy};
use contactpoint_storage::supply::{SupplyLink, SupplyStatus};
use contactpoint_storage::{ExceptionQueue, Store};
use contactpoint_supply::Format;
use contactpoint_test_support::{
    both_backends, count_rows, execute_sql, indexed_search_keys, load_sample_catalogue,
    sample_catalogue, sample_child, sample_local_authority, test_now,
};

fn permit() -> Permit {
    Permit::system_bypass(SystemTask::TestFixture)
}

/// The audit entry of a look at a queue of exceptions.
fn listed_audit() -> contactpoint_domain::AuditEvent {
    contactpoint_domain::AuditEvent::new(
        test_now(),
        contactpoint_domain::AccessRoute::System,
        "supply_exceptions_read",
        contactpoint_domain::Outcome::Success,
    )
}

/// Bedford, its catalogue, and the postcode districts that place new children there.
async fn prepare(store: &Store) {
    load_sample_catalogue(store).await;
    execute_sql(
        store,
        "INSERT INTO postcode_districts (district, local_authority) VALUES \
         ('MK40', 'E06000055'), ('MK41', 'E06000055'), ('MK42', 'E06000055')",
    )
    .await
    .unwrap();
}

async fn import(store: &Store, source: &str, authoritative: bool, csv: &str) -> FileReport {
    let settings = ImportSettings::system(SourceCode::parse(source).unwrap(), authoritative);
    import_with(store, &settings, csv).await
}

/// One file, as `supply import` loads a file on its own: a load of one file, ended.
async fn import_with(store: &Store, settings: &ImportSettings, csv: &str) -> FileReport {
    let mut copy = LoadCopy::default();
    let report = import_keeping(store, settings, csv, &mut copy).await;
    copy.finish(store).await.unwrap();
    report
}

async fn links(store: &Store, source: &str) -> Vec<SupplyLink> {
    store
        .supply_links(&permit(), &SourceCode::parse(source).unwrap(), None, 1_000)
        .await
        .unwrap()
}

fn link<'a>(links: &'a [SupplyLink], id: &str) -> &'a SupplyLink {
    links
        .iter()
        .find(|l| l.source_record_id == id)
        .unwrap_or_else(|| panic!("{id} is listed"))
}

/// The child the record `id` of `source` was placed on, read whole.
async fn child_placed(store: &Store, source: &str, id: &str) -> contactpoint_domain::ChildRecord {
    let placed = link(&links(store, source).await, id).contactpoint_id;
    store
        .child_record(&permit(), &placed.expect("placed on a child"))
        .await
        .unwrap()
}

async fn children(store: &Store) -> i64 {
    store
        .stats()
        .await
        .unwrap()
        .iter()
        .map(|s| s.children)
        .sum()
}

async fn batch_entries(store: &Store) -> Vec<String> {
    store
        .audit_events(&permit(), 0)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "supply_batch_imported")
        .map(|e| e.details)
        .collect()
}

async fn assert_trail_intact(store: &Store) {
    assert!(
        store.verify_audit_chain().await.unwrap().is_ok(),
        "the audit trail verifies"
    );
}

const BIRTHS: &str = "\
source_record_id,given_name,middle_names,family_name,date_of_birth,gender,address_line1,town,postcode,parent1_given_name,parent1_family_name,parent1_relationship
GRO-1,Amelia,Rose,Smith-Adeyemi,2014-06-30,F,14 Castle Road,Bedford,MK40 3PD,Funmilayo,Adeyemi,mother
GRO-2,Tobias,,Whitfield,2015-06-03,M,3 Mill Lane,Bedford,MK41 7HT,,,
GRO-3,Oliver,,Brennan,2016-02-11,M,8 High Street,Bedford,MK40 1AB,Siobhan,Brennan,mother
";

both_backends!(
    an_authoritative_file_creates_children_and_importing_it_again_changes_nothing,
    setup = prepare,
    |store| {
        let first = import(store, "birth_registration", true, BIRTHS).await;
        assert_eq!((first.rows, first.outcome.created), (3, 3));
        assert!(first.rejected.is_empty());
        let created = links(store, "birth_registration").await;
        assert_eq!(created.len(), 3);
        assert!(created
            .iter()
            .all(|l| l.status == SupplyStatus::Created && l.contactpoint_id.is_some()));
        let amelia = store
            .child_record(&permit(), &link(&created, "GRO-1").contactpoint_id.unwrap())
            .await
            .unwrap();
        assert_eq!(amelia.family_name.as_str(), "Smith-Adeyemi");
        assert_eq!(amelia.local_authority, sample_local_authority().code);
        assert_eq!(
            amelia.provenance.date_of_birth.source.as_str(),
            "birth_registration"
        );
        assert_eq!(amelia.parents_carers.len(), 1);
        assert_eq!(
            batch_entries(store).await.len(),
            1,
            "one audit entry for the one batch"
        );

        let again = import(store, "birth_registration", true, BIRTHS).await;
        assert_eq!(again.outcome.unchanged, 3);
        assert_eq!(
            again.outcome.created + again.outcome.linked + again.outcome.exceptions,
            0
        );
        assert_eq!(children(store).await, 3);
        assert_eq!(links(store, "birth_registration").await, created);
        assert_eq!(
            batch_entries(store).await.len(),
            1,
            "a batch that changed nothing is not an event"
        );
        assert_trail_intact(store).await;
    }
);

both_backends!(
    a_record_naming_a_parent_the_child_holds_links_where_the_same_evidence_without_her_waits,
    setup = prepare,
    |store| {
        import(store, "birth_registration", true, BIRTHS).await;
        let registered = links(store, "birth_registration").await;
        // Both children have moved across Bedford since they were registered, and child
        // benefit leaves their middle names out: names, date of birth, gender and the
        // postcode area agree, which at a nation's scale is not enough. Amelia's claimant is
        // the mother the register named; Oliver's is someone the directory does not know.
        let benefit = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode,parent1_given_name,parent1_family_name,parent1_relationship
CHB-1,AMELIA,SMITH-ADEYEMI,2014-06-30,F,2 Kings Road,Bedford,MK42 9AA,FUNMILAYO,ADEYEMI,mother
CHB-2,OLIVER,BRENNAN,2016-02-11,M,5 Kings Road,Bedford,MK42 9AB,MARY,BRENNAN,carer
";
        let report = import(store, "child_benefit", false, benefit).await;
        assert_eq!((report.outcome.linked, report.outcome.exceptions), (1, 1));
        let listed = links(store, "child_benefit").await;
        assert_eq!(link(&listed, "CHB-1").status, SupplyStatus::Linked);
        assert_eq!(
            link(&listed, "CHB-1").contactpoint_id,
            link(&registered, "GRO-1").contactpoint_id
        );
        assert_eq!(link(&listed, "CHB-2").status, SupplyStatus::Exception);
        assert_trail_intact(store).await;
    }
);

/// The NHS records of Amelia, who has moved to MK42, and of Oliver, where he was.
const AMELIA_MOVED: &str = "\
source_record_id,given_name,middle_names,family_name,date_of_birth,gender,address_line1,town,postcode
NHS-1,Amelia,Rose,Smith-Adeyemi,2014-06-30,F,2 Kings Road,Bedford,MK42 9AA
NHS-3,Oliver,,Brennan,2016-02-11,M,8 High Street,Bedford,MK40 1AB
";

/// A load reading its candidates from its own copy, of a source allowed to create children.
fn in_memory(source: &str) -> ImportSettings {
    in_memory_from(source, true)
}

fn in_memory_from(source: &str, authoritative: bool) -> ImportSettings {
    ImportSettings::system(SourceCode::parse(source).unwrap(), authoritative)
        .with_candidates_in_memory(true)
}

/// How many search keys the children the directory holds have, computed from their records.
async fn keys_of_every_child(store: &Store) -> i64 {
    let mut keys = 0;
    for listed in links(store, "birth_registration").await {
        let child = store
            .child_record(&permit(), &listed.contactpoint_id.unwrap())
            .await
            .unwrap();
        keys += contactpoint_storage::findable(&child).index_keys().len() as i64;
    }
    keys
}

both_backends!(
    a_load_from_its_own_copy_indexes_the_children_it_made_or_moved_as_it_ends,
    setup = prepare,
    |store| {
        let births = import_with(store, &in_memory("birth_registration"), BIRTHS).await;
        assert_eq!(births.outcome.created, 3);
        assert_eq!(count_rows(store, "child_search_keys_set_aside").await, 0);
        assert_eq!(
            count_rows(store, "child_search_keys").await,
            keys_of_every_child(store).await,
            "every child made is filed in the index under each of its keys"
        );

        let nhs = import_with(store, &in_memory("nhs_demographics"), AMELIA_MOVED).await;
        assert_eq!((nhs.outcome.linked, nhs.outcome.updated), (2, 1));
        let amelia = child_placed(store, "nhs_demographics", "NHS-1").await;
        assert_eq!(
            amelia.address.address().unwrap().postcode.as_str(),
            "MK42 9AA"
        );
        assert_eq!(count_rows(store, "child_search_keys_set_aside").await, 0);
        assert_eq!(
            count_rows(store, "child_search_keys").await,
            keys_of_every_child(store).await,
            "the child who moved is filed under her new district as well, and nobody twice"
        );
        assert_eq!(children(store).await, 3);
        assert_trail_intact(store).await;
    }
);

/// The NHS's file moving Amelia, loaded from `copy` after the birth register's: both its
/// records are linked to the children the register made.
async fn nhs_from_copy(store: &Store, copy: &mut LoadCopy) {
    let nhs = import_keeping(store, &in_memory("nhs_demographics"), AMELIA_MOVED, copy).await;
    assert_eq!((nhs.outcome.linked, nhs.outcome.created), (2, 0));
}

/// A birth the register sends on its own.
const BEATRIX: &str = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
GRO-4,Beatrix,Zorn,2017-02-21,F,9 Elm Road,Bedford,MK42 9EE
";

both_backends!(
    a_load_of_several_files_indexes_the_children_they_made_or_moved_once_as_it_finishes,
    setup = prepare,
    |store| {
        // On PostgreSQL a load indexes its keys as each batch commits; on SQLite it sets them
        // aside until it ends.
        let sets_aside = matches!(store, Store::Sqlite(_));
        let mut copy = LoadCopy::default();
        import_keeping(store, &in_memory("birth_registration"), BIRTHS, &mut copy).await;
        if sets_aside {
            assert!(count_rows(store, "child_search_keys_set_aside").await > 0);
            assert_eq!(
                count_rows(store, "child_search_keys").await,
                0,
                "the file's children are not indexed between the load's files"
            );
        }
        // The next file finds its children in the load's copy, which files them.
        nhs_from_copy(store, &mut copy).await;

        let moved = copy.finish(store).await.unwrap();
        assert_eq!(moved > 0, sets_aside);
        assert_eq!(count_rows(store, "child_search_keys_set_aside").await, 0);
        assert_eq!(
            count_rows(store, "child_search_keys").await,
            keys_of_every_child(store).await,
            "every child is filed under each of her keys once the load ends, Amelia under her new district"
        );

        // A load that stops before it finishes (as one killed would) leaves its keys aside;
        // the next import moves them before it reads anything.
        let mut stopped = LoadCopy::default();
        import_keeping(
            store,
            &in_memory("birth_registration"),
            BEATRIX,
            &mut stopped,
        )
        .await;
        drop(stopped);
        if sets_aside {
            assert!(
                count_rows(store, "child_search_keys_set_aside").await > 0,
                "Beatrix's keys are left aside"
            );
        }
        import(store, "schools_census", false, TOBIAS_ALONE).await;
        assert_eq!(count_rows(store, "child_search_keys_set_aside").await, 0);
        assert_eq!(
            count_rows(store, "child_search_keys").await,
            keys_of_every_child(store).await
        );
        assert_eq!(children(store).await, 4);
        assert_trail_intact(store).await;
    }
);

/// The search keys every child the birth register made is filed under, worked out from its
/// record as read back whole, in order.
async fn keys_from_every_record(store: &Store) -> Vec<i64> {
    let mut keys = Vec::new();
    for listed in links(store, "birth_registration").await {
        let child = store
            .child_record(&permit(), &listed.contactpoint_id.unwrap())
            .await
            .unwrap();
        keys.extend(contactpoint_storage::findable(&child).index_keys());
    }
    keys.sort_unstable();
    keys
}

/// What the load's copy holds of every child, and what reading the directory afresh gives.
async fn copy_and_directory(store: &Store, copy: &LoadCopy) -> (Vec<String>, Vec<String>) {
    let kept = copy.candidates().expect("the copy is kept");
    let fresh = store.candidate_cache(&permit()).await.unwrap();
    let mut ids: Vec<i64> = fresh.child_ids().collect();
    ids.sort_unstable();
    let held = |cache: &contactpoint_storage::CandidateCache| -> Vec<String> {
        ids.iter()
            .map(|id| format!("{:?}", cache.held(*id).expect("held")))
            .collect()
    };
    (held(kept), held(&fresh))
}

both_backends!(
    a_load_scoring_each_batch_while_the_one_before_commits_places_every_record_as_one_batch_would,
    setup = prepare,
    |store| {
        // One record a batch: each is read and scored ahead while the one before commits.
        let one_a_batch = |source: &str| ImportSettings {
            batch_size: 1,
            ..in_memory(source)
        };
        let mut copy = LoadCopy::default();
        let births =
            import_keeping(store, &one_a_batch("birth_registration"), BIRTHS, &mut copy).await;
        assert_eq!((births.batches, births.outcome.created), (3, 3));
        // Amelia moves (the copy takes her in as she is placed); Oliver is linked as he was
        // (the copy notes the NHS on him).
        let nhs = import_keeping(
            store,
            &one_a_batch("nhs_demographics"),
            AMELIA_MOVED,
            &mut copy,
        )
        .await;
        assert_eq!(
            (nhs.batches, nhs.outcome.linked, nhs.outcome.updated),
            (2, 2, 1)
        );
        // The register sends Tobias again, moved along his lane: he is placed on the child it
        // named before, read again into the copy as his batch commits.
        let moved = BIRTHS.replace(
            "3 Mill Lane,Bedford,MK41 7HT",
            "9 Mill Lane,Bedford,MK41 7HT",
        );
        let registered =
            import_keeping(store, &one_a_batch("birth_registration"), &moved, &mut copy).await;
        assert_eq!(
            (registered.outcome.updated, registered.outcome.unchanged),
            (1, 2),
            "{registered:?}"
        );
        if rayon::current_num_threads() >= 2 {
            assert_eq!(
                (births.scored_ahead, nhs.scored_ahead),
                (3, 2),
                "every record of a new file is scored ahead, the first batch's before it and each other while the one before commits"
            );
        }
        let kept = copy
            .candidates()
            .expect("the copy is kept for the next file");
        assert!(kept.trusted());
        let (held, directory) = copy_and_directory(store, &copy).await;
        assert_eq!(
            held, directory,
            "the copy holds every child as the directory does"
        );
        let tobias = child_placed(store, "birth_registration", "GRO-2").await;
        assert_eq!(tobias.address.address().unwrap().line1, "9 Mill Lane");
        assert_eq!(children(store).await, 3);
        copy.finish(store).await.unwrap();
        assert_eq!(
            count_rows(store, "child_search_keys").await,
            keys_of_every_child(store).await
        );
        assert_trail_intact(store).await;
    }
);

both_backends!(
    a_load_whose_directory_something_else_wrote_to_scores_nothing_more_ahead_against_its_copy,
    setup = prepare,
    |store| {
        let one_a_batch = |source: &str| ImportSettings {
            batch_size: 1,
            ..in_memory(source)
        };
        let mut copy = LoadCopy::default();
        import_keeping(store, &one_a_batch("birth_registration"), BIRTHS, &mut copy).await;
        // Something else writes to the directory between two files of the load.
        import(store, "schools_census", false, TOBIAS_ALONE).await;
        let nhs = import_keeping(
            store,
            &one_a_batch("nhs_demographics"),
            AMELIA_MOVED,
            &mut copy,
        )
        .await;
        assert_eq!((nhs.outcome.linked, nhs.outcome.updated), (2, 1));
        if rayon::current_num_threads() >= 2 {
            assert_eq!(
                nhs.scored_ahead, 1,
                "only the first batch, scored before it found the copy out of date"
            );
        }
        assert!(
            copy.candidates().is_none_or(|kept| !kept.trusted()),
            "the copy is not trusted for the next file"
        );
        assert_eq!(
            child_placed(store, "nhs_demographics", "NHS-1")
                .await
                .address
                .address()
                .unwrap()
                .postcode
                .as_str(),
            "MK42 9AA"
        );
        assert_trail_intact(store).await;
    }
);

both_backends!(
    a_batch_writes_the_moves_names_and_parents_it_brings_and_files_each_child_under_its_new_keys,
    setup = prepare,
    |store| {
        let mut copy = LoadCopy::default();
        let at = |days: i64| test_now() + chrono::Duration::days(days);
        let mut load = async |source: &str, csv: &str, now| {
            let settings = in_memory(source);
            import_reader_keeping(
                store,
                &permit(),
                &settings,
                "test.csv",
                csv.as_bytes(),
                Format::Csv,
                now,
                &mut |_| {},
                &mut copy,
            )
            .await
            .unwrap()
        };
        load("birth_registration", BIRTHS, at(0)).await;
        // One batch moves Amelia and Oliver.
        let moved = load(
            "nhs_demographics",
            "\
source_record_id,given_name,middle_names,family_name,date_of_birth,gender,address_line1,town,postcode
NHS-1,Amelia,Rose,Smith-Adeyemi,2014-06-30,F,2 Kings Road,Bedford,MK42 9AA
NHS-3,Oliver,,Brennan,2016-02-11,M,4 High Street,Bedford,MK40 1AD
",
            at(1),
        )
        .await;
        assert_eq!((moved.outcome.linked, moved.outcome.updated), (2, 2));
        // The register renames Oliver (his old family name becomes a former one) and adds
        // Amelia's father, in one batch.
        let renamed = BIRTHS
            .replace("GRO-3,Oliver,,Brennan,", "GRO-3,Oliver,,Brennan-Walsh,")
            .replace("Funmilayo,Adeyemi,mother", "Kunle,Adeyemi,father");
        let registered = load("birth_registration", &renamed, at(2)).await;
        assert_eq!(registered.outcome.updated, 2, "{registered:?}");
        // Child benefit moves Amelia once more.
        let benefit = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode,parent1_given_name,parent1_family_name,parent1_relationship
CHB-1,AMELIA,SMITH-ADEYEMI,2014-06-30,F,9 Park Avenue,Bedford,MK40 2AA,FUNMILAYO,ADEYEMI,mother
";
        let again = load("child_benefit", benefit, at(3)).await;
        assert_eq!((again.outcome.linked, again.outcome.updated), (1, 1));

        let amelia = child_placed(store, "birth_registration", "GRO-1").await;
        assert_eq!(
            amelia.address.address().unwrap().postcode.as_str(),
            "MK40 2AA"
        );
        let earlier: Vec<(&str, chrono::NaiveDate)> = amelia
            .address_history
            .iter()
            .map(|past| (past.address.postcode.as_str(), past.until))
            .collect();
        // The register, sent again later, gives her birth address as the newest.
        assert_eq!(
            earlier,
            [
                ("MK40 3PD", at(1).date_naive()),
                ("MK42 9AA", at(2).date_naive()),
                ("MK40 3PD", at(3).date_naive())
            ],
            "each address closes the day the next begins"
        );
        let parents: Vec<&str> = amelia
            .parents_carers
            .iter()
            .map(|p| p.given_name.as_str())
            .collect();
        assert_eq!(
            parents,
            ["Funmilayo", "Kunle"],
            "the mother is not added twice"
        );
        let oliver = child_placed(store, "birth_registration", "GRO-3").await;
        assert_eq!(oliver.family_name.as_str(), "Brennan-Walsh");
        let former: Vec<&str> = oliver
            .former_names
            .iter()
            .map(|f| f.family_name.as_str())
            .collect();
        assert_eq!(former, ["Brennan"]);

        let (held, directory) = copy_and_directory(store, &copy).await;
        assert_eq!(
            held, directory,
            "the copy holds each child as the directory does"
        );
        copy.finish(store).await.unwrap();
        assert_eq!(count_rows(store, "child_search_keys_set_aside").await, 0);
        assert_eq!(
            indexed_search_keys(store).await,
            keys_from_every_record(store).await,
            "each child is filed under exactly the keys its record gives, old ones forgotten"
        );
        assert_eq!(children(store).await, 3);
        assert_trail_intact(store).await;
    }
);

both_backends!(
    a_file_run_again_or_resumed_scores_ahead_only_the_records_it_has_not_placed_before,
    setup = prepare,
    |store| {
        let settings = ImportSettings {
            batch_size: 1,
            ..in_memory("birth_registration")
        };
        // Records are scored ahead only when there is more than one core to score them on.
        let ahead = |records: u64| {
            if rayon::current_num_threads() >= 2 {
                records
            } else {
                0
            }
        };
        let mut copy = LoadCopy::default();
        let first_two: String = BIRTHS.lines().take(3).map(|l| format!("{l}\n")).collect();
        let stopped = import_keeping(store, &settings, &first_two, &mut copy).await;
        assert_eq!(stopped.outcome.created, 2);
        assert_eq!(stopped.scored_ahead, ahead(2));

        let resumed = import_keeping(store, &settings, BIRTHS, &mut copy).await;
        assert_eq!((resumed.outcome.unchanged, resumed.outcome.created), (2, 1));
        assert_eq!(
            resumed.scored_ahead,
            ahead(1),
            "only the record the stopped load had not placed"
        );

        let again = import_keeping(store, &settings, BIRTHS, &mut copy).await;
        assert_eq!(again.outcome.unchanged, 3);
        assert_eq!(again.scored_ahead, 0, "nothing in a file run again");

        let moved = BIRTHS.replace("3 Mill Lane", "5 Mill Lane");
        let moved = import_keeping(store, &settings, &moved, &mut copy).await;
        assert_eq!(moved.outcome.unchanged, 2);
        assert_eq!(moved.outcome.created, 0);
        assert_eq!(
            moved.scored_ahead, 0,
            "a changed record is placed again on its child without being matched"
        );
        assert_eq!(children(store).await, 3);
        assert_trail_intact(store).await;
    }
);

async fn import_keeping(
    store: &Store,
    settings: &ImportSettings,
    csv: &str,
    copy: &mut LoadCopy,
) -> FileReport {
    import_reader_keeping(
        store,
        &permit(),
        settings,
        "test.csv",
        csv.as_bytes(),
        Format::Csv,
        test_now(),
        &mut |_| {},
        copy,
    )
    .await
    .unwrap()
}

both_backends!(
    a_load_keeps_its_copy_from_file_to_file_and_reads_it_afresh_once_something_else_wrote,
    setup = prepare,
    |store| {
        let mut copy = LoadCopy::default();
        import_keeping(store, &in_memory("birth_registration"), BIRTHS, &mut copy).await;
        nhs_from_copy(store, &mut copy).await;

        // Beside the load, the register sends a child it had not: the copy kept from the last
        // file does not hold her, so the next file reads the directory instead.
        import(store, "birth_registration", true, BEATRIX).await;
        let her_nhs_record = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
NHS-4,Beatrix,Zorn,2017-02-21,F,9 Elm Road,Bedford,MK42 9EE
";
        let report = import_keeping(
            store,
            &in_memory("nhs_demographics"),
            her_nhs_record,
            &mut copy,
        )
        .await;
        assert_eq!(
            (report.outcome.linked, report.outcome.created),
            (1, 0),
            "linked to the child the register made beside the load, not made again"
        );
        assert_eq!(children(store).await, 4);
        assert_eq!(count_rows(store, "child_search_keys_set_aside").await, 0);
        assert_eq!(
            count_rows(store, "child_search_keys").await,
            keys_of_every_child(store).await
        );
        assert_trail_intact(store).await;
    }
);

/// Makes the database refuse any child given `given_name`, as a full disk or a broken
/// constraint would refuse a batch.
async fn refuse_children_named(store: &Store, given_name: &str) {
    let statements = match store {
        Store::Sqlite(_) => vec![format!(
            "CREATE TRIGGER refuse_child BEFORE INSERT ON children WHEN NEW.given_name = '{given_name}' \
             BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )],
        Store::Postgres(_) => vec![
            format!(
                "CREATE FUNCTION refuse_child() RETURNS trigger AS $$ BEGIN \
                 IF NEW.given_name = '{given_name}' THEN RAISE EXCEPTION 'refused'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql"
            ),
            "CREATE TRIGGER refuse_child BEFORE INSERT ON children FOR EACH ROW \
             EXECUTE FUNCTION refuse_child()"
                .to_owned(),
        ],
    };
    for statement in statements {
        execute_sql(store, &statement).await.unwrap();
    }
}

both_backends!(
    a_load_from_its_own_copy_that_fails_part_way_indexes_the_keys_its_committed_batches_set_aside,
    setup = prepare,
    |store| {
        refuse_children_named(store, "Tobias").await;
        let settings = ImportSettings {
            batch_size: 1,
            ..in_memory("birth_registration")
        };
        let failed = import_reader_keeping(
            store,
            &permit(),
            &settings,
            "test.csv",
            BIRTHS.as_bytes(),
            Format::Csv,
            test_now(),
            &mut |_| {},
            &mut LoadCopy::default(),
        )
        .await;
        assert!(failed.is_err(), "the second batch was refused");
        assert_eq!(children(store).await, 1, "the first batch committed Amelia");
        assert_eq!(count_rows(store, "child_search_keys_set_aside").await, 0);
        assert_eq!(
            count_rows(store, "child_search_keys").await,
            keys_of_every_child(store).await,
            "Amelia is filed in the index under each of her keys"
        );
        assert_trail_intact(store).await;
    }
);

both_backends!(
    a_record_looked_for_in_the_index_first_indexes_the_keys_a_stopped_load_left_aside,
    setup = prepare,
    |store| {
        import(store, "birth_registration", true, BIRTHS).await;
        // As a load stopped part way leaves them: the children's keys set aside, none indexed.
        execute_sql(
            store,
            "INSERT INTO child_search_keys_set_aside (key, child_id) \
             SELECT key, child_id FROM child_search_keys",
        )
        .await
        .unwrap();
        execute_sql(store, "DELETE FROM child_search_keys")
            .await
            .unwrap();
        let keys = count_rows(store, "child_search_keys_set_aside").await;

        let report = import(store, "nhs_demographics", true, AMELIA_MOVED).await;
        assert_eq!(
            (report.outcome.linked, report.outcome.created),
            (2, 0),
            "linked to the children the register made, not made again"
        );
        assert_eq!(children(store).await, 3);
        assert_eq!(count_rows(store, "child_search_keys_set_aside").await, 0);
        assert!(count_rows(store, "child_search_keys").await > keys);
        assert_eq!(
            count_rows(store, "child_search_keys").await,
            keys_of_every_child(store).await
        );
        assert_trail_intact(store).await;
    }
);

/// A source that may not create children, importing for a nation of a million children: exact
/// names, date of birth and gender alone make 0.998, under the upper threshold.
fn in_a_million_child_nation(source: &str) -> ImportSettings {
    ImportSettings {
        population: 1_000_000,
        ..ImportSettings::system(SourceCode::parse(source).unwrap(), false)
    }
}

/// A census record of Tobias with his names, date of birth and gender alone: no address,
/// no middle names, no school the directory knows.
const TOBIAS_ALONE: &str = "\
source_record_id,given_name,family_name,date_of_birth,gender
UPN-2,Tobias,Whitfield,2015-06-03,M
";

/// The census records of the two other children the register holds, with their addresses.
const AMELIA_AND_OLIVER_AT_SCHOOL: &str = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
UPN-1,Amelia,Smith-Adeyemi,2014-06-30,F,14 Castle Road,Bedford,MK40 3PD
UPN-3,Oliver,Brennan,2016-02-11,M,8 High Street,Bedford,MK40 1AB
";

both_backends!(
    a_record_with_names_and_birthday_alone_links_once_its_source_holds_most_other_children,
    setup = prepare,
    |store| {
        let census = in_a_million_child_nation("schools_census");
        import(store, "birth_registration", true, BIRTHS).await;
        let registered = links(store, "birth_registration").await;
        // While the census holds none of the children, Tobias could be any of them: he waits.
        let first = import_with(store, &census, TOBIAS_ALONE).await;
        assert_eq!((first.outcome.linked, first.outcome.exceptions), (0, 1));

        // The census then sends Amelia and Oliver, with their addresses.
        let others = import_with(store, &census, AMELIA_AND_OLIVER_AT_SCHOOL).await;
        assert_eq!(others.outcome.linked, 2);
        // Now it holds two children in three: the one it does not hold is three times
        // likelier to be the child of a record it has not placed (1.6 bits).
        let coverage = store
            .source_coverage(&permit(), &SourceCode::parse("schools_census").unwrap())
            .await
            .unwrap();
        assert_eq!((coverage.children, coverage.held), (3, 2));
        let again =
            contactpoint_intake::retry_waiting(store, &permit(), &census, test_now(), &mut |_| {})
                .await
                .unwrap();
        assert_eq!(again.outcome.linked, 1, "{again:?}");
        let tobias = link(&links(store, "schools_census").await, "UPN-2").clone();
        assert_eq!(tobias.status, SupplyStatus::Linked);
        assert_eq!(
            tobias.contactpoint_id,
            link(&registered, "GRO-2").contactpoint_id
        );
        assert_eq!(children(store).await, 3, "no child was made");
        assert_trail_intact(store).await;
    }
);

both_backends!(
    a_load_tries_its_waiting_records_again_from_its_own_copy_and_keeps_it_for_the_next,
    setup = prepare,
    |store| {
        let census = in_a_million_child_nation("schools_census").with_candidates_in_memory(true);
        let mut copy = LoadCopy::default();
        import_keeping(store, &in_memory("birth_registration"), BIRTHS, &mut copy).await;
        let registered = links(store, "birth_registration").await;
        let first = import_keeping(store, &census, TOBIAS_ALONE, &mut copy).await;
        assert_eq!((first.outcome.linked, first.outcome.exceptions), (0, 1));
        import_keeping(store, &census, AMELIA_AND_OLIVER_AT_SCHOOL, &mut copy).await;

        let again = contactpoint_intake::retry_waiting_keeping(
            store,
            &permit(),
            &census,
            test_now(),
            &mut |_| {},
            &mut copy,
        )
        .await
        .unwrap();
        assert_eq!(again.outcome.linked, 1, "{again:?}");
        let tobias = link(&links(store, "schools_census").await, "UPN-2").clone();
        assert_eq!(
            tobias.contactpoint_id,
            link(&registered, "GRO-2").contactpoint_id
        );
        assert_eq!(children(store).await, 3, "no child was made");

        // The copy the retry placed him from is kept, trusted, and knows the census holds him.
        let kept = copy
            .candidates()
            .expect("the copy is kept for the next source");
        assert!(kept.trusted());
        let held = kept
            .child_ids()
            .filter_map(|id| kept.held(id))
            .find(|c| Some(c.contactpoint_id) == tobias.contactpoint_id)
            .expect("Tobias is held");
        assert!(held
            .supplied_by
            .iter()
            .any(|s| s.as_str() == "schools_census"));
        copy.finish(store).await.unwrap();
        assert_eq!(count_rows(store, "child_search_keys_set_aside").await, 0);
        assert_eq!(
            count_rows(store, "child_search_keys").await,
            keys_of_every_child(store).await
        );
        assert_trail_intact(store).await;
    }
);

both_backends!(
    a_later_delivery_links_a_record_with_names_and_birthday_alone_to_the_child_its_source_has_not_sent,
    setup = prepare,
    |store| {
        import(store, "birth_registration", true, BIRTHS).await;
        let registered = links(store, "birth_registration").await;
        let census = in_a_million_child_nation("schools_census");
        let first = import_with(
            store,
            &census,
            AMELIA_AND_OLIVER_AT_SCHOOL,
        )
        .await;
        assert_eq!(first.outcome.linked, 2);
        // The census's next delivery: it holds two children in three, not Tobias.
        let next = import_with(store, &census, TOBIAS_ALONE).await;
        assert_eq!(next.outcome.linked, 1, "{next:?}");
        assert_eq!(
            link(&links(store, "schools_census").await, "UPN-2").contactpoint_id,
            link(&registered, "GRO-2").contactpoint_id
        );
        // Child benefit, holding nobody, cannot say the same of Oliver's record: it waits.
        let benefit = import_with(
            store,
            &in_a_million_child_nation("child_benefit"),
            "\
source_record_id,given_name,family_name,date_of_birth,gender
CHB-3,OLIVER,BRENNAN,2016-02-11,M
",
        )
        .await;
        assert_eq!(
            (benefit.outcome.linked, benefit.outcome.exceptions),
            (0, 1)
        );
        assert_trail_intact(store).await;
    }
);

both_backends!(
    a_record_with_no_address_links_by_the_authority_of_the_school_it_names,
    setup = prepare,
    |store| {
        let census = in_a_million_child_nation("schools_census");
        import(store, "birth_registration", true, BIRTHS).await;
        let registered = links(store, "birth_registration").await;
        // Neither record has an address; Tobias's names his school, in Bedford, where the
        // register placed him. The census holds nobody yet.
        let report = import_with(
            store,
            &census,
            "\
source_record_id,given_name,family_name,date_of_birth,gender,school_urn
UPN-2,Tobias,Whitfield,2015-06-03,M,109521
UPN-3,Oliver,Brennan,2016-02-11,M,
",
        )
        .await;
        assert_eq!(
            (report.outcome.linked, report.outcome.exceptions),
            (1, 1),
            "{report:?}"
        );
        let listed = links(store, "schools_census").await;
        assert_eq!(link(&listed, "UPN-2").status, SupplyStatus::Linked);
        assert_eq!(
            link(&listed, "UPN-2").contactpoint_id,
            link(&registered, "GRO-2").contactpoint_id
        );
        assert_eq!(link(&listed, "UPN-3").status, SupplyStatus::Exception);
        assert_trail_intact(store).await;
    }
);

both_backends!(
    records_from_another_source_with_nicknames_and_misspellings_link_to_the_same_children,
    setup = prepare,
    |store| {
        import(store, "birth_registration", true, BIRTHS).await;
        let registered = links(store, "birth_registration").await;
        let nhs = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode,gp_practice_code
NHS-77,Millie,Smith-Adeyemi,2014-06-30,F,14 Castle Road,Bedford,MK40 3PD,M85001
NHS-78,Tobias,Whitfeild,2015-06-03,M,3 Mill Lane,Bedford,MK41 7HT,M85001
NHS-79,Olly,Brennan,2016-11-02,M,8 High Street,Bedford,MK40 1AB,
";
        let report = import(store, "nhs_demographics", true, nhs).await;
        assert_eq!(report.outcome.linked, 3, "{report:?}");
        assert_eq!(children(store).await, 3, "no child was made twice");
        let linked = links(store, "nhs_demographics").await;
        for (nhs_id, gro_id) in [
            ("NHS-77", "GRO-1"),
            ("NHS-78", "GRO-2"),
            ("NHS-79", "GRO-3"),
        ] {
            assert_eq!(link(&linked, nhs_id).status, SupplyStatus::Linked);
            assert_eq!(
                link(&linked, nhs_id).contactpoint_id,
                link(&registered, gro_id).contactpoint_id,
                "{nhs_id} is the child of {gro_id}"
            );
        }
        assert_trail_intact(store).await;
    }
);

both_backends!(
    birth_registration_keeps_the_name_and_date_of_birth_and_the_latest_address_wins,
    setup = prepare,
    |store| {
        import(store, "birth_registration", true, BIRTHS).await;
        let census = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
SC-1,Tobias,Whitfield,2015-03-06,M,3 Mill Lane,Bedford,MK41 7HT
";
        let report = import(store, "schools_census", false, census).await;
        assert_eq!(report.outcome.linked, 1, "{report:?}");
        let id = link(&links(store, "birth_registration").await, "GRO-2")
            .contactpoint_id
            .unwrap();
        let tobias = store.child_record(&permit(), &id).await.unwrap();
        assert_eq!(
            tobias.date_of_birth.to_string(),
            "2015-06-03",
            "the register's date of birth wins over the census's"
        );
        assert_eq!(
            tobias.provenance.date_of_birth.source.as_str(),
            "birth_registration"
        );
        let moved = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
NHS-2,Tobias,Whitfield,2015-06-03,M,25 Mill Lane,Bedford,MK41 7HU
";
        let report = import(store, "nhs_demographics", false, moved).await;
        assert_eq!(
            (report.outcome.linked, report.outcome.updated),
            (1, 1),
            "{report:?}"
        );
        let tobias = store.child_record(&permit(), &id).await.unwrap();
        let now_at = tobias.address.address().unwrap();
        assert_eq!(
            now_at.postcode.as_str(),
            "MK41 7HU",
            "the most recent address wins"
        );
        assert_eq!(
            tobias.provenance.address.source.as_str(),
            "nhs_demographics"
        );
        assert_eq!(
            tobias
                .address_history
                .last()
                .unwrap()
                .address
                .postcode
                .as_str(),
            "MK41 7HT",
            "the address it replaced is kept in the history"
        );
    }
);

both_backends!(
    a_record_nobody_matches_from_a_source_that_may_not_create_children_waits_for_the_team,
    setup = prepare,
    |store| {
        import(store, "birth_registration", true, BIRTHS).await;
        let local = "\
source_record_id,given_name,family_name,date_of_birth,postcode
YS-5,Keziah,Ashworth-Mbeki,2012-01-19,MK40 2AA
";
        let report = import(store, "local_systems", false, local).await;
        assert_eq!(report.outcome.exceptions, 1);
        assert_eq!(children(store).await, 3);
        let listed = links(store, "local_systems").await;
        assert_eq!(link(&listed, "YS-5").status, SupplyStatus::Exception);
        assert_eq!(link(&listed, "YS-5").contactpoint_id, None);
    }
);

both_backends!(
    rejected_rows_are_reported_with_line_field_and_reason_and_listed_as_rejected,
    setup = prepare,
    |store| {
        let file = "\
source_record_id,given_name,family_name,date_of_birth,postcode
GRO-10,Ada,Lovelace,2015-13-40,MK40 3PD
GRO-11,Grace,Hopper,2016-01-01,MK40 3PD
,Alan,Turing,2016-02-02,MK40 3PD
";
        let report = import(store, "birth_registration", true, file).await;
        assert_eq!(report.rows, 3);
        assert_eq!(report.outcome.created, 1);
        let rejected: Vec<(u64, Option<&str>, &str)> = report
            .rejected
            .iter()
            .map(|r| (r.line, r.source_record_id.as_deref(), r.field.as_str()))
            .collect();
        assert_eq!(
            rejected,
            vec![
                (2, Some("GRO-10"), "date_of_birth"),
                (4, None, "source_record_id")
            ]
        );
        let listed = links(store, "birth_registration").await;
        assert_eq!(link(&listed, "GRO-10").status, SupplyStatus::Rejected);
        assert_eq!(link(&listed, "GRO-11").status, SupplyStatus::Created);
        assert_eq!(
            listed.len(),
            2,
            "a row with no identifier cannot be listed; the report has it"
        );
    }
);

both_backends!(
    a_rejected_row_leaves_the_record_placed_under_its_identifier_and_is_listed_once,
    setup = prepare,
    |store| {
        let first = "\
source_record_id,given_name,family_name,date_of_birth,postcode
GRO-11,Grace,Hopper,2016-01-01,MK40 3PD
";
        import(store, "birth_registration", true, first).await;
        // Grace's record sent again spoilt, Ada's spoilt twice, and Alan's placed and then
        // sent spoilt in the same batch.
        let second = "\
source_record_id,given_name,family_name,date_of_birth,postcode
GRO-11,Grace,Hopper,2016-13-01,MK40 3PD
GRO-10,Ada,Lovelace,2015-13-40,MK40 3PD
GRO-10,Ada,Lovelace,2015-13-41,MK40 3PD
GRO-12,Alan,Turing,2016-02-02,MK40 3PD
GRO-12,Alan,Turing,2016-02-31,MK40 3PD
";
        let report = import(store, "birth_registration", true, second).await;
        assert_eq!(report.rejected.len(), 4, "every spoilt row is reported");
        assert_eq!(
            (report.outcome.rejected, report.outcome.created),
            (1, 1),
            "{report:?}"
        );
        let listed = links(store, "birth_registration").await;
        assert_eq!(link(&listed, "GRO-11").status, SupplyStatus::Created);
        assert_eq!(link(&listed, "GRO-10").status, SupplyStatus::Rejected);
        assert_eq!(link(&listed, "GRO-12").status, SupplyStatus::Created);
        assert_eq!(listed.len(), 3);
        assert_trail_intact(store).await;
    }
);

both_backends!(
    two_records_of_one_child_in_one_file_make_one_child,
    setup = prepare,
    |store| {
        let file = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
CB-1,Harriet,Okonkwo,2013-09-14,F,5 Bell Lane,Bedford,MK40 2BB
CB-2,Harriet,Okonkwo,2013-09-14,F,5 Bell Lane,Bedford,MK40 2BB
";
        let report = import(store, "child_benefit", true, file).await;
        assert_eq!(
            (report.outcome.created, report.outcome.linked),
            (1, 1),
            "{report:?}"
        );
        let listed = links(store, "child_benefit").await;
        assert_eq!(
            link(&listed, "CB-1").contactpoint_id,
            link(&listed, "CB-2").contactpoint_id
        );
    }
);

both_backends!(
    a_near_duplicate_within_one_source_waits_for_the_team_beside_the_child_it_resembles,
    setup = prepare,
    |store| {
        // A source seldom sends one child twice: Hattie could be Harriet under a short form,
        // or her twin. Across two sources the same pair would link; within one, a person
        // decides.
        let file = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
CB-1,Harriet,Okonkwo,2013-09-14,F,5 Bell Lane,Bedford,MK40 2BB
CB-2,Hattie,Okonkwo,2013-09-14,F,5 Bell Lane,Bedford,MK40 2BB
";
        let report = import(store, "child_benefit", true, file).await;
        assert_eq!(
            (report.outcome.created, report.outcome.exceptions),
            (1, 1),
            "{report:?}"
        );
        let queued = store
            .supply_exceptions(&permit(), ExceptionQueue::Every, false, &listed_audit())
            .await
            .unwrap();
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].source_record_id, "CB-2");
        let harriet = link(&links(store, "child_benefit").await, "CB-1").contactpoint_id;
        assert!(harriet.is_some());

        let other_source = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
9434765919,Hattie,Okonkwo,2013-09-14,F,5 Bell Lane,Bedford,MK40 2BB
";
        let report = import(store, "nhs_demographics", true, other_source).await;
        assert_eq!(report.outcome.linked, 1, "{report:?}");
        assert_eq!(
            link(&links(store, "nhs_demographics").await, "9434765919").contactpoint_id,
            harriet
        );
        assert_trail_intact(store).await;
    }
);

both_backends!(
    exceptions_a_batch_raises_are_written_with_it_naming_the_children_it_made_and_numbered_without_gaps,
    setup = prepare,
    |store| {
        // One batch, read from the load's copy: Hattie waits beside Harriet, whom the batch
        // has only just made; Tobias is made after her; then Hattie's record comes again
        // with a new address, and updates the one exception it raised.
        let file = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
CB-1,Harriet,Okonkwo,2013-09-14,F,5 Bell Lane,Bedford,MK40 2BB
CB-2,Hattie,Okonkwo,2013-09-14,F,5 Bell Lane,Bedford,MK40 2BB
CB-3,Tobias,Whitfield,2015-06-03,M,3 Mill Lane,Bedford,MK41 7HT
CB-2,Hattie,Okonkwo,2013-09-14,F,7 Bell Lane,Bedford,MK40 2BB
";
        let report = import_with(store, &in_memory("child_benefit"), file).await;
        assert_eq!(report.batches, 1);
        let o = &report.outcome;
        assert_eq!(
            (o.created, o.exceptions, o.exceptions_refreshed),
            (2, 2, 1),
            "{report:?}"
        );
        let waiting = every_exception(store).await;
        assert_eq!(waiting.len(), 1, "one exception for one record");
        assert!(waiting[0].record.contains("7 Bell Lane"), "{}", waiting[0].record);
        let harriet = link(&links(store, "child_benefit").await, "CB-1")
            .contactpoint_id
            .unwrap();
        let shown = store
            .supply_exception(&permit(), ExceptionQueue::Every, waiting[0].id, &|_| {
                listed_audit()
            })
            .await
            .unwrap();
        assert_eq!(
            shown
                .candidates
                .iter()
                .map(|(c, _)| c.contactpoint_id)
                .collect::<Vec<_>>(),
            vec![harriet],
            "the exception names the child made in its own batch"
        );
        assert_eq!(
            link(&links(store, "child_benefit").await, "CB-2").status,
            SupplyStatus::Exception
        );

        // The ids the batch took for exceptions it did not raise were given back: the next
        // exception is numbered straight after.
        let twin = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
CB-4,Tobi,Whitfield,2015-06-03,M,3 Mill Lane,Bedford,MK41 7HT
";
        import_with(store, &in_memory("child_benefit"), twin).await;
        let mut ids: Vec<i64> = every_exception(store).await.iter().map(|e| e.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, vec![waiting[0].id, waiting[0].id + 1]);
        assert_trail_intact(store).await;
    }
);

both_backends!(
    a_changed_record_updates_the_child_it_was_placed_on,
    setup = prepare,
    |store| {
        import(store, "birth_registration", true, BIRTHS).await;
        let moved = BIRTHS.replace(
            "3 Mill Lane,Bedford,MK41 7HT",
            "40 Park Avenue,Bedford,MK40 2PQ",
        );
        let report = import(store, "birth_registration", true, &moved).await;
        assert_eq!(
            (
                report.outcome.unchanged,
                report.outcome.linked,
                report.outcome.updated
            ),
            (2, 1, 1)
        );
        let id = link(&links(store, "birth_registration").await, "GRO-2")
            .contactpoint_id
            .unwrap();
        let tobias = store.child_record(&permit(), &id).await.unwrap();
        assert_eq!(
            tobias.address.address().unwrap().postcode.as_str(),
            "MK40 2PQ"
        );
        assert_eq!(children(store).await, 3);
    }
);

both_backends!(
    a_record_that_could_be_a_shielded_child_never_creates_or_updates_an_unshielded_record,
    setup = prepare,
    |store| {
        // A shielded child (Amelia Smith-Adeyemi, born 2014-06-30, MK40 3PD) and an unshielded
        // duplicate of her made from another source at another address.
        // A second copy of the catalogue, for its ids; services' references are unique.
        let mut catalogue = sample_catalogue();
        for service in catalogue
            .organisations
            .iter_mut()
            .flat_map(|o| o.services.iter_mut())
        {
            service.reference = None;
        }
        let ids = store.load_catalogue(&permit(), &catalogue).await.unwrap();
        let mut shielded = sample_child(&catalogue, &ids, 7);
        shielded.involvements.clear();
        shielded.shielded = true;
        store
            .load_children(&permit(), std::slice::from_ref(&shielded))
            .await
            .unwrap();
        let duplicate = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
CB-7,Amelia,Smith-Adeyemi,2014-06-30,F,9 Harpur Street,Bedford,MK40 1LA
";
        execute_sql(
        store,
        "INSERT INTO postcode_districts (district, local_authority) VALUES ('MK45', 'E06000055')",
    )
    .await
    .unwrap();
        // Made directly, as a record the rule would not have let through, to test the next one.
        let mut twin = shielded.clone();
        twin.contactpoint_id = contactpoint_domain::ContactPointId::random(&mut rand::rng());
        twin.shielded = false;
        twin.former_names.clear();
        twin.address_history.clear();
        twin.parents_carers.clear();
        twin.address = contactpoint_domain::AddressState::Current {
            address: contactpoint_domain::Address::parse(
                "9 Harpur Street",
                None,
                "Bedford",
                "MK40 1LA",
            )
            .unwrap(),
        };
        store
            .load_children(&permit(), std::slice::from_ref(&twin))
            .await
            .unwrap();
        let before = store
            .child_record(&permit(), &twin.contactpoint_id)
            .await
            .unwrap();

        // The record is a confident match for the unshielded twin, and could be the shielded
        // child: it waits, held, and the twin is not touched.
        let report = import(store, "child_benefit", true, duplicate).await;
        assert_eq!(report.outcome.exceptions, 1, "{report:?}");
        assert_eq!(report.outcome.linked + report.outcome.created, 0);
        let after = store
            .child_record(&permit(), &twin.contactpoint_id)
            .await
            .unwrap();
        assert_eq!(after, before, "the unshielded record is not updated");

        // A record like the shielded child but not sure enough, from an authoritative source,
        // creates nothing.
        let unsure = "\
source_record_id,given_name,family_name,date_of_birth,gender,postcode
GRO-70,Amelia,Smith,2014-06-30,F,MK45 2XY
";
        let children_before = children(store).await;
        let report = import(store, "birth_registration", true, unsure).await;
        assert_eq!(report.outcome.created, 0, "{report:?}");
        assert_eq!(report.outcome.exceptions, 1);
        assert_eq!(children(store).await, children_before);
        let held: Vec<(String, String, bool)> = exceptions(store).await;
        assert!(
            held.iter()
                .all(|(reason, la, hold)| reason == "possibly_shielded"
                    && la == "E06000055"
                    && *hold),
            "{held:?}"
        );
        assert_eq!(held.len(), 2);

        // The shielded child's own supplier updating her keeps her shielded.
        let same = "\
source_record_id,given_name,middle_names,family_name,date_of_birth,gender,address_line1,address_line2,town,postcode
NHS-7,Amelia,Rose Olúwadámilọ́lá,Smith-Adeyemi,2014-06-30,F,14 Castle Road,Flat 2,Bedford,MK40 3PD
";
        let report = import(store, "nhs_demographics", true, same).await;
        assert_eq!(
            report.outcome.exceptions + report.outcome.linked,
            1,
            "{report:?}"
        );
        let still = store
            .child_record(&permit(), &shielded.contactpoint_id)
            .await
            .unwrap();
        assert!(still.shielded);
        assert_trail_intact(store).await;
    }
);

/// Every exception: its reason, its local authority and whether it is held for shielding.
async fn exceptions(store: &Store) -> Vec<(String, String, bool)> {
    store
        .supply_exceptions(&permit(), ExceptionQueue::Every, false, &listed_audit())
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                e.reason.code().to_owned(),
                e.local_authority
                    .map(|la| la.as_str().to_owned())
                    .unwrap_or_default(),
                e.shielding_hold,
            )
        })
        .collect()
}

async fn import_involvements(
    store: &Store,
    source: &str,
    csv: &str,
) -> contactpoint_intake::InvolvementReport {
    let settings = ImportSettings::system(SourceCode::parse(source).unwrap(), false);
    contactpoint_intake::import_involvements(
        store,
        &permit(),
        &settings,
        "involvements.csv",
        csv.as_bytes(),
        Format::Csv,
        test_now(),
        &mut |_| {},
    )
    .await
    .unwrap()
}

both_backends!(
    an_involvement_file_starts_updates_and_ends_involvements_and_reports_what_it_cannot_apply,
    setup = prepare,
    |store| {
        import(store, "birth_registration", true, BIRTHS).await;
        import(store, "local_systems", false, "source_record_id,given_name,family_name,date_of_birth,postcode\nLS-1,Amelia,Smith-Adeyemi,2014-06-30,MK40 3PD\n").await;
        execute_sql(
            store,
            "UPDATE services SET reference = '100001' WHERE name = 'Castle Lower School'",
        )
        .await
        .unwrap();
        execute_sql(
            store,
            "UPDATE services SET reference = 'CAMHS01' WHERE category = 'mental_health'",
        )
        .await
        .unwrap();
        let tobias = link(&links(store, "birth_registration").await, "GRO-2")
            .contactpoint_id
            .unwrap();
        let file = format!("\
source_record_id,child_source_record_id,contactpoint_id,service_reference,practitioner_given_name,practitioner_family_name,started_on,ended_on,lead_professional,caf_completed_on,sensitive_basis,consent_given_by,consent_given_on
INV-1,LS-1,,100001,Helen,Ward,2019-09-04,,Y,2025-02-01,,,
INV-2,,{},100001,,,2020-09-02,,N,,,,
INV-3,LS-1,,CAMHS01,,,2026-01-10,,N,,,,
INV-4,LS-1,,CAMHS01,Grace,Okafor,2026-01-10,,N,,consent,parent_carer,2026-01-08
INV-5,LS-9,,100001,,,2020-09-02,,N,,,,
INV-6,LS-1,,999999,,,2020-09-02,,N,,,,
INV-7,LS-1,,100001,Nobody,Known,2020-09-02,,N,,,,
", tobias.as_digits());
        let report = import_involvements(store, "local_systems", &file).await;
        assert_eq!(report.started, 3, "{report:?}");
        let refused: Vec<(u64, &str)> = report
            .rejected
            .iter()
            .map(|r| (r.line, r.field.as_str()))
            .collect();
        assert_eq!(
        refused,
        vec![
            (4, "sensitive_basis"),
            (6, "child_source_record_id"),
            (7, "service_reference"),
            (8, "practitioner_given_name"),
        ],
        "a sensitive service without a basis, an unknown child, service and practitioner are each refused"
    );
        let amelia_id = link(&links(store, "local_systems").await, "LS-1")
            .contactpoint_id
            .unwrap();
        let amelia = store.child_record(&permit(), &amelia_id).await.unwrap();
        assert_eq!(amelia.involvements.len(), 2);
        assert!(amelia
            .involvements
            .iter()
            .any(|i| i.lead_professional && i.caf_completed_on.is_some()));
        assert!(amelia
            .involvements
            .iter()
            .any(|i| i.sensitive_basis.is_some()));

        let again = import_involvements(store, "local_systems", &file).await;
        assert_eq!((again.started, again.updated, again.unchanged), (0, 0, 3));

        let ended = file.replace(
            "INV-1,LS-1,,100001,Helen,Ward,2019-09-04,,",
            "INV-1,LS-1,,100001,Helen,Ward,2019-09-04,2026-07-20,",
        );
        let report = import_involvements(store, "local_systems", &ended).await;
        assert_eq!((report.started, report.updated), (0, 1));
        let amelia = store.child_record(&permit(), &amelia_id).await.unwrap();
        assert!(amelia
            .involvements
            .iter()
            .any(|i| i.ended_on.map(|d| d.to_string()) == Some("2026-07-20".into())));
        assert_eq!(
            amelia.involvements.len(),
            2,
            "an update changes the involvement it made, never adds one"
        );
        assert_trail_intact(store).await;
    }
);

both_backends!(
    the_team_resolves_an_exception_by_linking_it_or_by_creating_a_child,
    setup = prepare,
    |store| {
        import(store, "birth_registration", true, BIRTHS).await;
        let local = "\
source_record_id,given_name,family_name,date_of_birth,postcode,school_urn,gp_practice_code
YS-5,Keziah,Ashworth-Mbeki,2012-01-19,MK40 2AA,109521,
YS-6,Tobias,Whitfield,2015-03-06,MK42 9QT,,E81001
";
        let report = import(store, "local_systems", false, local).await;
        assert_eq!(report.outcome.exceptions, 2, "{report:?}");
        let waiting = store
            .supply_exceptions(&permit(), ExceptionQueue::Every, false, &listed_audit())
            .await
            .unwrap();
        let audit = |e: &contactpoint_storage::supply::SupplyExceptionRecord| {
            contactpoint_domain::AuditEvent::new(
                test_now(),
                contactpoint_domain::AccessRoute::Web,
                "supply_exception_read",
                contactpoint_domain::Outcome::Success,
            )
            .with("exception", e.id)
        };
        let resolved = |action| {
            contactpoint_domain::AuditEvent::new(
                test_now(),
                contactpoint_domain::AccessRoute::Web,
                action,
                contactpoint_domain::Outcome::Success,
            )
        };
        let tobias = link(&links(store, "birth_registration").await, "GRO-2")
            .contactpoint_id
            .unwrap();
        for summary in &waiting {
            let exception = store
                .supply_exception(&permit(), ExceptionQueue::Every, summary.id, &audit)
                .await
                .unwrap();
            let decision = match exception
                .candidates
                .iter()
                .find(|(c, _)| c.contactpoint_id == tobias)
            {
                Some((candidate, _)) => contactpoint_intake::Decision::LinkTo(candidate.child_id),
                None => contactpoint_intake::Decision::Create,
            };
            let resolution = contactpoint_intake::resolution(&exception, decision).unwrap();
            store
                .resolve_supply_exception(
                    &permit(),
                    ExceptionQueue::Every,
                    exception.id,
                    &resolution,
                    None,
                    test_now(),
                    &resolved("supply_exception_resolved"),
                )
                .await
                .unwrap();
            let again = store
                .supply_exception(&permit(), ExceptionQueue::Every, summary.id, &audit)
                .await
                .unwrap();
            assert_eq!(
                contactpoint_intake::resolution(&again, decision).unwrap_err(),
                contactpoint_intake::ResolveError::AlreadyResolved
            );
        }
        let listed = links(store, "local_systems").await;
        assert_eq!(link(&listed, "YS-6").status, SupplyStatus::Linked);
        assert_eq!(link(&listed, "YS-6").contactpoint_id, Some(tobias));
        assert_eq!(link(&listed, "YS-5").status, SupplyStatus::Created);
        assert_eq!(children(store).await, 4);
        // The school and GP practice the decided records name are involvements, as an import
        // placing them would have made.
        assert_eq!(
            involvements_of(store, "local_systems", "YS-5").await,
            vec![(
                "Castle Lower School".to_owned(),
                false,
                "local_systems".to_owned()
            )]
        );
        assert_eq!(
            involvements_of(store, "local_systems", "YS-6").await,
            vec![(
                "Riverside Surgery".to_owned(),
                false,
                "local_systems".to_owned()
            )]
        );
        assert!(store
            .supply_exceptions(&permit(), ExceptionQueue::Every, false, &listed_audit())
            .await
            .unwrap()
            .is_empty());
        assert_trail_intact(store).await;
    }
);

both_backends!(
    a_new_child_without_a_postcode_is_placed_where_its_gp_practice_is_and_without_either_waits,
    setup = prepare,
    |store| {
        execute_sql(
            store,
            "UPDATE services SET reference = 'K81001' WHERE name = 'Castle Lower School'",
        )
        .await
        .unwrap();
        let file = "\
source_record_id,given_name,family_name,date_of_birth,gender,gp_practice_code
9434765919,Imogen,Hartley,2019-04-02,F,K81001
9434765920,Rufus,Hartley,2017-01-20,M,
";
        let report = import(store, "nhs_demographics", true, file).await;
        assert_eq!(
            (report.outcome.created, report.outcome.exceptions),
            (1, 1),
            "{report:?}"
        );
        let listed = links(store, "nhs_demographics").await;
        let imogen = store
            .child_record(
                &permit(),
                &link(&listed, "9434765919").contactpoint_id.unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(imogen.local_authority, sample_local_authority().code);
        assert_eq!(link(&listed, "9434765920").status, SupplyStatus::Exception);
        assert_eq!(
            exceptions(store).await,
            vec![("no_local_authority".to_owned(), String::new(), false)]
        );
        assert_trail_intact(store).await;
    }
);

async fn retry(store: &Store, source: &str, authoritative: bool) -> FileReport {
    let settings = ImportSettings::system(SourceCode::parse(source).unwrap(), authoritative);
    contactpoint_intake::retry_waiting(store, &permit(), &settings, test_now(), &mut |_| {})
        .await
        .unwrap()
}

both_backends!(
    a_twin_the_register_never_named_is_made_a_child_once_other_sources_each_hold_her_and_her_sister,
    setup = prepare,
    |store| {
        // Chloe was registered at birth; her twin Lily was not (born abroad, say).
        let births = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
GRO-1,Chloe,Townsend,2016-07-22,F,72 Forest Close,Bedford,MK40 3GY
";
        import(store, "birth_registration", true, births).await;
        // Lily's NHS record is hers alone, but beside Chloe (same family, address and
        // birthday, another given name) nobody can say she is not Chloe: she waits.
        let nhs = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
NHS-1,Chloe,Townsend,2016-07-22,F,72 Forest Close,Bedford,MK40 3GY
NHS-2,Lily,Townsend,2016-07-22,F,72 Forest Close,Bedford,MK40 3GY
";
        import(store, "nhs_demographics", true, nhs).await;
        assert_eq!(
            link(&links(store, "nhs_demographics").await, "NHS-2").status,
            SupplyStatus::Exception
        );
        // Tried again with nothing else known of her, she still waits.
        let alone = retry(store, "nhs_demographics", true).await;
        assert_eq!((alone.rows, alone.outcome.created), (1, 0));
        assert_eq!(children(store).await, 1);

        // The census and child benefit each send both girls: Chloe's records link, Lily's
        // wait (they may not make a child).
        let census = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
UPN-1,Chloe,Townsend,2016-07-22,F,72 Forest Close,Bedford,MK40 3GY
UPN-2,Lily,Townsend,2016-07-22,F,72 Forest Close,Bedford,MK40 3GY
";
        let benefit = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
CHB-1,CHLOE,TOWNSEND,2016-07-22,F,72 Forest Close,Bedford,MK40 3GY
CHB-2,LILY,TOWNSEND,2016-07-22,F,72 Forest Close,Bedford,MK40 3GY
";
        import(store, "schools_census", false, census).await;
        import(store, "child_benefit", false, benefit).await;
        for (source, id) in [("schools_census", "UPN-2"), ("child_benefit", "CHB-2")] {
            assert_eq!(
                link(&links(store, source).await, id).status,
                SupplyStatus::Exception
            );
        }

        // Were Lily Chloe, the census and child benefit would each have sent Chloe twice.
        let corroborated = retry(store, "nhs_demographics", true).await;
        assert_eq!(corroborated.outcome.created, 1, "{corroborated:?}");
        assert_eq!(children(store).await, 2);
        let lily = link(&links(store, "nhs_demographics").await, "NHS-2").contactpoint_id;
        assert!(lily.is_some());
        assert_ne!(
            lily,
            link(&links(store, "birth_registration").await, "GRO-1").contactpoint_id
        );
        // Her own census and benefit records then link to her.
        for (source, id) in [("schools_census", "UPN-2"), ("child_benefit", "CHB-2")] {
            let report = retry(store, source, false).await;
            assert_eq!(report.outcome.linked, 1, "{source}: {report:?}");
            let placed = link(&links(store, source).await, id).clone();
            assert_eq!(
                (placed.status, placed.contactpoint_id),
                (SupplyStatus::Linked, lily)
            );
        }
        assert_trail_intact(store).await;
    }
);

async fn every_exception(
    store: &Store,
) -> Vec<contactpoint_storage::supply::SupplyExceptionRecord> {
    store
        .supply_exceptions(&permit(), ExceptionQueue::Every, true, &listed_audit())
        .await
        .unwrap()
}

both_backends!(
    a_waiting_record_tried_again_links_to_the_child_another_source_brought_in_and_its_exception_closes,
    setup = prepare,
    |store| {
        // The school census may not create children: Nell waits until the register of births
        // brings her in.
        let census = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
A823456789012,Nell,Whitfield,2015-06-03,F,3 Mill Lane,Bedford,MK41 7HT
";
        let first = import(store, "schools_census", false, census).await;
        assert_eq!(first.outcome.exceptions, 1);
        let births = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
GRO-7,Nell,Whitfield,2015-06-03,F,3 Mill Lane,Bedford,MK41 7HT
";
        assert_eq!(import(store, "birth_registration", true, births).await.outcome.created, 1);

        let retried = retry(store, "schools_census", false).await;
        assert_eq!(
            (retried.rows, retried.outcome.linked, retried.outcome.exceptions_closed),
            (1, 1, 1),
            "{retried:?}"
        );
        let nell = link(&links(store, "birth_registration").await, "GRO-7").contactpoint_id;
        let census_links = links(store, "schools_census").await;
        let census_link = link(&census_links, "A823456789012");
        assert_eq!(census_link.status, SupplyStatus::Linked);
        assert_eq!(census_link.contactpoint_id, nell);
        let closed = every_exception(store).await;
        assert_eq!(closed.len(), 1);
        let resolved = closed[0].resolution.as_ref().expect("the exception is closed");
        assert_eq!(resolved.status, SupplyStatus::Linked);
        assert_eq!(Some(resolved.contactpoint_id), nell);
        assert_eq!(resolved.by_user_id, None, "closed by the import, not by a person");

        // Nothing waits now: trying again does nothing, and the file again changes nothing.
        assert_eq!(retry(store, "schools_census", false).await.rows, 0);
        let again = import(store, "schools_census", false, census).await;
        assert_eq!(again.outcome.unchanged, 1, "{again:?}");
        assert_trail_intact(store).await;
    }
);

both_backends!(
    a_scheduled_pass_tries_every_sources_waiting_records_each_with_the_authority_it_was_supplied_with,
    setup = prepare,
    |store| {
        // A birth registered at a postcode no authority is known for waits: the register may
        // create children, but nobody can say where to place this one yet.
        let births = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
GRO-8,Ada,Quayle,2016-12-10,F,1 Quay Street,Poole,BH15 1HJ
";
        assert_eq!(import(store, "birth_registration", true, births).await.outcome.exceptions, 1);
        // The census may not create children: Nell waits for the register to bring her in.
        let census = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
A823456789012,Nell,Whitfield,2015-06-03,F,3 Mill Lane,Bedford,MK41 7HT
";
        assert_eq!(import(store, "schools_census", false, census).await.outcome.exceptions, 1);
        let nell = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
GRO-7,Nell,Whitfield,2015-06-03,F,3 Mill Lane,Bedford,MK41 7HT
";
        assert_eq!(import(store, "birth_registration", true, nell).await.outcome.created, 1);
        execute_sql(
            store,
            "INSERT INTO postcode_districts (district, local_authority) VALUES ('BH15', 'E06000055')",
        )
        .await
        .unwrap();

        let passes = contactpoint_intake::retry_every_source(store, &permit(), test_now())
            .await
            .unwrap();
        let of = |source: &str| {
            passes
                .iter()
                .find(|(s, _)| s.as_str() == source)
                .map(|(_, report)| (report.rows, report.outcome.linked, report.outcome.created))
        };
        // The pass itself may not create children, but Ada was supplied by a source that
        // may: she is created, as `supply import` would have done had her district been known.
        assert_eq!(of("birth_registration"), Some((1, 0, 1)), "{passes:?}");
        assert_eq!(of("schools_census"), Some((1, 1, 0)), "{passes:?}");
        assert_eq!(passes.len(), 2, "sources with nothing waiting are left out");
        assert_eq!(link(&links(store, "birth_registration").await, "GRO-8").status, SupplyStatus::Created);
        let census_link = links(store, "schools_census").await;
        assert_eq!(
            link(&census_link, "A823456789012").contactpoint_id,
            link(&links(store, "birth_registration").await, "GRO-7").contactpoint_id
        );
        assert!(every_exception(store).await.iter().all(|e| e.resolution.is_some()));
        let retried: Vec<String> = batch_entries(store)
            .await
            .into_iter()
            .filter(|d| d.contains(contactpoint_intake::import::WAITING))
            .collect();
        assert_eq!(retried.len(), 2, "one audit entry for each source's batch: {retried:?}");

        let again = contactpoint_intake::retry_every_source(store, &permit(), test_now())
            .await
            .unwrap();
        assert!(again.is_empty(), "nothing waits now: {again:?}");
        assert_trail_intact(store).await;
    }
);

both_backends!(
    a_pass_over_records_that_would_wait_exactly_as_they_wait_writes_nothing_and_audits_nothing,
    setup = prepare,
    |store| {
        let census = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
A823456789012,Nell,Whitfield,2015-06-03,F,3 Mill Lane,Bedford,MK41 7HT
";
        assert_eq!(
            import(store, "schools_census", false, census)
                .await
                .outcome
                .exceptions,
            1
        );
        let entries = batch_entries(store).await.len();
        let waiting = every_exception(store).await;

        for _ in 0..2 {
            let pass = retry(store, "schools_census", false).await;
            assert_eq!(
                (
                    pass.rows,
                    pass.outcome.unchanged,
                    pass.outcome.exceptions,
                    pass.outcome.exceptions_refreshed
                ),
                (1, 1, 0, 0),
                "nothing new: the record waits as it waited: {pass:?}"
            );
        }
        assert_eq!(
            batch_entries(store).await.len(),
            entries,
            "no audit entry for a pass that changed nothing"
        );
        let after = every_exception(store).await;
        assert_eq!(after.len(), 1);
        assert_eq!(
            (
                after[0].id,
                after[0].reason,
                after[0].best_probability,
                &after[0].record
            ),
            (
                waiting[0].id,
                waiting[0].reason,
                waiting[0].best_probability,
                &waiting[0].record
            )
        );

        // Her twin brother is registered: he is a candidate now, so the exception is brought
        // up to date and the pass is audited.
        let brother = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
GRO-2,Tobias,Whitfield,2015-06-03,M,3 Mill Lane,Bedford,MK41 7HT
";
        assert_eq!(
            import(store, "birth_registration", true, brother)
                .await
                .outcome
                .created,
            1
        );
        let entries = batch_entries(store).await.len();
        let pass = retry(store, "schools_census", false).await;
        assert_eq!(
            (
                pass.outcome.unchanged,
                pass.outcome.exceptions,
                pass.outcome.exceptions_refreshed,
                pass.outcome.linked
            ),
            (0, 1, 1, 0),
            "a girl is not her twin brother, but he is worth showing the team: {pass:?}"
        );
        assert_eq!(batch_entries(store).await.len(), entries + 1);
        let refreshed = store
            .supply_exception(&permit(), ExceptionQueue::Every, waiting[0].id, &|_| {
                listed_audit()
            })
            .await
            .unwrap();
        assert_eq!(refreshed.candidates.len(), 1, "{refreshed:?}");
        assert_eq!(refreshed.candidates[0].0.given_name, "Tobias");
        // And once shown, the same pass again leaves it be.
        let pass = retry(store, "schools_census", false).await;
        assert_eq!(
            (pass.outcome.unchanged, pass.outcome.exceptions),
            (1, 0),
            "{pass:?}"
        );
        assert_eq!(batch_entries(store).await.len(), entries + 1);
        assert_trail_intact(store).await;
    }
);

both_backends!(
    a_record_sent_again_while_it_waits_updates_its_one_exception_instead_of_raising_another,
    setup = prepare,
    |store| {
        let census = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
A823456789012,Nell,Whitfield,2015-06-03,F,3 Mill Lane,Bedford,MK41 7HT
";
        import(store, "schools_census", false, census).await;
        let moved = census.replace(
            "3 Mill Lane,Bedford,MK41 7HT",
            "40 Park Avenue,Bedford,MK40 2PQ",
        );
        let second = import(store, "schools_census", false, &moved).await;
        assert_eq!(
            (
                second.outcome.exceptions,
                second.outcome.exceptions_refreshed
            ),
            (1, 1)
        );
        let waiting = every_exception(store).await;
        assert_eq!(waiting.len(), 1, "one exception for one record");
        assert!(waiting[0].resolution.is_none());
        assert!(
            waiting[0].record.contains("40 Park Avenue"),
            "the exception shows what the source says now: {}",
            waiting[0].record
        );
        let births = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
GRO-7,Nell,Whitfield,2015-06-03,F,40 Park Avenue,Bedford,MK40 2PQ
";
        import(store, "birth_registration", true, births).await;
        // A later change of the record, sent while it waits, links it and closes the exception.
        let corrected = moved.replace("Whitfield,2015-06-03,F", "Whitfield,2015-06-03,");
        let third = import(store, "schools_census", false, &corrected).await;
        assert_eq!(third.outcome.linked, 1, "{third:?}");
        let closed = every_exception(store).await;
        assert_eq!(closed.len(), 1);
        assert_eq!(
            closed[0].resolution.as_ref().map(|r| r.status),
            Some(SupplyStatus::Linked)
        );
        assert_eq!(retry(store, "schools_census", false).await.rows, 0);
        assert_trail_intact(store).await;
    }
);

both_backends!(
    a_parent_named_again_in_capitals_by_another_source_is_not_added_twice,
    setup = prepare,
    |store| {
        import(store, "birth_registration", true, BIRTHS).await;
        let benefit = "\
source_record_id,given_name,middle_names,family_name,date_of_birth,gender,address_line1,town,postcode,parent1_given_name,parent1_family_name,parent1_relationship
CHB40127782QX,AMELIA,ROSE,SMITH-ADEYEMI,2014-06-30,F,14 Castle Road,Bedford,MK40 3PD,FUNMILAYO,ADEYEMI,mother
";
        let report = import(store, "child_benefit", false, benefit).await;
        assert_eq!(
            (report.outcome.linked, report.outcome.updated),
            (1, 0),
            "{report:?}"
        );
        let amelia = store
            .child_record(
                &permit(),
                &link(&links(store, "birth_registration").await, "GRO-1")
                    .contactpoint_id
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(
            amelia.parents_carers.len(),
            1,
            "{:?}",
            amelia.parents_carers
        );
        assert_eq!(amelia.parents_carers[0].given_name.as_str(), "Funmilayo");
    }
);

both_backends!(
    a_load_from_its_own_copy_knows_the_parents_a_child_holds_and_adds_only_new_ones,
    setup = prepare,
    |store| {
        import_with(store, &in_memory("birth_registration"), BIRTHS).await;
        // The mother the register named, in capitals, and then a carer it did not name.
        let benefit = "\
source_record_id,given_name,middle_names,family_name,date_of_birth,gender,address_line1,town,postcode,parent1_given_name,parent1_family_name,parent1_relationship
CHB-1,AMELIA,ROSE,SMITH-ADEYEMI,2014-06-30,F,14 Castle Road,Bedford,MK40 3PD,FUNMILAYO,ADEYEMI,mother
CHB-2,AMELIA,ROSE,SMITH-ADEYEMI,2014-06-30,F,14 Castle Road,Bedford,MK40 3PD,GRACE,ADEYEMI,carer
CHB-3,AMELIA,ROSE,SMITH-ADEYEMI,2014-06-30,F,14 Castle Road,Bedford,MK40 3PD,GRACE,ADEYEMI,carer
";
        let report = import_with(store, &in_memory_from("child_benefit", false), benefit).await;
        assert_eq!(
            (report.outcome.linked, report.outcome.updated),
            (3, 1),
            "{report:?}"
        );
        let amelia = link(&links(store, "birth_registration").await, "GRO-1").contactpoint_id;
        let held: Vec<(String, String)> = store
            .child_record(&permit(), &amelia.unwrap())
            .await
            .unwrap()
            .parents_carers
            .iter()
            .map(|p| {
                (
                    p.given_name.as_str().to_owned(),
                    p.relationship.code().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            held,
            [("Funmilayo", "mother"), ("GRACE", "carer")]
                .map(|(g, r)| (g.to_owned(), r.to_owned())),
            "the mother once, the carer once"
        );
        assert_trail_intact(store).await;
    }
);

both_backends!(
    a_decision_to_link_to_a_child_merged_away_since_it_was_read_is_refused_and_changes_nothing,
    setup = prepare,
    |store| {
        import(store, "birth_registration", true, BIRTHS).await;
        let local = "\
source_record_id,given_name,family_name,date_of_birth,postcode
YS-6,Tobias,Whitfield,2015-03-06,MK42 9QT
";
        import(store, "local_systems", false, local).await;
        let waiting = store
            .supply_exceptions(&permit(), ExceptionQueue::Every, false, &listed_audit())
            .await
            .unwrap();
        let audit = |_: &contactpoint_storage::supply::SupplyExceptionRecord| listed_audit();
        let exception = store
            .supply_exception(&permit(), ExceptionQueue::Every, waiting[0].id, &audit)
            .await
            .unwrap();
        let (tobias, _) = exception.candidates.first().expect("Tobias is a candidate");
        let decision = contactpoint_intake::Decision::LinkTo(tobias.child_id);
        let resolution = contactpoint_intake::resolution(&exception, decision).unwrap();

        // Meanwhile Tobias's record is merged into Amelia's (wrongly, but it happens).
        let births = links(store, "birth_registration").await;
        let amelia = link(&births, "GRO-1").contactpoint_id.unwrap();
        store
            .merge_children(
                &permit(),
                None,
                &amelia,
                &tobias.contactpoint_id,
                None,
                test_now(),
                &listed_audit(),
            )
            .await
            .unwrap();

        let refused = store
            .resolve_supply_exception(
                &permit(),
                ExceptionQueue::Every,
                exception.id,
                &resolution,
                None,
                test_now(),
                &listed_audit(),
            )
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("merged"), "{refused}");
        let still = store
            .supply_exceptions(&permit(), ExceptionQueue::Every, false, &listed_audit())
            .await
            .unwrap();
        assert_eq!(still.len(), 1, "the exception still waits");
        assert_eq!(
            link(&links(store, "local_systems").await, "YS-6").status,
            SupplyStatus::Exception
        );
        assert_trail_intact(store).await;
    }
);

both_backends!(
    a_linked_child_is_never_moved_to_another_authority_by_its_gp_practice,
    setup = prepare,
    |store| {
        let mut central = sample_local_authority();
        central.code = contactpoint_domain::LocalAuthorityCode::parse("E06000056").unwrap();
        central.name = "Central Bedfordshire".into();
        store
            .load_local_authorities(&permit(), &[central])
            .await
            .unwrap();
        execute_sql(
            store,
            &format!(
                "UPDATE organisations SET local_authority = 'E06000056' WHERE id = \
                 (SELECT organisation_id FROM services WHERE reference = '{}')",
                contactpoint_test_support::SAMPLE_GP_PRACTICE_CODE
            ),
        )
        .await
        .unwrap();
        import(store, "birth_registration", true, BIRTHS).await;
        // Amelia has moved to a postcode whose district the directory does not know; her GP
        // practice is in Central Bedfordshire.
        let nhs = format!(
            "source_record_id,given_name,middle_names,family_name,date_of_birth,gender,address_line1,town,postcode,gp_practice_code\n\
             9434765919,Amelia,Rose,Smith-Adeyemi,2014-06-30,F,2 New Road,Flitwick,MK45 1AA,{}\n",
            contactpoint_test_support::SAMPLE_GP_PRACTICE_CODE
        );
        let report = import(store, "nhs_demographics", true, &nhs).await;
        assert_eq!(report.outcome.linked, 1, "{report:?}");
        let amelia = store
            .child_record(
                &permit(),
                &link(&links(store, "birth_registration").await, "GRO-1")
                    .contactpoint_id
                    .unwrap(),
            )
            .await
            .unwrap();
        match &amelia.address {
            contactpoint_domain::AddressState::Current { address } => {
                assert_eq!(address.postcode.as_str(), "MK45 1AA", "the move is taken")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            amelia.local_authority,
            sample_local_authority().code,
            "the postcode names no authority, and a GP practice does not move a child"
        );
        assert_trail_intact(store).await;
    }
);

both_backends!(
    one_identifier_sent_twice_in_one_batch_updates_the_child_its_first_row_created,
    setup = prepare,
    |store| {
        // The children a batch creates are written together; the second row must still find
        // the child the first one made, by its identifier, and move it.
        let file = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
GRO-1,Ada,Quarrie,2016-05-09,F,2 Ash Grove,Bedford,MK40 4AA
GRO-2,Tobias,Whitfield,2015-06-03,M,3 Mill Lane,Bedford,MK41 7HT
GRO-1,Beatrix,Zorn,2017-02-21,F,9 Elm Road,Bedford,MK42 9EE
";
        // The third row shares no search key with the first: only its identifier says it is
        // the child the first row made.
        let report = import(store, "birth_registration", true, file).await;
        assert_eq!(report.batches, 1);
        assert_eq!(
            (
                report.outcome.created,
                report.outcome.linked,
                report.outcome.updated
            ),
            (2, 1, 1),
            "{report:?}"
        );
        assert_eq!(children(store).await, 2);
        let listed = links(store, "birth_registration").await;
        assert_eq!(listed.len(), 2);
        let ada = store
            .child_record(&permit(), &link(&listed, "GRO-1").contactpoint_id.unwrap())
            .await
            .unwrap();
        assert_eq!(ada.address.address().unwrap().postcode.as_str(), "MK42 9EE");
        assert_eq!(
            (ada.given_name.as_str(), ada.family_name.as_str()),
            ("Beatrix", "Zorn")
        );
        assert_trail_intact(store).await;
    }
);

both_backends!(
    a_waiting_record_that_creates_its_child_when_tried_again_closes_its_exception_as_created,
    setup = prepare,
    |store| {
        // Nobody can say which authority ZZ9 is in until the district is known.
        let file = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
GRO-8,Wren,Ashdown,2018-03-12,F,1 Far Lane,Faraway,ZZ9 9ZZ
";
        let first = import(store, "birth_registration", true, file).await;
        assert_eq!(first.outcome.exceptions, 1, "{first:?}");
        execute_sql(
            store,
            "INSERT INTO postcode_districts (district, local_authority) VALUES ('ZZ9', 'E06000055')",
        )
        .await
        .unwrap();

        let retried = retry(store, "birth_registration", true).await;
        assert_eq!(
            (retried.outcome.created, retried.outcome.exceptions_closed),
            (1, 1),
            "{retried:?}"
        );
        let listed = links(store, "birth_registration").await;
        let wren = link(&listed, "GRO-8");
        assert_eq!(wren.status, SupplyStatus::Created);
        let closed = every_exception(store).await;
        let resolved = closed[0]
            .resolution
            .as_ref()
            .expect("the exception is closed");
        assert_eq!(resolved.status, SupplyStatus::Created);
        assert_eq!(Some(resolved.contactpoint_id), wren.contactpoint_id);
        assert_eq!(children(store).await, 1);
        assert_trail_intact(store).await;
    }
);

/// The involvements of a child, as `(service name, ended, source)`, in service order.
async fn involvements_of(store: &Store, source: &str, id: &str) -> Vec<(String, bool, String)> {
    let listed = links(store, source).await;
    let record = store
        .child_record(&permit(), &link(&listed, id).contactpoint_id.unwrap())
        .await
        .unwrap();
    let mut out: Vec<_> = record
        .involvements
        .iter()
        .map(|i| {
            (
                i.service.name.clone(),
                i.ended_on.is_some(),
                i.provenance.source.as_str().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

both_backends!(
    the_school_and_gp_practice_a_record_names_become_involvements_and_a_new_school_ends_the_old,
    setup = prepare,
    |store| {
        // A second school, for the child to move to.
        execute_sql(
            store,
            "INSERT INTO services (id, organisation_id, name, category, sensitive, reference) \
             SELECT 900, organisation_id, 'Harpur Middle School', 'secondary_school', FALSE, '136842' \
             FROM services WHERE reference = '109521'",
        )
        .await
        .unwrap();
        let nhs = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode,gp_practice_code,school_urn
9434765919,Tobias,Whitfield,2015-06-03,M,3 Mill Lane,Bedford,MK41 7HT,E81001,109521
";
        let report = import(store, "nhs_demographics", true, nhs).await;
        assert_eq!(report.outcome.services_started, 1, "{report:?}");
        // The NHS names the GP practice; a school it names is not taken as the child's.
        assert_eq!(
            involvements_of(store, "nhs_demographics", "9434765919").await,
            vec![(
                "Riverside Surgery".to_owned(),
                false,
                "nhs_demographics".to_owned()
            )]
        );

        let census = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode,school_urn
A823456789012,Tobias,Whitfield,2015-06-03,M,3 Mill Lane,Bedford,MK41 7HT,109521
";
        let report = import(store, "schools_census", false, census).await;
        assert_eq!(
            (report.outcome.linked, report.outcome.services_started),
            (1, 1),
            "{report:?}"
        );
        let moved = census.replace(",109521", ",136842");
        let report = import(store, "schools_census", false, &moved).await;
        assert_eq!(
            (
                report.outcome.services_started,
                report.outcome.services_ended
            ),
            (1, 1),
            "{report:?}"
        );
        assert_eq!(
            involvements_of(store, "schools_census", "A823456789012").await,
            vec![
                (
                    "Castle Lower School".to_owned(),
                    true,
                    "schools_census".to_owned()
                ),
                (
                    "Harpur Middle School".to_owned(),
                    false,
                    "schools_census".to_owned()
                ),
                (
                    "Riverside Surgery".to_owned(),
                    false,
                    "nhs_demographics".to_owned()
                ),
            ]
        );

        // A school involvement the census sent through its involvement file, with the lead
        // professional, is the file's to end: a child record naming another school leaves it.
        let tobias = link(&links(store, "schools_census").await, "A823456789012")
            .contactpoint_id
            .unwrap();
        let feed = format!("\
source_record_id,child_source_record_id,contactpoint_id,service_reference,practitioner_given_name,practitioner_family_name,started_on,ended_on,lead_professional,caf_completed_on,sensitive_basis,consent_given_by,consent_given_on
SC-INV-1,,{},109521,Helen,Ward,2024-09-04,,Y,,,,
", tobias.as_digits());
        assert_eq!(
            import_involvements(store, "schools_census", &feed)
                .await
                .started,
            1
        );
        let report = import(
            store,
            "schools_census",
            false,
            &moved.replace("Whitfield", "WHITFIELD"),
        )
        .await;
        assert_eq!(report.outcome.services_ended, 0, "{report:?}");
        assert_eq!(
            involvements_of(store, "schools_census", "A823456789012").await,
            vec![
                (
                    "Castle Lower School".to_owned(),
                    false,
                    "schools_census".to_owned()
                ),
                (
                    "Castle Lower School".to_owned(),
                    true,
                    "schools_census".to_owned()
                ),
                (
                    "Harpur Middle School".to_owned(),
                    false,
                    "schools_census".to_owned()
                ),
                (
                    "Riverside Surgery".to_owned(),
                    false,
                    "nhs_demographics".to_owned()
                ),
            ]
        );

        // A reference no service has is counted, and changes nothing.
        let unknown = census.replace(",109521", ",999999");
        let report = import(store, "schools_census", false, &unknown).await;
        assert_eq!(report.outcome.services_unknown, 1, "{report:?}");
        assert_eq!(report.outcome.services_ended, 0, "{report:?}");
        assert_trail_intact(store).await;
    }
);

/// Another writer half way through: a transaction holding the row `lock` (a statement on
/// `$1`) takes for `id`.
async fn writer_holding(
    pool: &sqlx::PgPool,
    lock: &'static str,
    id: i64,
) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut writer = pool.begin().await.unwrap();
    sqlx::query(lock)
        .bind(id)
        .execute(&mut *writer)
        .await
        .unwrap();
    writer
}

/// An import of `csv` from `source`, started on a task of its own and, half a second later,
/// still waiting (for what `waits_for` says).
async fn import_left_waiting(
    store: &Store,
    source: &'static str,
    authoritative: bool,
    csv: &'static str,
    waits_for: &str,
) -> tokio::task::JoinHandle<FileReport> {
    let importing = {
        let store = store.clone();
        tokio::spawn(async move { import(&store, source, authoritative, csv).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!importing.is_finished(), "{waits_for}");
    importing
}

/// A PostgreSQL test database prepared as every import test's is, and its pool; none when no
/// PostgreSQL is configured.
async fn prepared_postgres() -> Option<(contactpoint_test_support::TestDatabase, sqlx::PgPool)> {
    let db = contactpoint_test_support::TestDatabase::new(contactpoint_storage::Backend::Postgres)
        .await?;
    prepare(&db.store).await;
    let contactpoint_storage::Store::Postgres(pool) = &db.store else {
        unreachable!("a PostgreSQL test database")
    };
    let pool = pool.clone();
    Some((db, pool))
}

/// On PostgreSQL two imports can run at once. One that involves a child with its school while
/// another import's transaction is still starting the same involvement waits for that
/// transaction, then sees the involvement and does not start a second one.
#[tokio::test]
async fn an_import_waits_for_another_that_is_involving_the_same_child_and_never_doubles_it() {
    let Some((db, pool)) = prepared_postgres().await else {
        eprintln!("skipped on postgres: no test database configured");
        return;
    };
    let store = &db.store;
    let births = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode
BR1001,Tobias,Whitfield,2015-06-03,M,3 Mill Lane,Bedford,MK41 7HT
";
    assert_eq!(
        import(store, "birth_registration", true, births)
            .await
            .outcome
            .created,
        1
    );
    let (child_id, school_id): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT id FROM children), (SELECT id FROM services WHERE reference = '109521')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();

    // Another import, half way through: it holds the child and has started the school
    // involvement, not yet committed.
    let mut other = writer_holding(
        &pool,
        "SELECT id FROM children WHERE id = $1 FOR UPDATE",
        child_id,
    )
    .await;
    sqlx::query(
        "INSERT INTO involvements (id, child_id, service_id, started_on, lead_professional, source, supplied_at) \
         VALUES (990001, $1, $2, $3, FALSE, 'schools_census', $4)",
    )
    .bind(child_id)
    .bind(school_id)
    .bind(test_now().date_naive())
    .bind(test_now())
    .execute(&mut *other)
    .await
    .unwrap();

    // The census names the same school for Tobias.
    let census = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode,school_urn
SC2002,Tobias,Whitfield,2015-06-03,M,3 Mill Lane,Bedford,MK41 7HT,109521
";
    let importing = import_left_waiting(
        store,
        "schools_census",
        false,
        census,
        "the import waits for the transaction involving the same child",
    )
    .await;
    other.commit().await.unwrap();
    let report = importing.await.unwrap();
    assert_eq!(
        (report.outcome.linked, report.outcome.services_started),
        (1, 0),
        "{report:?}"
    );
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM involvements WHERE child_id = $1 AND service_id = $2 AND ended_on IS NULL",
    )
    .bind(child_id)
    .bind(school_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(open, 1, "one open involvement with the school, not two");
    assert_trail_intact(store).await;
    db.drop_database().await;
}

/// On PostgreSQL a batch claims its records' waiting exceptions before it numbers any child,
/// as a decision on an exception holds it and then numbers the child it creates: the two
/// take their locks in one order and never deadlock.
#[tokio::test]
async fn a_batch_waits_for_a_decision_on_its_records_exception_before_numbering_any_child() {
    let Some((db, pool)) = prepared_postgres().await else {
        eprintln!("skipped on postgres: no test database configured");
        return;
    };
    let store = &db.store;
    execute_sql(
        store,
        "UPDATE services SET reference = 'K81001' WHERE name = 'Castle Lower School'",
    )
    .await
    .unwrap();
    // Rufus has neither a postcode nor a GP practice: nobody can say where he lives.
    let alone = "\
source_record_id,given_name,family_name,date_of_birth,gender,gp_practice_code
9434765920,Rufus,Hartley,2017-01-20,M,
";
    assert_eq!(
        import(store, "nhs_demographics", true, alone)
            .await
            .outcome
            .exceptions,
        1
    );
    let exception_id: i64 = sqlx::query_scalar("SELECT id FROM supply_exceptions")
        .fetch_one(&pool)
        .await
        .unwrap();

    // A decision on his exception, half way through: it holds the exception.
    let mut deciding = writer_holding(
        &pool,
        "UPDATE supply_exceptions SET resolution = resolution WHERE id = $1",
        exception_id,
    )
    .await;

    // The NHS sends Imogen, new, and Rufus again with his GP practice: the batch claims
    // Rufus's exception before it numbers Imogen, so it waits for the decision holding nothing
    // the decision needs.
    let again = "\
source_record_id,given_name,family_name,date_of_birth,gender,gp_practice_code
9434765919,Imogen,Hartley,2019-04-02,F,K81001
9434765920,Rufus,Hartley,2017-01-20,M,K81001
";
    let importing = import_left_waiting(
        store,
        "nhs_demographics",
        true,
        again,
        "the batch waits for the exception",
    )
    .await;
    // The decision now numbers a child: the allocator is free, since the batch has numbered
    // nobody yet (before, the batch held it, and PostgreSQL ended the deadlock by rolling one
    // of the two back).
    sqlx::query("SET LOCAL lock_timeout = '200ms'")
        .execute(&mut *deciding)
        .await
        .unwrap();
    sqlx::query("UPDATE id_allocators SET next_id = next_id WHERE name = 'children'")
        .execute(&mut *deciding)
        .await
        .expect("the decision does not wait for the batch");
    assert!(!importing.is_finished(), "the batch still waits");
    deciding.rollback().await.unwrap();

    let report = importing
        .await
        .expect("the batch goes on once the decision ends");
    assert_eq!(
        (
            report.outcome.created,
            report.outcome.exceptions,
            report.outcome.exceptions_closed
        ),
        (2, 0, 1),
        "{report:?}"
    );
    assert_eq!(children(store).await, 2);
    assert!(exceptions(store).await.is_empty());
    assert_trail_intact(store).await;
    db.drop_database().await;
}

/// A batch can be rolled back as it commits, too: the child rows it locks to start the
/// involvements its records name are taken only then.
#[tokio::test]
async fn a_batch_rolled_back_to_end_a_deadlock_as_it_commits_is_placed_again() {
    let Some((db, pool)) = prepared_postgres().await else {
        eprintln!("skipped on postgres: no test database configured");
        return;
    };
    let store = &db.store;
    import(store, "birth_registration", true, BIRTHS).await;
    let tobias: i64 = sqlx::query_scalar(
        "SELECT child_id FROM supplied_records WHERE source = 'birth_registration' AND source_record_id = 'GRO-2'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();

    // A change to Tobias, half way through: it holds his row.
    let mut changing = writer_holding(
        &pool,
        "SELECT id FROM children WHERE id = $1 FOR UPDATE",
        tobias,
    )
    .await;

    // The NHS sends Imogen, new, then Tobias with his GP practice: the batch numbers Imogen
    // (holding the allocator of children's ids), links Tobias, and, as it commits, waits for
    // his row to start his GP practice's involvement.
    let nhs = "\
source_record_id,given_name,family_name,date_of_birth,gender,address_line1,town,postcode,gp_practice_code
9434765919,Imogen,Hartley,2019-04-02,F,1 Mill Lane,Bedford,MK41 7HT,
9434765920,Tobias,Whitfield,2015-06-03,M,3 Mill Lane,Bedford,MK41 7HT,E81001
";
    let importing = import_left_waiting(
        store,
        "nhs_demographics",
        true,
        nhs,
        "the batch waits for Tobias's row",
    )
    .await;
    // The change now needs the allocator the batch holds. PostgreSQL rolls back the batch,
    // which has waited longer; the change goes on.
    sqlx::query("UPDATE id_allocators SET next_id = next_id WHERE name = 'children'")
        .execute(&mut *changing)
        .await
        .expect("the batch, not the change, is rolled back");
    changing.rollback().await.unwrap();

    let report = importing.await.expect("the batch is placed again");
    assert_eq!(
        (
            report.outcome.created,
            report.outcome.linked,
            report.outcome.services_started
        ),
        (1, 1, 1),
        "{report:?}"
    );
    assert_eq!(children(store).await, 4);
    assert_eq!(
        involvements_of(store, "nhs_demographics", "9434765920")
            .await
            .len(),
        1
    );
    assert_trail_intact(store).await;
    db.drop_database().await;
}
