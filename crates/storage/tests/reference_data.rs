//! Reference data on both backends: postcode districts and the national references of
//! schools and GP practices. A backend that is not configured is skipped (see
//! contactpoint-test-support), except under CI=true.

use contactpoint_domain::{LocalAuthorityCode, Permit, SystemTask};
use contactpoint_test_support::{
    both_backends, execute_sql, sample_catalogue, sample_local_authority, SAMPLE_GP_PRACTICE_CODE,
    SAMPLE_SCHOOL_URN,
};

fn permit() -> Permit {
    Permit::system_bypass(SystemTask::TestFixture)
}

both_backends!(postcode_districts_place_a_child_by_postcode, |store| {
    let la = sample_local_authority();
    store
        .load_local_authorities(&permit(), std::slice::from_ref(&la))
        .await
        .unwrap();
    let districts: Vec<(String, LocalAuthorityCode)> = (40..=45)
        .map(|n| (format!("MK{n}"), la.code.clone()))
        .collect();
    store
        .load_postcode_districts(&permit(), &districts)
        .await
        .unwrap();
    // Loading again changes nothing and fails nothing.
    store
        .load_postcode_districts(&permit(), &districts)
        .await
        .unwrap();
    for district in ["MK40", "mk45", " MK 41 "] {
        assert_eq!(
            store.local_authority_of_district(district).await.unwrap(),
            Some(la.code.clone()),
            "{district}"
        );
    }
    assert_eq!(
        store.local_authority_of_district("MK46").await.unwrap(),
        None
    );
    assert_eq!(
        store.local_authority_of_district("MK4").await.unwrap(),
        None
    );
    assert_eq!(
        execute_sql(store, "UPDATE postcode_districts SET district = district")
            .await
            .unwrap(),
        6
    );
});

both_backends!(a_district_of_an_unknown_authority_is_refused, |store| {
    let unknown = LocalAuthorityCode::parse("E06000099").unwrap();
    assert!(store
        .load_postcode_districts(&permit(), &[("ZZ1".into(), unknown)])
        .await
        .is_err());
});

both_backends!(services_keep_their_national_references, |store| {
    store
        .load_local_authorities(&permit(), &[sample_local_authority()])
        .await
        .unwrap();
    let catalogue = sample_catalogue();
    store.load_catalogue(&permit(), &catalogue).await.unwrap();
    for reference in [SAMPLE_SCHOOL_URN, SAMPLE_GP_PRACTICE_CODE] {
        let sql =
            format!("UPDATE services SET reference = reference WHERE reference = '{reference}'");
        assert_eq!(execute_sql(store, &sql).await.unwrap(), 1, "{reference}");
    }
    assert_eq!(
        execute_sql(
            store,
            "UPDATE services SET name = name WHERE reference IS NULL"
        )
        .await
        .unwrap(),
        1
    );
    // A reference belongs to one service only: the same catalogue again is refused whole.
    assert!(store.load_catalogue(&permit(), &catalogue).await.is_err());
});
