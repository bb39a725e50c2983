//! The ContactPoint record and the rules about it. Everything here is pure: no I/O, no
//! system clock (time arrives through [`Clock`] or as a `now`/`today` argument).

pub mod address;
pub mod child;
pub mod clock;
pub mod contact;
pub mod error;
pub mod id;
pub mod involvement;
pub mod local_authority;
pub mod names;
pub mod permit;
pub mod provenance;
pub mod service;

pub use address::{Address, AddressState, Postcode, ReturnIntention};
pub use child::{ChildRecord, DateOfBirth, FormerName, Gender, ParentCarer, Relationship};
pub use clock::{Clock, FixedClock, SystemClock};
pub use contact::{EmailAddress, Telephone};
pub use error::FieldError;
pub use id::ContactPointId;
pub use involvement::{ConsentGiver, Involvement, SensitiveBasis};
pub use local_authority::LocalAuthorityCode;
pub use names::{FamilyName, GivenName, MiddleNames};
pub use permit::{Permit, SystemTask};
pub use provenance::{Provenance, SourceCode};
pub use service::{OrganisationKind, PractitionerRef, ServiceCategory, ServiceRef};
