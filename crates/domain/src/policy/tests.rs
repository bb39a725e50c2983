//! The policy as a table: every role (and team duty) x every action x every target, on the
//! web route, against an expected answer written out by hand; then the route rules.

use super::*;
use crate::identity::{AccessRoute, Duty, Role};

fn actor(role: Role, duties: &[Duty], shield_override: bool) -> Actor {
    Actor {
        user_id: 7,
        role,
        duties: duties.to_vec(),
        local_authority: LocalAuthorityCode::parse("E06000055").unwrap(),
        shield_override,
        route: AccessRoute::Web,
        on_behalf_of: None,
    }
}

fn targets() -> [Target; 4] {
    [
        Target::Own,
        Target::LocalAuthority(LocalAuthorityCode::parse("E06000055").unwrap()),
        Target::LocalAuthority(LocalAuthorityCode::parse("E09000002").unwrap()),
        Target::NoLocalAuthority,
    ]
}

/// Each row: who, then for each action in `Action::ALL` order the targets allowed, as a
/// string of four characters (own, same authority, other authority, no authority): `y`
/// allowed, `.` refused.
#[rustfmt::skip]
fn expected() -> Vec<(&'static str, Actor, [&'static str; 18])> {
    use Duty::*;
    use Role::*;
    //                                                        own   ends  enrol  orgs  accr  users  create change unlock api   audit  search view  override alerts exceptions merge suppliers
    vec![
        ("practitioner",              actor(Practitioner, &[], false),           ["y...", "y...", "y...", "....", "....", "....", "....", "....", "....", "....", "....", "y...", "y...", "....", "....", "....", "....", "...."]),
        ("practitioner with override", actor(Practitioner, &[], true),           ["y...", "y...", "y...", "....", "....", "....", "....", "....", "....", "....", "....", "y...", "y...", "y...", "....", "....", "....", "...."]),
        ("mediator",                  actor(Mediator, &[], false),               ["y...", "y...", "y...", "....", "....", "....", "....", "....", "....", "....", "....", "y...", "y...", "....", "....", "....", "....", "...."]),
        ("team, user administration", actor(LocalTeam, &[UserAdministration], false), ["y...", "y...", "y...", ".y..", ".y..", ".y..", ".y..", ".y..", ".y..", ".y..", ".y..", "y...", "y...", "....", ".y..", "....", "....", "...."]),
        ("team, data management",     actor(LocalTeam, &[DataManagement], false), ["y...", "y...", "y...", "....", "....", "....", "....", "....", "....", "....", ".y..", "y...", "y...", "....", ".y..", ".y..", ".y..", "...."]),
        ("team, helpdesk",            actor(LocalTeam, &[Helpdesk], false),      ["y...", "y...", "y...", "....", "....", "....", "....", "....", "....", "....", ".y..", "y...", "y...", "....", ".y..", "....", "....", "...."]),
        ("auditor",                   actor(Auditor, &[], false),                ["y...", "y...", "y...", "....", "....", "....", "....", "....", "....", "....", ".y..", "....", "....", "....", "....", "....", "....", "...."]),
        ("auditor with override",     actor(Auditor, &[], true),                 ["y...", "y...", "y...", "....", "....", "....", "....", "....", "....", "....", ".y..", "....", "....", "....", "....", "....", "....", "...."]),
        ("national administrator",    actor(NationalAdministrator, &[], false),  ["y...", "y...", "y...", ".yy.", ".yy.", ".yy.", ".yy.", ".yy.", ".yy.", ".yy.", "....", "y...", "y...", "....", "....", "...y", "....", "...y"]),
        ("team with override",        actor(LocalTeam, &[UserAdministration], true), ["y...", "y...", "y...", ".y..", ".y..", ".y..", ".y..", ".y..", ".y..", ".y..", ".y..", "y...", "y...", "....", ".y..", "....", "....", "...."]),
        ("mediator with override",    actor(Mediator, &[], true),                ["y...", "y...", "y...", "....", "....", "....", "....", "....", "....", "....", "....", "y...", "y...", "....", "....", "....", "....", "...."]),
        ("national admin with override", actor(NationalAdministrator, &[], true), ["y...", "y...", "y...", ".yy.", ".yy.", ".yy.", ".yy.", ".yy.", ".yy.", ".yy.", "....", "y...", "y...", "....", "....", "...y", "....", "...y"]),
    ]
}

#[test]
fn the_policy_matches_the_table_for_every_role_action_and_target() {
    let mut wrong = Vec::new();
    for (who, actor, row) in expected() {
        for (action, allowed) in Action::ALL.iter().zip(row) {
            for (t, target) in targets().iter().enumerate() {
                let want = allowed.as_bytes()[t] == b'y';
                let got = authorize(&actor, *action, target).is_ok();
                if want != got {
                    wrong.push(format!(
                        "{who} {action:?} on {}: expected {want}, got {got}",
                        ["own", "same LA", "other LA", "no LA"][t]
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn over_the_api_only_practitioners_reach_children_and_mediators_nothing() {
    for role in Role::ALL {
        let mut a = actor(*role, &[Duty::UserAdministration], false);
        a.route = AccessRoute::Api;
        let children = authorize(&a, Action::SearchChildren, &Target::Own).is_ok();
        assert_eq!(
            children,
            *role == Role::Practitioner,
            "{role:?} searching over the API"
        );
        assert_eq!(
            authorize(&a, Action::ViewChild, &Target::Own).is_ok(),
            *role == Role::Practitioner
        );
        let own_account = authorize(&a, Action::ViewOwnAccount, &Target::Own).is_ok();
        assert_eq!(
            own_account,
            *role != Role::Mediator,
            "{role:?} over the API"
        );
    }
    let mut team = actor(Role::LocalTeam, &[Duty::UserAdministration], false);
    team.route = AccessRoute::Api;
    assert!(authorize(&team, Action::CreateUser, &targets()[1]).is_ok());
    assert!(authorize(&team, Action::CreateUser, &targets()[2]).is_err());
}

#[test]
fn mediated_access_needs_a_mediator_acting_for_a_named_colleague() {
    let mut mediator = actor(Role::Mediator, &[], false);
    mediator.route = AccessRoute::Mediated;
    assert!(authorize(&mediator, Action::SearchChildren, &Target::Own).is_err());
    mediator.on_behalf_of = Some(42);
    assert!(authorize(&mediator, Action::SearchChildren, &Target::Own).is_ok());
    let mut practitioner = actor(Role::Practitioner, &[], false);
    practitioner.route = AccessRoute::Mediated;
    practitioner.on_behalf_of = Some(42);
    assert!(authorize(&practitioner, Action::SearchChildren, &Target::Own).is_err());
    let mut web_with_colleague = actor(Role::Mediator, &[], false);
    web_with_colleague.on_behalf_of = Some(42);
    assert!(authorize(&web_with_colleague, Action::ViewOwnAccount, &Target::Own).is_err());
}

#[test]
fn no_user_action_is_allowed_on_the_system_route() {
    let mut a = actor(Role::NationalAdministrator, &[], true);
    a.route = AccessRoute::System;
    for action in Action::ALL {
        for target in targets() {
            assert!(authorize(&a, action, &target).is_err());
        }
    }
}

#[test]
fn a_permit_records_who_it_was_given_to_and_for_what() {
    let a = actor(Role::Practitioner, &[], false);
    let permit = authorize(&a, Action::SearchChildren, &Target::Own).unwrap();
    assert_eq!(permit.user(), Some((7, Action::SearchChildren)));
    assert_eq!(permit.system_task(), None);
}

#[test]
fn a_suppliers_system_sends_records_for_its_own_source_only_while_its_account_stands() {
    let births = SourceCode::parse("birth_registration").unwrap();
    let census = SourceCode::parse("schools_census").unwrap();
    let system = SupplierSystem {
        account_id: 3,
        source: births.clone(),
        revoked: false,
    };
    let permit = authorize_supply(&system, &births).unwrap();
    assert_eq!(permit.supplier_account(), Some(3));
    assert_eq!(permit.user(), None);
    assert_eq!(permit.system_task(), None);
    assert!(authorize_supply(&system, &census).is_err());
    let revoked = SupplierSystem {
        revoked: true,
        ..system
    };
    assert!(authorize_supply(&revoked, &births).is_err());
}
