//! The ContactPoint record and the rules about it. Everything here is pure: no I/O, no
//! system clock (time arrives through [`Clock`] or as a `now`/`today` argument).

pub mod address;
pub mod audit;
pub mod child;
pub mod clock;
pub mod contact;
pub mod error;
pub mod id;
pub mod identity;
pub mod involvement;
pub mod local_authority;
pub mod names;
pub mod permit;
pub mod policy;
pub mod precedence;
pub mod projection;
pub mod provenance;
pub mod review;
pub mod search;
pub mod service;
pub mod system_name;

pub use address::{Address, AddressState, Postcode, ReturnIntention};
pub use audit::{AuditEvent, Outcome, Subject};
pub use child::{ChildRecord, DateOfBirth, FormerName, Gender, ParentCarer, Relationship};
pub use clock::{Clock, FixedClock, SystemClock};
pub use contact::{EmailAddress, Telephone};
pub use error::FieldError;
pub use id::ContactPointId;
pub use identity::{
    AccessRoute, AccountState, Accreditation, Duty, Lapse, Role, Username, Vetting,
};
pub use involvement::{ConsentGiver, Involvement, SensitiveBasis};
pub use local_authority::LocalAuthorityCode;
pub use names::{FamilyName, GivenName, MiddleNames};
pub use permit::{Permit, SystemTask};
pub use policy::{authorize, authorize_supply, Action, Actor, Denied, SupplierSystem, Target};
pub use projection::{project, ProjectedRecord, ProjectionKind, ViewReason, Viewer};
pub use provenance::{Provenance, SourceCode};
pub use service::{OrganisationKind, PractitionerRef, ServiceCategory, ServiceRef};
pub use system_name::SystemName;
