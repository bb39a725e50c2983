//! Organisations, the services they run, and the practitioners who work in them.

use crate::{Address, EmailAddress, FamilyName, FieldError, GivenName, Telephone};
use serde::{Deserialize, Serialize};

macro_rules! code_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal { $($variant:ident => $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn code(self) -> &'static str {
                match self { $(Self::$variant => $code),+ }
            }

            pub fn parse(input: &str) -> Result<Self, FieldError> {
                let wanted = input.trim();
                Self::ALL.iter().copied().find(|v| v.code() == wanted).ok_or_else(|| {
                    let codes: Vec<&str> = Self::ALL.iter().map(|v| v.code()).collect();
                    FieldError::new($field, format!("one of {}", codes.join(", ")))
                })
            }
        }
    };
}
pub(crate) use code_enum;

code_enum!(
    /// What kind of body an organisation is; accreditation is per organisation.
    OrganisationKind, "organisation_kind" {
        School => "school",
        College => "college",
        GpPractice => "gp_practice",
        NhsTrust => "nhs_trust",
        LocalAuthorityChildrensServices => "la_childrens_services",
        YouthOffendingTeam => "youth_offending_team",
        Police => "police",
        Connexions => "connexions",
        Voluntary => "voluntary",
    }
);

code_enum!(
    /// What a service does for a child. Three categories are sensitive.
    ServiceCategory, "service_category" {
        PrimarySchool => "primary_school",
        SecondarySchool => "secondary_school",
        SixthFormCollege => "sixth_form_college",
        GpPractice => "gp_practice",
        HealthVisiting => "health_visiting",
        SchoolNursing => "school_nursing",
        SocialCare => "social_care",
        SpecialEducationalNeeds => "special_educational_needs",
        EducationWelfare => "education_welfare",
        YouthService => "youth_service",
        YouthOffending => "youth_offending",
        Connexions => "connexions",
        EarlyYears => "early_years",
        PoliceChildProtection => "police_child_protection",
        Voluntary => "voluntary",
        SexualHealth => "sexual_health",
        MentalHealth => "mental_health",
        SubstanceMisuse => "substance_misuse",
    }
);

impl ServiceCategory {
    /// Sexual health, mental health and substance misuse: recorded only with consent or a
    /// documented child-protection concern, and masked from most viewers.
    pub fn is_sensitive(self) -> bool {
        matches!(
            self,
            Self::SexualHealth | Self::MentalHealth | Self::SubstanceMisuse
        )
    }

    /// The universal services every child has a slot for.
    pub fn is_school(self) -> bool {
        matches!(
            self,
            Self::PrimarySchool | Self::SecondarySchool | Self::SixthFormCollege
        )
    }

    pub fn is_universal(self) -> bool {
        self.is_school() || self == Self::GpPractice
    }
}

/// A service as it appears on a child's record: who to contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceRef {
    pub id: i64,
    pub name: String,
    pub organisation_name: String,
    pub category: ServiceCategory,
    pub address: Option<Address>,
    pub telephone: Option<Telephone>,
    pub email: Option<EmailAddress>,
}

/// A named practitioner on a child's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PractitionerRef {
    pub id: i64,
    pub given_name: GivenName,
    pub family_name: FamilyName,
    pub telephone: Option<Telephone>,
    pub email: Option<EmailAddress>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_three_categories_are_sensitive() {
        let sensitive: Vec<_> = ServiceCategory::ALL
            .iter()
            .filter(|c| c.is_sensitive())
            .map(|c| c.code())
            .collect();
        assert_eq!(
            sensitive,
            ["sexual_health", "mental_health", "substance_misuse"]
        );
    }

    #[test]
    fn codes_round_trip_and_an_unknown_code_lists_the_accepted_ones() {
        for c in ServiceCategory::ALL {
            assert_eq!(ServiceCategory::parse(c.code()), Ok(*c));
        }
        let err = ServiceCategory::parse("case_notes").unwrap_err();
        assert_eq!(err.field, "service_category");
        assert!(err.expected.contains("gp_practice"));
        assert!(OrganisationKind::parse("police").is_ok());
    }
}
