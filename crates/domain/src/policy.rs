//! The one policy. `authorize` decides every action, whichever route it arrives by (pages,
//! API, mediated access, the command line), and is the only maker of a user's [`Permit`].

use crate::identity::{AccessRoute, Duty, Role};
use crate::{LocalAuthorityCode, Permit, SourceCode};

/// Who is asking: a signed-in user as the session knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: i64,
    pub role: Role,
    pub duties: Vec<Duty>,
    /// The local authority of the user's organisation.
    pub local_authority: LocalAuthorityCode,
    pub shield_override: bool,
    pub route: AccessRoute,
    /// For mediated access: the colleague the mediator acts for.
    pub on_behalf_of: Option<i64>,
}

/// Everything a user can ask to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    ViewOwnAccount,
    EndOwnSessions,
    EnrolSecurityToken,
    ListOrganisations,
    ChangeAccreditation,
    ListUsers,
    CreateUser,
    ChangeUser,
    UnlockUser,
    ManageApiClients,
    ReadAuditTrail,
    SearchChildren,
    ViewChild,
    OverrideShield,
    /// See and acknowledge the alerts raised when someone overrides shielding.
    HandleShieldAlerts,
    /// See the supplied records that wait for a person and decide each: link or create.
    ResolveSupplyExceptions,
    /// Merge two records of one child, and undo a merge.
    MergeChildren,
    /// Register and revoke the system accounts national and local suppliers send records with.
    ManageSupplierAccounts,
}

impl Action {
    pub const ALL: [Self; 18] = [
        Self::ViewOwnAccount,
        Self::EndOwnSessions,
        Self::EnrolSecurityToken,
        Self::ListOrganisations,
        Self::ChangeAccreditation,
        Self::ListUsers,
        Self::CreateUser,
        Self::ChangeUser,
        Self::UnlockUser,
        Self::ManageApiClients,
        Self::ReadAuditTrail,
        Self::SearchChildren,
        Self::ViewChild,
        Self::OverrideShield,
        Self::HandleShieldAlerts,
        Self::ResolveSupplyExceptions,
        Self::MergeChildren,
        Self::ManageSupplierAccounts,
    ];

    /// Administrative changes need the PIN and token again at the moment they are made.
    pub fn needs_fresh_authentication(self) -> bool {
        matches!(
            self,
            Self::ChangeAccreditation
                | Self::CreateUser
                | Self::ChangeUser
                | Self::UnlockUser
                | Self::ManageApiClients
                | Self::OverrideShield
                | Self::MergeChildren
                | Self::ManageSupplierAccounts
        )
    }
}

/// What the action is aimed at, as far as the policy needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Nothing beyond the actor (their own account, a search).
    Own,
    /// Something belonging to a local authority: its organisations, users, audit trail.
    LocalAuthority(LocalAuthorityCode),
    /// Something no local authority is responsible for: supplied records whose postcode
    /// places them nowhere, and the suppliers' system accounts, which serve the nation.
    NoLocalAuthority,
}

/// Why an action was refused. Deliberately coarse: callers show a plain 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not allowed")]
pub struct Denied;

fn in_own_authority(actor: &Actor, target: &Target) -> bool {
    matches!(target, Target::LocalAuthority(la) if *la == actor.local_authority)
}

fn has_duty(actor: &Actor, duty: Duty) -> bool {
    actor.role == Role::LocalTeam && actor.duties.contains(&duty)
}

/// Allows or refuses `action` on `target` for `actor`. Anything not allowed here is refused.
pub fn authorize(actor: &Actor, action: Action, target: &Target) -> Result<Permit, Denied> {
    use Action as A;
    // Mediators work through the mediated route for a named colleague; the API serves
    // everyone else (case-management systems for practitioners, tools for the teams).
    let route_ok = match actor.route {
        AccessRoute::Web => actor.on_behalf_of.is_none(),
        AccessRoute::Api => actor.role != Role::Mediator && actor.on_behalf_of.is_none(),
        AccessRoute::Mediated => actor.role == Role::Mediator && actor.on_behalf_of.is_some(),
        AccessRoute::System => false,
    };
    if !route_ok {
        return Err(Denied);
    }
    let national = actor.role == Role::NationalAdministrator;
    let allowed = match action {
        A::ViewOwnAccount | A::EndOwnSessions | A::EnrolSecurityToken => *target == Target::Own,
        A::ListOrganisations
        | A::ChangeAccreditation
        | A::ListUsers
        | A::CreateUser
        | A::ChangeUser
        | A::UnlockUser
        | A::ManageApiClients => {
            national && matches!(target, Target::LocalAuthority(_))
                || has_duty(actor, Duty::UserAdministration) && in_own_authority(actor, target)
        }
        A::ReadAuditTrail => {
            (actor.role == Role::LocalTeam || actor.role == Role::Auditor)
                && in_own_authority(actor, target)
        }
        A::SearchChildren | A::ViewChild => {
            // Over the API, children's records go only to practitioners' case-management systems.
            let role_ok = match actor.route {
                AccessRoute::Api => actor.role == Role::Practitioner,
                _ => matches!(
                    actor.role,
                    Role::Practitioner
                        | Role::Mediator
                        | Role::LocalTeam
                        | Role::NationalAdministrator
                ),
            };
            *target == Target::Own && role_ok
        }
        // The responsible team brokers contact for shielded children, so it is told.
        A::HandleShieldAlerts => actor.role == Role::LocalTeam && in_own_authority(actor, target),
        // Keeping the data right is the team's data management duty, in its own authority;
        // records no authority is responsible for fall to the national administrators.
        A::ResolveSupplyExceptions => {
            has_duty(actor, Duty::DataManagement) && in_own_authority(actor, target)
                || national && *target == Target::NoLocalAuthority
        }
        A::MergeChildren => {
            has_duty(actor, Duty::DataManagement) && in_own_authority(actor, target)
        }
        // A supplier's credential lets a system change any child's record in the country, so
        // only the national administrators issue and revoke them.
        A::ManageSupplierAccounts => national && *target == Target::NoLocalAuthority,
        // The override is for child-protection practitioners (police, social workers) only.
        A::OverrideShield => {
            *target == Target::Own && actor.shield_override && actor.role == Role::Practitioner
        }
    };
    if allowed {
        Ok(Permit::for_user(actor.user_id, action))
    } else {
        Err(Denied)
    }
}

/// A supplier's system, as its client credential establishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplierSystem {
    pub account_id: i64,
    /// The one source the account sends records for.
    pub source: SourceCode,
    pub revoked: bool,
}

/// A supplier's system may send records for its own source only, while its account stands.
/// It reads nothing: what became of its records is for the command line and the team.
pub fn authorize_supply(system: &SupplierSystem, source: &SourceCode) -> Result<Permit, Denied> {
    if !system.revoked && system.source == *source {
        Ok(Permit::for_supplier(system.account_id))
    } else {
        Err(Denied)
    }
}

#[cfg(test)]
mod tests;
