//! Merging two records of one child and splitting them back, on SQLite and PostgreSQL.

use contactpoint_domain::{AccessRoute, AuditEvent, Outcome, Permit, SystemTask};
use contactpoint_storage::{StorageError, Store};
use contactpoint_test_support::{both_backends, load_sample_catalogue, sample_child, test_now};

fn permit() -> Permit {
    Permit::system_bypass(SystemTask::TestFixture)
}

fn audit(action: &'static str) -> AuditEvent {
    AuditEvent::new(test_now(), AccessRoute::Web, action, Outcome::Success)
}

/// Two records of one child: the sample child, and a second record of her under a
/// misspelt name with one involvement and no shielding.
async fn two_records(
    store: &Store,
) -> (
    contactpoint_domain::ChildRecord,
    contactpoint_domain::ChildRecord,
) {
    let (catalogue, ids) = load_sample_catalogue(store).await;
    let mut first = sample_child(&catalogue, &ids, 1);
    first.shielded = true;
    let mut second = sample_child(&catalogue, &ids, 2);
    second.given_name = contactpoint_domain::GivenName::parse("Emilia").unwrap();
    second.former_names.clear();
    second.parents_carers.truncate(1);
    second.involvements.truncate(1);
    store
        .load_children(&permit(), &[first.clone(), second.clone()])
        .await
        .unwrap();
    let first = store
        .child_record(&permit(), &first.contactpoint_id)
        .await
        .unwrap();
    let second = store
        .child_record(&permit(), &second.contactpoint_id)
        .await
        .unwrap();
    (first, second)
}

both_backends!(
    a_merge_gathers_both_records_on_the_survivor_and_the_retired_id_leads_there,
    |store| {
        let (survivor, retired) = two_records(store).await;
        store
            .merge_children(
                &permit(),
                None,
                &retired.contactpoint_id,
                &survivor.contactpoint_id,
                None,
                test_now(),
                &audit("children_merged"),
            )
            .await
            .unwrap();
        let merged = store
            .child_record(&permit(), &retired.contactpoint_id)
            .await
            .unwrap();
        assert_eq!(
            merged.involvements.len(),
            survivor.involvements.len() + retired.involvements.len(),
            "every involvement is kept"
        );
        assert!(
            merged.shielded,
            "merging with a shielded record shields the survivor"
        );
        assert!(
            merged
                .former_names
                .iter()
                .any(|f| f.given_name.as_ref().map(|g| g.as_str()) == Some("Amelia")),
            "the retired record's name becomes a former name"
        );
        assert_eq!(
            store
                .current_contactpoint_id(&survivor.contactpoint_id)
                .await
                .unwrap(),
            retired.contactpoint_id,
            "the retired ID leads to the survivor"
        );
        assert!(store.verify_audit_chain().await.unwrap().is_ok());
        let entries = store.audit_events(&permit(), 0).await.unwrap();
        assert_eq!(
            entries
                .iter()
                .filter(|e| e.action == "children_merged")
                .count(),
            1
        );
    }
);

both_backends!(
    an_unmerge_splits_the_records_back_exactly_as_they_were,
    |store| {
        let (first, second) = two_records(store).await;
        let merge = store
            .merge_children(
                &permit(),
                None,
                &second.contactpoint_id,
                &first.contactpoint_id,
                None,
                test_now(),
                &audit("children_merged"),
            )
            .await
            .unwrap();
        store
            .unmerge_children(
                &permit(),
                None,
                merge,
                None,
                test_now(),
                &audit("children_unmerged"),
            )
            .await
            .unwrap();
        assert_eq!(
            store
                .child_record(&permit(), &first.contactpoint_id)
                .await
                .unwrap(),
            first
        );
        assert_eq!(
            store
                .child_record(&permit(), &second.contactpoint_id)
                .await
                .unwrap(),
            second
        );
        assert_eq!(
            store
                .current_contactpoint_id(&first.contactpoint_id)
                .await
                .unwrap(),
            first.contactpoint_id
        );
        let again = store
            .unmerge_children(
                &permit(),
                None,
                merge,
                None,
                test_now(),
                &audit("children_unmerged"),
            )
            .await;
        assert!(
            matches!(again, Err(StorageError::NotFound { .. })),
            "a merge is undone once"
        );
        assert!(store.verify_audit_chain().await.unwrap().is_ok());
    }
);

both_backends!(a_record_cannot_be_merged_with_itself_or_twice, |store| {
    let (first, second) = two_records(store).await;
    let itself = store
        .merge_children(
            &permit(),
            None,
            &first.contactpoint_id,
            &first.contactpoint_id,
            None,
            test_now(),
            &audit("children_merged"),
        )
        .await;
    assert!(matches!(itself, Err(StorageError::Invalid(e)) if e.field == "retired"));
    store
        .merge_children(
            &permit(),
            None,
            &first.contactpoint_id,
            &second.contactpoint_id,
            None,
            test_now(),
            &audit("children_merged"),
        )
        .await
        .unwrap();
    let twice = store
        .merge_children(
            &permit(),
            None,
            &first.contactpoint_id,
            &second.contactpoint_id,
            None,
            test_now(),
            &audit("children_merged"),
        )
        .await;
    assert!(matches!(twice, Err(StorageError::Invalid(e)) if e.field == "retired"));
});
