//! Proof that an action was allowed. Storage methods that read protected data or write take a
//! `&Permit`; only the policy ([`crate::policy::authorize`]) and the named system bypass
//! below can make one.

use crate::policy::Action;

/// Work the system does for itself, outside any user's session. Every use of
/// [`Permit::system_bypass`] names one of these, so `grep system_bypass` finds them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemTask {
    /// Loading a generated synthetic nation (demonstrations, benchmarks, tests).
    SyntheticLoad,
    /// Tests setting up and reading back their own data.
    TestFixture,
    /// Signing in: checking a user's factors before there is a user to authorise.
    SignIn,
    /// Setting up the demonstration's accounts.
    DemoSetUp,
    /// Setting up a deployment from the command line (the first national administrator,
    /// suppliers' system accounts).
    Bootstrap,
    /// Setting up a search benchmark's practitioner and case-management client on a
    /// generated database.
    BenchmarkSetUp,
    /// Importing suppliers' files from the command line on a server of the deployment
    /// (`contactpoint supply import`, each batch audited), and listing what became of each
    /// supplied record (`contactpoint supply links`).
    SupplyImport,
    /// The server trying the records waiting in the exceptions queue again on its schedule
    /// (each batch audited).
    ScheduledRetry,
}

#[derive(Debug)]
pub struct Permit {
    granted: Grant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    System(SystemTask),
    User {
        user_id: i64,
        action: Action,
    },
    /// A supplier's system sending its records through the API.
    Supplier {
        account_id: i64,
    },
}

impl Permit {
    /// The one bypass of the policy, for the system's own tasks.
    pub fn system_bypass(task: SystemTask) -> Self {
        Self {
            granted: Grant::System(task),
        }
    }

    pub(crate) fn for_supplier(account_id: i64) -> Self {
        Self {
            granted: Grant::Supplier { account_id },
        }
    }

    /// The supplier's system account this permit was issued to, if it was one.
    pub fn supplier_account(&self) -> Option<i64> {
        match self.granted {
            Grant::Supplier { account_id } => Some(account_id),
            _ => None,
        }
    }

    pub(crate) fn for_user(user_id: i64, action: Action) -> Self {
        Self {
            granted: Grant::User { user_id, action },
        }
    }

    /// The system task this permit was issued for, if it was a bypass.
    pub fn system_task(&self) -> Option<SystemTask> {
        match self.granted {
            Grant::System(task) => Some(task),
            Grant::User { .. } | Grant::Supplier { .. } => None,
        }
    }

    /// The user and action the policy allowed, if it was the policy's.
    pub fn user(&self) -> Option<(i64, Action)> {
        match self.granted {
            Grant::User { user_id, action } => Some((user_id, action)),
            Grant::System(_) | Grant::Supplier { .. } => None,
        }
    }
}
