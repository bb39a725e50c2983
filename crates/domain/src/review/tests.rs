use super::*;

/// Tuesday 17 November 2026, 10:00 UTC (10:00 in London: no summer time in November).
fn tuesday_ten() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 17, 10, 0, 0).unwrap()
}

fn view(id: i64, at: DateTime<Utc>) -> Activity {
    Activity {
        entry_id: id,
        at,
        user_id: 1,
        username: "a.shah".into(),
        user_family_name: "Shah".into(),
        user_local_authority: "E06000055".into(),
        organisation: "Castle Lower School".into(),
        action: "child_viewed".into(),
        outcome: "success".into(),
        child_id: Some("123456789012".into()),
        child_local_authority: Some("E06000055".into()),
        child_family_name: Some("Okafor".into()),
        projection: Some("full".into()),
    }
}

fn kinds(activity: &[Activity]) -> Vec<FlagKind> {
    flags(activity).into_iter().map(|f| f.kind).collect()
}

#[test]
fn an_ordinary_view_in_working_hours_in_the_users_area_raises_no_flag() {
    assert!(flags(&[view(1, tuesday_ten())]).is_empty());
}

#[test]
fn overrides_and_shielded_records_are_flagged() {
    let mut overridden = view(1, tuesday_ten());
    overridden.projection = Some("shield_override".into());
    let mut shielded = view(2, tuesday_ten());
    shielded.projection = Some("shielded".into());
    assert_eq!(
        kinds(&[overridden, shielded]),
        [FlagKind::ShieldOverride, FlagKind::ShieldedRecord]
    );
}

#[test]
fn use_out_of_hours_in_uk_time_is_flagged_including_weekends_and_summer_time() {
    let evening = Utc.with_ymd_and_hms(2026, 11, 17, 21, 30, 0).unwrap();
    let saturday = Utc.with_ymd_and_hms(2026, 11, 21, 11, 0, 0).unwrap();
    // 06:30 UTC in July is 07:30 in London: working hours.
    let summer_morning = Utc.with_ymd_and_hms(2026, 7, 14, 6, 30, 0).unwrap();
    // 06:30 UTC in January is 06:30 in London: too early.
    let winter_morning = Utc.with_ymd_and_hms(2026, 1, 13, 6, 30, 0).unwrap();
    assert_eq!(kinds(&[view(1, evening)]), [FlagKind::OutOfHours]);
    assert_eq!(kinds(&[view(1, saturday)]), [FlagKind::OutOfHours]);
    assert!(kinds(&[view(1, summer_morning)]).is_empty());
    assert_eq!(kinds(&[view(1, winter_morning)]), [FlagKind::OutOfHours]);
}

#[test]
fn a_child_outside_the_users_area_is_flagged() {
    let mut elsewhere = view(1, tuesday_ten());
    elsewhere.child_local_authority = Some("E09000002".into());
    let flagged = flags(&[elsewhere]);
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0].kind, FlagKind::OutsideArea);
    assert!(flagged[0].detail.contains("E09000002"));
}

#[test]
fn a_child_sharing_the_users_family_name_is_flagged_by_either_part_and_any_case() {
    for child_name in ["Shah", "SHAH", "Shah-Okafor"] {
        let mut relative = view(1, tuesday_ten());
        relative.child_family_name = Some(child_name.into());
        assert_eq!(
            kinds(&[relative]),
            [FlagKind::SharedFamilyName],
            "{child_name}"
        );
    }
    let mut other = view(1, tuesday_ten());
    other.child_family_name = Some("Shahid".into());
    assert!(flags(&[other]).is_empty());
}

#[test]
fn a_day_far_above_the_usual_volume_is_flagged_once() {
    let mut activity = Vec::new();
    // Nine colleagues with five views each, and one user with forty.
    for user in 2..11 {
        for n in 0..5 {
            let mut a = view(user * 100 + n, tuesday_ten() + Duration::minutes(n));
            a.user_id = user;
            activity.push(a);
        }
    }
    for n in 0..40 {
        activity.push(view(n, tuesday_ten() + Duration::minutes(n)));
    }
    let flagged = flags(&activity);
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    assert_eq!(
        (flagged[0].kind, flagged[0].user_id),
        (FlagKind::UnusualVolume, 1)
    );
    // Thirty in a day is never unusual, however quiet the others.
    let thirty: Vec<_> = (0..30).map(|n| view(n, tuesday_ten())).collect();
    assert!(flags(&thirty).is_empty());
}

#[test]
fn usage_counts_sign_ins_searches_and_views_per_organisation_per_day() {
    let mut sign_in = view(1, tuesday_ten());
    sign_in.action = "sign_in".into();
    let mut search = view(2, tuesday_ten());
    search.action = "children_searched".into();
    let mut failed = view(3, tuesday_ten());
    failed.outcome = "denied".into();
    let mut next_day = view(4, tuesday_ten() + Duration::days(1));
    next_day.organisation = "Bedford Children's Services".into();
    let rows = usage(&[sign_in, search, view(5, tuesday_ten()), failed, next_day]);
    assert_eq!(
        rows.iter()
            .map(|r| (
                r.day.to_string(),
                r.organisation.as_str(),
                r.sign_ins,
                r.searches,
                r.views
            ))
            .collect::<Vec<_>>(),
        [
            ("2026-11-17".to_owned(), "Castle Lower School", 1, 1, 1),
            (
                "2026-11-18".to_owned(),
                "Bedford Children's Services",
                0,
                0,
                1
            ),
        ]
    );
}
