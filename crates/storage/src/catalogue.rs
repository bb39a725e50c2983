//! Reference data loaded before children: local authorities, and organisations with their
//! services and named practitioners. Rows refer to each other by position; the store
//! numbers them when it loads them and says how ([`CatalogueIds`]).

use contactpoint_domain::{
    Address, EmailAddress, FamilyName, GivenName, LocalAuthorityCode, OrganisationKind,
    PractitionerRef, ServiceCategory, ServiceRef, Telephone,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAuthority {
    pub code: LocalAuthorityCode,
    pub name: String,
    /// The authority's ContactPoint team, shown on shielded records.
    pub team_email: EmailAddress,
    pub team_telephone: Telephone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPractitioner {
    pub given_name: GivenName,
    pub family_name: FamilyName,
    pub telephone: Option<Telephone>,
    pub email: Option<EmailAddress>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewService {
    pub name: String,
    pub category: ServiceCategory,
    /// The national reference suppliers name it by: a school's unique reference number (six
    /// digits), a GP practice's code (a letter and five digits). Unique when given.
    pub reference: Option<String>,
    pub address: Option<Address>,
    pub telephone: Option<Telephone>,
    pub email: Option<EmailAddress>,
    pub practitioners: Vec<NewPractitioner>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrganisation {
    pub kind: OrganisationKind,
    pub name: String,
    pub local_authority: LocalAuthorityCode,
    pub address: Option<Address>,
    pub telephone: Option<Telephone>,
    pub email: Option<EmailAddress>,
    pub services: Vec<NewService>,
}

/// Organisations in order; services and practitioners are numbered in the order they appear
/// walking organisations, then their services, then their practitioners.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalogue {
    pub organisations: Vec<NewOrganisation>,
}

impl Catalogue {
    pub fn service_count(&self) -> usize {
        self.organisations.iter().map(|o| o.services.len()).sum()
    }

    pub fn practitioner_count(&self) -> usize {
        self.services().map(|(_, s)| s.practitioners.len()).sum()
    }

    /// Every service with its organisation, in numbering order.
    pub fn services(&self) -> impl Iterator<Item = (&NewOrganisation, &NewService)> {
        self.organisations
            .iter()
            .flat_map(|o| o.services.iter().map(move |s| (o, s)))
    }
}

/// The first database id of each kind of row a catalogue load wrote; ids run on from there
/// in numbering order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogueIds {
    pub first_organisation: i64,
    pub first_service: i64,
    pub first_practitioner: i64,
}

impl CatalogueIds {
    /// How a child's record refers to the service at `service_index` of `catalogue`.
    pub fn service_ref(
        &self,
        catalogue_service: (&NewOrganisation, &NewService),
        service_index: usize,
    ) -> ServiceRef {
        let (organisation, service) = catalogue_service;
        ServiceRef {
            id: self.first_service + service_index as i64,
            name: service.name.clone(),
            organisation_name: organisation.name.clone(),
            category: service.category,
            address: service.address.clone(),
            telephone: service.telephone.clone(),
            email: service.email.clone(),
        }
    }

    pub fn practitioner_ref(
        &self,
        practitioner: &NewPractitioner,
        practitioner_index: usize,
    ) -> PractitionerRef {
        PractitionerRef {
            id: self.first_practitioner + practitioner_index as i64,
            given_name: practitioner.given_name.clone(),
            family_name: practitioner.family_name.clone(),
            telephone: practitioner.telephone.clone(),
            email: practitioner.email.clone(),
        }
    }
}
