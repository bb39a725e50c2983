//! A synthetic nation: every child, household, school, GP practice, service and practitioner
//! is made up, drawn deterministically from a seed so that the same seed always gives the
//! same nation. Names follow the frequency shapes of the naming traditions common in England;
//! telephone numbers come from Ofcom's ranges reserved for drama, e-mail domains from the
//! reserved example.org, so nothing generated can reach a real person.

mod catalogue;
pub mod data;
mod household;
mod loader;
mod pick;
mod supplier_files;

pub use catalogue::{build_catalogue, CatalogueIndex, ServicePick};
pub use household::ChildGenerator;
pub use loader::{load_nation, load_reference_data, postcode_districts, LoadError, LoadSummary};

pub use supplier_files::{
    write_supplier_files, Rates, Supplier, SupplierFilesSummary, Tally, TRUTH_FILE, VARIATIONS,
};

use chrono::{DateTime, NaiveDate, Utc};
use data::{LocalAuthoritySeed, LOCAL_AUTHORITIES};

/// What nation to make.
#[derive(Debug, Clone)]
pub struct NationSpec {
    pub children: u64,
    pub seed: u64,
    /// The moment the nation is drawn at: ages and supply dates are reckoned from it.
    pub as_of: DateTime<Utc>,
    /// Only these local authorities (by code); all 150 when empty.
    pub local_authorities: Vec<String>,
}

impl NationSpec {
    pub fn today(&self) -> NaiveDate {
        self.as_of.date_naive()
    }

    /// The local authorities this nation covers, with the number of children each gets.
    pub fn authorities(&self) -> Vec<(&'static LocalAuthoritySeed, u64)> {
        let chosen: Vec<&LocalAuthoritySeed> = LOCAL_AUTHORITIES
            .iter()
            .filter(|la| {
                self.local_authorities.is_empty()
                    || self.local_authorities.iter().any(|c| c == la.code)
            })
            .collect();
        let total_weight: u64 = chosen.iter().map(|la| u64::from(la.weight)).sum();
        let mut assigned = 0;
        let mut shares: Vec<_> = chosen
            .iter()
            .map(|la| {
                let share = self.children * u64::from(la.weight) / total_weight.max(1);
                assigned += share;
                (*la, share)
            })
            .collect();
        // Whatever rounding left over goes to the largest authorities, one each.
        let mut order: Vec<usize> = (0..shares.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(shares[i].0.weight));
        for &i in order
            .iter()
            .cycle()
            .take((self.children - assigned) as usize)
        {
            shares[i].1 += 1;
        }
        shares
    }
}

/// Finds a local authority by code or by name (case-insensitive).
pub fn find_local_authority(code_or_name: &str) -> Option<&'static LocalAuthoritySeed> {
    LOCAL_AUTHORITIES.iter().find(|la| {
        la.code.eq_ignore_ascii_case(code_or_name) || la.name.eq_ignore_ascii_case(code_or_name)
    })
}

#[cfg(test)]
mod tests;
