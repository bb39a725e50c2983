//! A bulk load's copy of the candidates (`Store::candidate_cache`): a record reaches from
//! memory the same children the database would hand it, children the load makes are in the
//! copy at once, and once anything else writes to the directory the load reads the database
//! again. On SQLite and on PostgreSQL.

use contactpoint_domain::{
    AccessRoute, AuditEvent, ChildRecord, ContactPointId, Outcome, Permit, SourceCode, SystemTask,
};
use contactpoint_storage::supply::{
    ChildChanges, IncomingRecord, LinkCandidate, Placement, PlacementContext, SupplyBatch,
};
use contactpoint_storage::{findable, CandidateCache, ExceptionQueue, Store};
use contactpoint_test_support::{both_backends, load_sample_catalogue, sample_child, test_now};

fn permit() -> Permit {
    Permit::system_bypass(SystemTask::TestFixture)
}

/// Two children of one name and birthday (twins, say), as a load would make them.
async fn twins(store: &Store) -> (ChildRecord, ChildRecord) {
    let [first, second] = namesakes(store).await;
    (first, second)
}

/// `N` children of one name and birthday, as a load would make them.
async fn namesakes<const N: usize>(store: &Store) -> [ChildRecord; N] {
    let (catalogue, ids) = load_sample_catalogue(store).await;
    std::array::from_fn(|n| {
        let mut child = sample_child(&catalogue, &ids, n as u64 + 1);
        child.involvements.clear();
        child
    })
}

fn record(id: &str, child: &ChildRecord) -> IncomingRecord {
    IncomingRecord {
        source_record_id: id.to_owned(),
        digest: format!("digest of {id}"),
        probe_keys: findable(child).index_keys(),
        postcode_district: None,
        service_references: Vec::new(),
        named_services: Vec::new(),
        chosen_ahead: None,
    }
}

/// Imports one birth registration: it creates `creates` when given, or links to its first
/// candidate when it has one; returns the ContactPoint IDs of the candidates it was handed.
async fn import(
    store: &Store,
    cache: Option<&mut CandidateCache>,
    incoming: IncomingRecord,
    creates: Option<ChildRecord>,
) -> Vec<ContactPointId> {
    import_from(
        store,
        cache,
        SourceCode::BIRTH_REGISTRATION,
        incoming,
        creates,
    )
    .await
    .iter()
    .map(|c| c.contactpoint_id)
    .collect()
}

/// Imports one record from `source`, as `import` does; returns the candidates it was handed.
async fn import_from(
    store: &Store,
    cache: Option<&mut CandidateCache>,
    source: &str,
    incoming: IncomingRecord,
    creates: Option<ChildRecord>,
) -> Vec<LinkCandidate> {
    import_batch(
        store,
        cache,
        source,
        vec![incoming],
        creates,
        ChildChanges::default(),
    )
    .await
}

/// Imports records from `source` in one batch: the first creates `creates` when given, every
/// other links to its first candidate bringing `changes`; returns the candidates the last
/// was handed.
async fn import_batch(
    store: &Store,
    cache: Option<&mut CandidateCache>,
    source: &str,
    records: Vec<IncomingRecord>,
    creates: Option<ChildRecord>,
    changes: ChildChanges,
) -> Vec<LinkCandidate> {
    let mut creates = creates;
    let planned = records
        .into_iter()
        .map(|record| match creates.take() {
            Some(child) => (record, Plan::Create(child)),
            None => (record, Plan::Link(changes.clone())),
        })
        .collect();
    import_planned(store, cache, source, planned)
        .await
        .pop()
        .unwrap_or_default()
}

/// What a planned batch does with one record.
enum Plan {
    /// Makes this child.
    Create(ChildRecord),
    /// Links to the first candidate the record is handed, bringing these changes.
    Link(ChildChanges),
    /// Links to the last candidate the record is handed (the one numbered last), bringing
    /// these changes.
    LinkLast(ChildChanges),
    /// Waits in an exception naming every candidate the record is handed.
    Wait,
}

/// Imports records from `source` in one batch, each placed as its plan says; returns the
/// candidates each record was handed, in the records' order.
async fn import_planned(
    store: &Store,
    cache: Option<&mut CandidateCache>,
    source: &str,
    planned: Vec<(IncomingRecord, Plan)>,
) -> Vec<Vec<LinkCandidate>> {
    let source = SourceCode::parse(source).unwrap();
    let (records, plans): (Vec<_>, Vec<_>) = planned.into_iter().unzip();
    let batch = planned_batch(&source, records);
    let mut handed = Vec::new();
    store
        .import_supply_batch(
            &permit(),
            &batch,
            cache,
            &mut planner(plans, &mut handed),
            &batch_audit,
        )
        .await
        .unwrap();
    handed
}

/// A batch of `records` from `source`, supplied now by a source that may create children.
fn planned_batch(source: &SourceCode, records: Vec<IncomingRecord>) -> SupplyBatch<'_> {
    SupplyBatch {
        source,
        records,
        rejected_ids: Vec::new(),
        supplied_at: test_now(),
        authoritative: true,
        retry_waiting: false,
        decided_at: test_now(),
        supplier_account_id: None,
    }
}

/// Places each record as its plan says, noting in `handed` the candidates it was handed.
fn planner(
    plans: Vec<Plan>,
    handed: &mut Vec<Vec<LinkCandidate>>,
) -> impl FnMut(&PlacementContext<'_>) -> Placement + Send + '_ {
    use contactpoint_storage::supply::{ExceptionReason, NewException};
    let mut plans = plans.into_iter();
    move |context: &PlacementContext<'_>| {
        let candidates: Vec<LinkCandidate> = context
            .candidates
            .iter()
            .map(|c| LinkCandidate::clone(c))
            .collect();
        let placement = match plans.next().expect("a plan for every record") {
            Plan::Create(child) => Placement::Create(Box::new(child)),
            Plan::Link(changes) => Placement::Link {
                child_id: candidates.first().expect("a candidate to link to").child_id,
                changes,
            },
            Plan::LinkLast(changes) => Placement::Link {
                child_id: candidates.last().expect("a candidate to link to").child_id,
                changes,
            },
            Plan::Wait => Placement::Exception(NewException {
                local_authority: None,
                reason: ExceptionReason::Ambiguous,
                shielding_hold: false,
                record: "{}".to_owned(),
                candidates: candidates.iter().map(|c| (c.child_id, 0.5)).collect(),
            }),
        };
        handed.push(candidates);
        placement
    }
}

/// Every batch's audit entry.
fn batch_audit(_: &contactpoint_storage::supply::BatchSummary) -> Option<AuditEvent> {
    Some(AuditEvent::new(
        test_now(),
        AccessRoute::System,
        "supply_batch_imported",
        Outcome::Success,
    ))
}

/// The database id of each child the directory holds, by ContactPoint ID, as a copy read
/// afresh gives them.
async fn database_ids(store: &Store) -> std::collections::HashMap<ContactPointId, i64> {
    let read_again = store.candidate_cache(&permit()).await.unwrap();
    read_again
        .child_ids()
        .map(|id| (read_again.held(id).unwrap().contactpoint_id, id))
        .collect()
}

/// The register's word that a child moved to 2 Kings Road, Bedford, on 1 October 2026.
fn moved_to_kings_road() -> ChildChanges {
    use contactpoint_domain::{Address, Provenance};
    use contactpoint_storage::supply::AddressChange;
    ChildChanges {
        address: Some(AddressChange {
            address: Address::parse("2 Kings Road", None, "Bedford", "MK42 9AA").unwrap(),
            since: chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            provenance: Provenance::new(
                SourceCode::parse(SourceCode::BIRTH_REGISTRATION).unwrap(),
                test_now(),
            ),
            local_authority: None,
        }),
        ..ChildChanges::default()
    }
}

/// A child a load has made from her birth registration, and the load's copy.
async fn registered_by_a_load(store: &Store) -> (ChildRecord, CandidateCache) {
    let (first, _, cache) = twin_registered_by_a_load(store).await;
    (first, cache)
}

/// Twins, the first of whom a load has made from her birth registration, and the load's copy.
async fn twin_registered_by_a_load(store: &Store) -> (ChildRecord, ChildRecord, CandidateCache) {
    let (first, second) = twins(store).await;
    let mut cache = store.candidate_cache(&permit()).await.unwrap();
    import(
        store,
        Some(&mut cache),
        record("GRO-1", &first),
        Some(first.clone()),
    )
    .await;
    (first, second, cache)
}

/// A child as a copy read afresh from the database holds her.
async fn as_the_database_holds(store: &Store, child_id: i64) -> String {
    let read_again = store.candidate_cache(&permit()).await.unwrap();
    format!("{:?}", read_again.held(child_id).expect("in the database"))
}

/// The codes of the sources a candidate is supplied by, as it holds them.
fn suppliers(candidate: &LinkCandidate) -> Vec<&str> {
    candidate.supplied_by.iter().map(|s| s.as_str()).collect()
}

/// Requires the copy to hold the child exactly as a copy read afresh from the database does.
async fn assert_held_as_the_database_holds(store: &Store, cache: &CandidateCache, child_id: i64) {
    assert_eq!(
        format!("{:?}", cache.held(child_id).expect("held")),
        as_the_database_holds(store, child_id).await,
        "the copy holds the child exactly as the database does"
    );
}

both_backends!(
    a_load_reads_its_candidates_from_memory_until_something_else_writes_to_the_directory,
    |store| {
        let (first, second) = twins(store).await;
        let mut cache = store.candidate_cache(&permit()).await.unwrap();
        assert!(cache.is_empty() && cache.trusted());

        // The load makes the first twin: it is in the copy at once, with its keys.
        assert!(import(
            store,
            Some(&mut cache),
            record("GRO-1", &first),
            Some(first.clone())
        )
        .await
        .is_empty());
        assert_eq!(cache.len(), 1);
        let handed = import(store, Some(&mut cache), record("GRO-1b", &first), None).await;
        assert_eq!(handed, vec![first.contactpoint_id], "found in memory");
        assert!(cache.trusted());

        // Something else makes the second twin: the copy does not hold it, and the load
        // notices at its next batch and asks the database.
        import(store, None, record("GRO-2", &second), Some(second.clone())).await;
        let handed = import(store, Some(&mut cache), record("GRO-2b", &second), None).await;
        assert!(
            handed.contains(&second.contactpoint_id),
            "read from the database: {handed:?}"
        );
        assert_eq!(handed.len(), 2);
        assert!(
            !cache.trusted(),
            "the copy is set aside for the rest of the load"
        );

        // A copy read now holds both, and hands a record the same children the database does.
        let mut fresh = store.candidate_cache(&permit()).await.unwrap();
        assert_eq!(fresh.len(), 2);
        let from_memory = import(store, Some(&mut fresh), record("GRO-3", &second), None).await;
        let from_database = import(store, None, record("GRO-4", &second), None).await;
        assert_eq!(from_memory, from_database);
        assert!(fresh.trusted());
    }
);

both_backends!(
    a_child_linked_without_changes_is_held_as_the_database_holds_it_with_its_new_supplier,
    |store| {
        let (first, mut cache) = registered_by_a_load(store).await;
        // The schools census links a record to her, bringing nothing new: the copy is not
        // read again, it notes the supplier.
        let handed = import_from(
            store,
            Some(&mut cache),
            SourceCode::SCHOOLS_CENSUS,
            record("SC-1", &first),
            None,
        )
        .await;
        assert_eq!(handed.len(), 1);
        assert!(cache.trusted());
        let child_id = handed[0].child_id;
        let held = cache.held(child_id).expect("held");
        assert_eq!(
            suppliers(held),
            [SourceCode::BIRTH_REGISTRATION, SourceCode::SCHOOLS_CENSUS]
        );
        let in_database = as_the_database_holds(store, child_id).await;
        assert_eq!(
            format!("{held:?}"),
            in_database,
            "the copy holds the child exactly as the database does"
        );
        // A second record from the census is handed her with the census among her suppliers.
        let handed = import_from(
            store,
            Some(&mut cache),
            SourceCode::SCHOOLS_CENSUS,
            record("SC-2", &first),
            None,
        )
        .await;
        assert_eq!(format!("{:?}", handed[0]), in_database);
    }
);

both_backends!(
    a_child_made_earlier_in_a_batch_is_handed_to_a_later_record_from_the_copy_as_the_database_holds_it,
    |store| {
        let (first, _) = twins(store).await;
        let mut cache = store.candidate_cache(&permit()).await.unwrap();
        // One batch: the first registration makes her, the second (sent under another
        // identifier) reaches her, handed from the copy.
        let handed = import_batch(
            store,
            Some(&mut cache),
            SourceCode::BIRTH_REGISTRATION,
            vec![record("GRO-1", &first), record("GRO-1b", &first)],
            Some(first.clone()),
            ChildChanges::default(),
        )
        .await;
        assert_eq!(handed.len(), 1);
        assert!(cache.trusted());
        let child_id = handed[0].child_id;
        let in_database = as_the_database_holds(store, child_id).await;
        assert_eq!(
            format!("{:?}", handed[0]),
            in_database,
            "handed as the database holds her once the batch is in"
        );
        assert_eq!(format!("{:?}", cache.held(child_id).expect("held")), in_database);
    }
);

both_backends!(
    a_child_given_only_a_new_carer_is_held_as_the_database_holds_it,
    |store| {
        let (first, mut cache) = registered_by_a_load(store).await;
        // Child benefit links a record naming a carer she did not have: her record is
        // updated, but nothing matching compares, so the copy is not read again.
        let mut carer = first.parents_carers[0].clone();
        carer.given_name = contactpoint_domain::GivenName::parse("Grace").unwrap();
        let handed = import_batch(
            store,
            Some(&mut cache),
            SourceCode::CHILD_BENEFIT,
            vec![record("CB-1", &first)],
            None,
            ChildChanges {
                parents_carers: vec![carer],
                ..ChildChanges::default()
            },
        )
        .await;
        let child_id = handed[0].child_id;
        let carers = store
            .child_record(&permit(), &first.contactpoint_id)
            .await
            .unwrap()
            .parents_carers;
        assert!(
            carers.iter().any(|c| c.given_name.as_str() == "Grace"),
            "the carer was added"
        );
        assert_held_as_the_database_holds(store, &cache, child_id).await;
    }
);

both_backends!(
    a_child_a_load_makes_is_held_from_its_record_exactly_as_the_database_holds_it,
    |store| {
        let (first, second) = twins(store).await;
        // Supplied at a moment finer than PostgreSQL keeps, with a date of death and no
        // address; her twin with nothing but the required values, shielded.
        let at = test_now() + chrono::Duration::nanoseconds(123_456_789);
        let mut with_death = first.clone();
        for provenance in [
            &mut with_death.provenance.name,
            &mut with_death.provenance.gender,
            &mut with_death.provenance.date_of_birth,
            &mut with_death.provenance.address,
        ] {
            provenance.supplied_at = at;
        }
        with_death.date_of_death = Some(chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap());
        with_death.provenance.date_of_death = Some(contactpoint_domain::Provenance::new(
            SourceCode::parse(SourceCode::NHS_DEMOGRAPHICS).unwrap(),
            at,
        ));
        with_death.address = contactpoint_domain::AddressState::NoKnownAddress;
        with_death.address_history.clear();
        let mut bare = second.clone();
        bare.middle_names = None;
        bare.former_names.clear();
        bare.parents_carers.clear();
        bare.shielded = true;

        let mut cache = store.candidate_cache(&permit()).await.unwrap();
        for (id, child) in [("GRO-1", &with_death), ("GRO-2", &bare)] {
            import(
                store,
                Some(&mut cache),
                record(id, child),
                Some(child.clone()),
            )
            .await;
        }
        assert_eq!(cache.len(), 2);
        let read_again = store.candidate_cache(&permit()).await.unwrap();
        for id in cache.child_ids() {
            assert_eq!(
                format!("{:?}", cache.held(id).expect("held")),
                format!("{:?}", read_again.held(id).expect("in the database")),
                "the copy holds each child exactly as the database does"
            );
        }
    }
);

both_backends!(
    a_child_a_record_renames_moves_and_records_as_died_is_held_exactly_as_the_database_holds_it,
    |store| {
        use contactpoint_domain::{Address, FamilyName, GivenName, Provenance};
        use contactpoint_storage::supply::{AddressChange, NameChange};
        let (first, mut cache) = registered_by_a_load(store).await;
        // The NHS, at a moment finer than PostgreSQL keeps: a new family name (the old one
        // kept as former, given again), a move to another district, a date of death, a
        // mother already held written in capitals and a new carer named twice.
        let nhs = || {
            Provenance::new(
                SourceCode::parse(SourceCode::NHS_DEMOGRAPHICS).unwrap(),
                test_now() + chrono::Duration::nanoseconds(987_654_321),
            )
        };
        let former = contactpoint_domain::FormerName {
            given_name: None,
            family_name: first.family_name.clone(),
            provenance: nhs(),
        };
        let mut mother = first.parents_carers[0].clone();
        mother.given_name = GivenName::parse("FUNMILAYO").unwrap();
        let mut carer = first.parents_carers[0].clone();
        carer.given_name = GivenName::parse("Grace").unwrap();
        let changes = ChildChanges {
            name: Some(NameChange {
                given_name: first.given_name.clone(),
                middle_names: None,
                family_name: FamilyName::parse("Okafor").unwrap(),
                provenance: nhs(),
            }),
            gender: None,
            date_of_birth: Some((chrono::NaiveDate::from_ymd_opt(2014, 6, 29).unwrap(), nhs())),
            address: Some(AddressChange {
                address: Address::parse("2 Kings Road", None, "Bedford", "MK42 9AA").unwrap(),
                since: chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
                provenance: nhs(),
                local_authority: None,
            }),
            date_of_death: Some((chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(), nhs())),
            former_names: vec![former.clone(), former],
            parents_carers: vec![mother, carer.clone(), carer],
        };
        let handed = import_batch(
            store,
            Some(&mut cache),
            SourceCode::NHS_DEMOGRAPHICS,
            vec![record("NHS-1", &first)],
            None,
            changes,
        )
        .await;
        assert!(cache.trusted());
        let child_id = handed[0].child_id;
        let held = cache.held(child_id).expect("held");
        assert_eq!(held.family_name, "Okafor");
        assert_eq!(
            held.parents.len(),
            3,
            "the new carer once, the mother not again"
        );
        assert_eq!(
            format!("{held:?}"),
            as_the_database_holds(store, child_id).await,
            "the copy holds her exactly as the database does"
        );
    }
);

both_backends!(
    a_later_record_of_a_batch_brings_its_values_to_a_child_made_earlier_in_it,
    |store| {
        use contactpoint_domain::GivenName;
        let (first, _) = twins(store).await;
        let mut cache = store.candidate_cache(&permit()).await.unwrap();
        let mut carer = first.parents_carers[0].clone();
        carer.given_name = GivenName::parse("Grace").unwrap();
        let moved = ChildChanges {
            parents_carers: vec![carer],
            ..moved_to_kings_road()
        };
        // One batch: the first registration makes her; the second, sent under another
        // identifier, is handed her from the copy before she is written, and is linked to
        // her with a move and a carer.
        let handed = import_planned(
            store,
            Some(&mut cache),
            SourceCode::BIRTH_REGISTRATION,
            vec![
                (record("GRO-1", &first), Plan::Create(first.clone())),
                (record("GRO-1b", &first), Plan::Link(moved)),
            ],
        )
        .await;
        assert_eq!(
            handed[1].len(),
            1,
            "the child made earlier in the batch is handed over"
        );
        assert_eq!(handed[1][0].contactpoint_id, first.contactpoint_id);
        let written = store
            .child_record(&permit(), &first.contactpoint_id)
            .await
            .unwrap();
        assert_eq!(
            written.address.address().map(|a| a.postcode.as_str()),
            Some("MK42 9AA"),
            "the move is written"
        );
        assert_eq!(
            written
                .address_history
                .last()
                .map(|h| h.address.postcode.as_str()),
            Some("MK40 3PD"),
            "the address she was made with is closed"
        );
        assert!(
            written
                .parents_carers
                .iter()
                .any(|c| c.given_name.as_str() == "Grace"),
            "the carer is written"
        );
        assert!(cache.trusted());
        let child_id = handed[1][0].child_id;
        assert_held_as_the_database_holds(store, &cache, child_id).await;
    }
);

both_backends!(
    a_later_record_of_a_batch_may_wait_in_an_exception_naming_a_child_made_earlier_in_it,
    |store| {
        let (first, _) = twins(store).await;
        let mut cache = store.candidate_cache(&permit()).await.unwrap();
        let handed = import_planned(
            store,
            Some(&mut cache),
            SourceCode::BIRTH_REGISTRATION,
            vec![
                (record("GRO-1", &first), Plan::Create(first.clone())),
                (record("GRO-1b", &first), Plan::Wait),
            ],
        )
        .await;
        assert_eq!(handed[1].len(), 1);
        let look = AuditEvent::new(
            test_now(),
            AccessRoute::System,
            "supply_exceptions_viewed",
            Outcome::Success,
        );
        let waiting = store
            .supply_exceptions(&permit(), ExceptionQueue::Every, false, &look)
            .await
            .unwrap();
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].source_record_id, "GRO-1b");
        let exception = store
            .supply_exception(&permit(), ExceptionQueue::Every, waiting[0].id, &|_| {
                look.clone()
            })
            .await
            .unwrap();
        let named: Vec<ContactPointId> = exception
            .candidates
            .iter()
            .map(|(c, _)| c.contactpoint_id)
            .collect();
        assert_eq!(
            named,
            vec![first.contactpoint_id],
            "it names the child made before it"
        );
        assert!(cache.trusted());
    }
);

both_backends!(
    a_batch_numbers_the_children_it_makes_in_the_order_it_makes_them_and_leaves_no_gap,
    |store| {
        let [first, second, third, fourth, fifth] = namesakes(store).await;
        let mut cache = store.candidate_cache(&permit()).await.unwrap();
        let batches = vec![
            // Two children of one name and birthday: the second's keys reach the first before
            // either is written, and both are written as the batch ends.
            vec![
                (record("GRO-1", &first), Plan::Create(first.clone())),
                (record("GRO-2", &second), Plan::Create(second.clone())),
            ],
            // A third, a record linked to her (so she is written there and then), a fourth.
            vec![
                (record("GRO-3", &third), Plan::Create(third.clone())),
                (
                    record("GRO-3b", &third),
                    Plan::LinkLast(ChildChanges::default()),
                ),
                (record("GRO-4", &fourth), Plan::Create(fourth.clone())),
            ],
            // A fifth: no id was left unused before it.
            vec![(record("GRO-5", &fifth), Plan::Create(fifth.clone()))],
        ];
        for planned in batches {
            import_planned(
                store,
                Some(&mut cache),
                SourceCode::BIRTH_REGISTRATION,
                planned,
            )
            .await;
        }
        let ids = database_ids(store).await;
        let numbered: Vec<i64> = [&first, &second, &third, &fourth, &fifth]
            .iter()
            .map(|c| ids[&c.contactpoint_id])
            .collect();
        let first_id = numbered[0];
        assert_eq!(
            numbered,
            (first_id..first_id + 5).collect::<Vec<_>>(),
            "numbered one after another, in the order they were made"
        );
        assert!(cache.trusted());
        assert_eq!(cache.len(), 5);
        for id in cache.child_ids() {
            assert_held_as_the_database_holds(store, &cache, id).await;
        }
    }
);

both_backends!(
    a_child_given_a_fresh_contactpoint_id_as_a_later_record_is_linked_to_her_is_held_as_written,
    |store| {
        let (first, second, mut cache) = twin_registered_by_a_load(store).await;
        // The register makes a child whose ContactPoint ID is already her namesake's (random
        // IDs collide now and then at national scale); a later record of the batch moves her,
        // so she is written, given a fresh ID and read back, before it is linked to her.
        let clashing = ChildRecord {
            contactpoint_id: first.contactpoint_id,
            ..second.clone()
        };
        let moved = moved_to_kings_road();
        let handed = import_planned(
            store,
            Some(&mut cache),
            SourceCode::BIRTH_REGISTRATION,
            vec![
                (record("GRO-2", &second), Plan::Create(clashing)),
                (record("GRO-2b", &second), Plan::LinkLast(moved)),
            ],
        )
        .await;
        let child_id = handed[1].last().expect("handed her").child_id;
        let held = cache.held(child_id).expect("held");
        assert_ne!(held.contactpoint_id, first.contactpoint_id, "a fresh ID");
        assert_eq!(
            held.address.as_ref().map(|a| a.postcode.as_str()),
            Some("MK42 9AA")
        );
        assert!(cache.trusted());
        assert_held_as_the_database_holds(store, &cache, child_id).await;
    }
);

both_backends!(
    a_later_record_of_a_batch_is_handed_a_child_an_earlier_one_was_linked_to_with_that_supplier,
    |store| {
        let (first, mut cache) = registered_by_a_load(store).await;
        // Two census records in one batch reach her; the first is linked to her, bringing
        // nothing new.
        let handed = import_batch(
            store,
            Some(&mut cache),
            SourceCode::SCHOOLS_CENSUS,
            vec![record("SC-1", &first), record("SC-2", &first)],
            None,
            ChildChanges::default(),
        )
        .await;
        assert_eq!(handed.len(), 1);
        assert_eq!(
            suppliers(&handed[0]),
            [SourceCode::BIRTH_REGISTRATION, SourceCode::SCHOOLS_CENSUS],
            "the second is handed her with the census among her suppliers"
        );
        assert_eq!(
            format!("{:?}", handed[0]),
            as_the_database_holds(store, handed[0].child_id).await
        );
        assert_held_as_the_database_holds(store, &cache, handed[0].child_id).await;
    }
);

both_backends!(
    a_batch_placed_is_seen_by_nobody_until_it_finishes_and_dropped_unfinished_leaves_nothing,
    |store| {
        let [first, second, third] = namesakes(store).await;
        let mut cache = store.candidate_cache(&permit()).await.unwrap();
        let source = SourceCode::parse(SourceCode::BIRTH_REGISTRATION).unwrap();

        // Placed: the copy holds her at once, but is not trusted, and the directory does not
        // hold her, until the batch has finished and the copy has taken in what it wrote.
        let batch = planned_batch(&source, vec![record("GRO-1", &first)]);
        let mut handed = Vec::new();
        let placed = store
            .place_supply_batch(
                &permit(),
                &batch,
                Some(&mut cache),
                &mut planner(vec![Plan::Create(first.clone())], &mut handed),
            )
            .await
            .unwrap();
        assert!(
            !cache.trusted(),
            "a copy is not placed from while a batch commits"
        );
        let made = cache
            .child_ids()
            .next()
            .expect("the copy holds the child made");
        assert!(
            database_ids(store).await.is_empty(),
            "nothing is committed before the batch finishes"
        );
        let finished = placed.finish(batch_audit).await.unwrap();
        let summary = finished.settle_copy(Some(&mut cache));
        assert_eq!(summary.created, 1);
        assert!(cache.trusted());
        assert_eq!(database_ids(store).await[&first.contactpoint_id], made);
        assert_held_as_the_database_holds(store, &cache, made).await;

        // Dropped unfinished: the child it made and the id it took are rolled back.
        let batch = planned_batch(&source, vec![record("GRO-2", &second)]);
        let placed = store
            .place_supply_batch(
                &permit(),
                &batch,
                None,
                &mut planner(vec![Plan::Create(second.clone())], &mut handed),
            )
            .await
            .unwrap();
        drop(placed);
        let held = database_ids(store).await;
        assert!(!held.contains_key(&second.contactpoint_id));
        assert_eq!(held.len(), 1);

        // The next child takes the id the dropped batch gave her, leaving no gap.
        let batch = planned_batch(&source, vec![record("GRO-3", &third)]);
        let placed = store
            .place_supply_batch(
                &permit(),
                &batch,
                None,
                &mut planner(vec![Plan::Create(third.clone())], &mut handed),
            )
            .await
            .unwrap();
        placed.finish(batch_audit).await.unwrap().settle_copy(None);
        assert_eq!(database_ids(store).await[&third.contactpoint_id], made + 1);
    }
);
