//! Which supplier wins when two disagree about a value (docs/SUPPLY.md "Which supplier
//! wins"). Each value group has an order of sources; a supplied value replaces the one held
//! when its source ranks higher, or ranks the same and was supplied no earlier. The address is
//! the exception: the most recently supplied address wins, whoever sent it, because people move
//! and every supplier hears of it at a different time. Two addresses supplied at the same
//! moment (an initial load supplies every file at once) are decided by an order of their own,
//! so the address held never depends on which file was imported first.

use crate::Provenance;

/// The groups of values that carry their own provenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueGroup {
    /// Given, middle and family names together.
    Name,
    Gender,
    DateOfBirth,
    Address,
    DateOfDeath,
    School,
    GpPractice,
}

/// Sources from most to least trusted for a group; a source not listed ranks below all.
fn order(group: ValueGroup) -> &'static [&'static str] {
    use crate::SourceCode as S;
    match group {
        // The register is the legal record of a birth; the NHS hears of changes of name
        // sooner than the benefit and school systems.
        ValueGroup::Name | ValueGroup::Gender | ValueGroup::DateOfBirth => &[
            S::BIRTH_REGISTRATION,
            S::NHS_DEMOGRAPHICS,
            S::CHILD_BENEFIT,
            S::SCHOOLS_CENSUS,
            S::LOCAL_SYSTEMS,
        ],
        ValueGroup::DateOfDeath => &[
            S::BIRTH_REGISTRATION,
            S::NHS_DEMOGRAPHICS,
            S::CHILD_BENEFIT,
            S::LOCAL_SYSTEMS,
            S::SCHOOLS_CENSUS,
        ],
        ValueGroup::School => &[S::SCHOOLS_CENSUS, S::LOCAL_SYSTEMS],
        ValueGroup::GpPractice => &[S::NHS_DEMOGRAPHICS, S::LOCAL_SYSTEMS],
        ValueGroup::Address => &[],
    }
}

/// For addresses supplied at the same moment, the sources from most to least likely to know
/// where the child lives now: local services and the NHS hear of a move first, benefit
/// payments follow it, the census is taken once a year, and the register of births keeps the
/// address at birth.
const ADDRESS_AT_THE_SAME_MOMENT: [&str; 5] = [
    crate::SourceCode::LOCAL_SYSTEMS,
    crate::SourceCode::NHS_DEMOGRAPHICS,
    crate::SourceCode::CHILD_BENEFIT,
    crate::SourceCode::SCHOOLS_CENSUS,
    crate::SourceCode::BIRTH_REGISTRATION,
];

fn rank(group: ValueGroup, provenance: &Provenance) -> usize {
    rank_in(order(group), provenance)
}

fn rank_in(order: &[&str], provenance: &Provenance) -> usize {
    order
        .iter()
        .position(|s| *s == provenance.source.as_str())
        .map_or(0, |p| order.len() - p)
}

/// Whether `source` is one of those that may say which school or GP practice a child has
/// (`ValueGroup::School`, `ValueGroup::GpPractice`): a school named by child benefit, say, is
/// not taken as the child's school.
pub fn names_service(group: ValueGroup, source: &crate::SourceCode) -> bool {
    order(group).contains(&source.as_str())
}

/// Whether a value supplied with `incoming` replaces the one held with `held`.
pub fn supersedes(group: ValueGroup, incoming: &Provenance, held: &Provenance) -> bool {
    if group == ValueGroup::Address && incoming.supplied_at == held.supplied_at {
        let order = &ADDRESS_AT_THE_SAME_MOMENT;
        return rank_in(order, incoming) >= rank_in(order, held);
    }
    let (new, old) = (rank(group, incoming), rank(group, held));
    new > old || (new == old && incoming.supplied_at >= held.supplied_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SourceCode;
    use chrono::{DateTime, TimeZone, Utc};

    fn from(source: &str, day: u32) -> Provenance {
        let at: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 3, day, 9, 0, 0).unwrap();
        Provenance::new(SourceCode::parse(source).unwrap(), at)
    }

    #[test]
    fn only_the_census_and_local_systems_name_a_school_and_only_the_nhs_and_local_systems_a_gp() {
        let source = |code: &str| SourceCode::parse(code).unwrap();
        assert!(names_service(ValueGroup::School, &source("schools_census")));
        assert!(names_service(ValueGroup::School, &source("local_systems")));
        assert!(!names_service(ValueGroup::School, &source("child_benefit")));
        assert!(!names_service(
            ValueGroup::School,
            &source("nhs_demographics")
        ));
        assert!(names_service(
            ValueGroup::GpPractice,
            &source("nhs_demographics")
        ));
        assert!(!names_service(
            ValueGroup::GpPractice,
            &source("schools_census")
        ));
    }

    #[test]
    fn birth_registration_wins_the_date_of_birth_even_when_older() {
        let held = from("birth_registration", 1);
        let incoming = from("schools_census", 20);
        assert!(!supersedes(ValueGroup::DateOfBirth, &incoming, &held));
        assert!(supersedes(ValueGroup::DateOfBirth, &held, &incoming));
    }

    #[test]
    fn the_schools_census_wins_the_school_and_the_nhs_the_gp_practice() {
        let census = from("schools_census", 1);
        let nhs = from("nhs_demographics", 2);
        assert!(supersedes(ValueGroup::School, &census, &nhs));
        assert!(!supersedes(ValueGroup::School, &nhs, &census));
        assert!(supersedes(ValueGroup::GpPractice, &nhs, &census));
        assert!(!supersedes(ValueGroup::GpPractice, &census, &nhs));
    }

    #[test]
    fn the_most_recent_address_wins_whoever_sent_it() {
        let registered = from("birth_registration", 1);
        let later = from("local_systems", 2);
        assert!(supersedes(ValueGroup::Address, &later, &registered));
        assert!(!supersedes(ValueGroup::Address, &registered, &later));
    }

    #[test]
    fn addresses_supplied_at_the_same_moment_are_decided_by_source_whichever_came_first() {
        let census = from("schools_census", 3);
        let nhs = from("nhs_demographics", 3);
        let registered = from("birth_registration", 3);
        assert!(supersedes(ValueGroup::Address, &nhs, &census));
        assert!(!supersedes(ValueGroup::Address, &census, &nhs));
        assert!(supersedes(ValueGroup::Address, &census, &registered));
        assert!(!supersedes(ValueGroup::Address, &registered, &census));
        // The same source at the same moment again replaces its own address.
        assert!(supersedes(ValueGroup::Address, &census, &census));
        // A later address still wins, whoever sent it.
        assert!(supersedes(
            ValueGroup::Address,
            &from("birth_registration", 4),
            &nhs
        ));
    }

    #[test]
    fn the_same_source_again_replaces_its_own_value() {
        let first = from("child_benefit", 1);
        let again = from("child_benefit", 5);
        assert!(supersedes(ValueGroup::Name, &again, &first));
        assert!(!supersedes(ValueGroup::Name, &first, &again));
    }

    #[test]
    fn an_unlisted_source_never_outranks_a_listed_one() {
        let nhs = from("nhs_demographics", 1);
        let other = from("youth_service", 9);
        assert!(!supersedes(ValueGroup::Gender, &other, &nhs));
        assert!(supersedes(ValueGroup::Gender, &nhs, &other));
    }
}
