//! Proof that an action was allowed. Storage methods that read protected data or write take a
//! `&Permit`; only the policy (and the named system bypass below) can make one.

/// Work the system does for itself, outside any user's session. Every use of
/// [`Permit::system_bypass`] names one of these, so `grep system_bypass` finds them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemTask {
    /// Loading a generated synthetic nation (demonstrations, benchmarks, tests).
    SyntheticLoad,
    /// Storage contract tests reading back what they wrote.
    StorageContractTest,
}

#[derive(Debug)]
pub struct Permit {
    granted_for: Grant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    System(SystemTask),
}

impl Permit {
    /// The one bypass of the policy, for the system's own tasks.
    pub fn system_bypass(task: SystemTask) -> Self {
        Self {
            granted_for: Grant::System(task),
        }
    }

    /// The system task this permit was issued for, if it was a bypass.
    pub fn system_task(&self) -> Option<SystemTask> {
        match self.granted_for {
            Grant::System(task) => Some(task),
        }
    }
}
