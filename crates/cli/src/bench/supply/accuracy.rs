//! How right an import was, judged against the truth file: pairwise precision, recall and F1
//! over the supplied records, and the share of children split across several records or
//! merged with another child.
//!
//! Two supplied records are a *true pair* when the truth names the same person behind both,
//! and a *linked pair* when the import put both on the same ContactPoint ID. A record waiting
//! in the exceptions queue (or rejected though it was good) is on no child: it makes no
//! linked pair, so it costs recall and never precision.

use std::collections::{BTreeMap, HashMap};

/// Where the import put one supplied record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placed {
    /// Linked to, or created as, this child.
    Child(String),
    Exception,
    Rejected,
    /// `supply links` does not know the record at all.
    Missing,
}

/// The truth about one supplied record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truth {
    pub source: String,
    pub person: String,
    /// The generator wrote the row to be rejected.
    pub expected_rejected: bool,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Accuracy {
    /// Good rows (the truth expects them accepted).
    pub records: u64,
    /// People behind the good rows.
    pub children: u64,
    pub on_a_child: u64,
    pub exceptions: u64,
    /// Good rows rejected, and bad rows taken.
    pub wrongly_rejected: u64,
    pub wrongly_accepted: u64,
    /// Rows `supply links` does not account for (must be 0).
    pub missing: u64,
    pub true_pairs: u64,
    pub linked_pairs: u64,
    pub right_pairs: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// People whose records are on more than one child.
    pub split_children: u64,
    /// People whose records share a child with another person's.
    pub merged_children: u64,
    /// People with at least one record waiting in the exceptions queue.
    pub children_with_exceptions: u64,
    /// Per source, its good rows that are not on the child holding most of their person's
    /// rows: where recall is lost.
    pub astray: BTreeMap<String, Astray>,
}

/// A source's rows away from their person's main child, by where they went.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Astray {
    pub rows: u64,
    pub exception: u64,
    pub other_child: u64,
    pub rejected: u64,
}

impl Accuracy {
    pub fn split_share(&self) -> f64 {
        share(self.split_children, self.children)
    }

    pub fn merged_share(&self) -> f64 {
        share(self.merged_children, self.children)
    }

    pub fn exception_share(&self) -> f64 {
        share(self.exceptions, self.records)
    }
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Judges every supplied record: `records` yields each record's truth and where it was put.
pub fn measure(records: &[(Truth, Placed)]) -> Accuracy {
    let mut accuracy = Accuracy::default();
    // People and children as small numbers, so that the counts stay compact at national scale.
    let mut people: HashMap<String, u32> = HashMap::new();
    let mut children: HashMap<String, u32> = HashMap::new();
    let mut per_person: Vec<u64> = Vec::new();
    let mut per_child: HashMap<u32, u64> = HashMap::new();
    let mut per_cell: HashMap<(u32, u32), u64> = HashMap::new();
    let mut with_exception: Vec<bool> = Vec::new();
    for (truth, placed) in records {
        if truth.expected_rejected {
            if !matches!(placed, Placed::Rejected) {
                accuracy.wrongly_accepted += 1;
            }
            continue;
        }
        accuracy.records += 1;
        let next = people.len() as u32;
        let person = *people.entry(truth.person.clone()).or_insert(next);
        if person as usize == per_person.len() {
            per_person.push(0);
            with_exception.push(false);
        }
        per_person[person as usize] += 1;
        match placed {
            Placed::Child(id) => {
                accuracy.on_a_child += 1;
                let next = children.len() as u32;
                let child = *children.entry(id.clone()).or_insert(next);
                *per_child.entry(child).or_default() += 1;
                *per_cell.entry((child, person)).or_default() += 1;
            }
            Placed::Exception => {
                accuracy.exceptions += 1;
                with_exception[person as usize] = true;
            }
            Placed::Rejected => accuracy.wrongly_rejected += 1,
            Placed::Missing => accuracy.missing += 1,
        }
    }
    accuracy.children = people.len() as u64;
    accuracy.true_pairs = per_person.iter().map(|&n| pairs(n)).sum();
    accuracy.linked_pairs = per_child.values().map(|&n| pairs(n)).sum();
    accuracy.right_pairs = per_cell.values().map(|&n| pairs(n)).sum();
    accuracy.precision = if accuracy.linked_pairs == 0 {
        1.0
    } else {
        accuracy.right_pairs as f64 / accuracy.linked_pairs as f64
    };
    accuracy.recall = if accuracy.true_pairs == 0 {
        1.0
    } else {
        accuracy.right_pairs as f64 / accuracy.true_pairs as f64
    };
    accuracy.f1 = if accuracy.precision + accuracy.recall == 0.0 {
        0.0
    } else {
        2.0 * accuracy.precision * accuracy.recall / (accuracy.precision + accuracy.recall)
    };
    let mut children_of_person: Vec<u32> = vec![0; per_person.len()];
    let mut people_of_child: HashMap<u32, u32> = HashMap::new();
    for &(child, person) in per_cell.keys() {
        children_of_person[person as usize] += 1;
        *people_of_child.entry(child).or_default() += 1;
    }
    accuracy.split_children = children_of_person.iter().filter(|&&n| n > 1).count() as u64;
    let mut merged = vec![false; per_person.len()];
    for &(child, person) in per_cell.keys() {
        if people_of_child[&child] > 1 {
            merged[person as usize] = true;
        }
    }
    accuracy.merged_children = merged.iter().filter(|&&m| m).count() as u64;
    accuracy.children_with_exceptions = with_exception.iter().filter(|&&e| e).count() as u64;

    // Each person's main child: the one holding most of their rows.
    let mut main_child: Vec<Option<(u32, u64)>> = vec![None; per_person.len()];
    for (&(child, person), &n) in &per_cell {
        let main = &mut main_child[person as usize];
        if main.is_none_or(|(c, m)| n > m || (n == m && child < c)) {
            *main = Some((child, n));
        }
    }
    for (truth, placed) in records {
        if truth.expected_rejected {
            continue;
        }
        let person = people[&truth.person] as usize;
        let main = main_child[person].map(|(c, _)| c);
        let astray = accuracy.astray.entry(truth.source.clone()).or_default();
        astray.rows += 1;
        match placed {
            Placed::Child(id) if Some(children[id]) != main => astray.other_child += 1,
            Placed::Exception => astray.exception += 1,
            Placed::Rejected | Placed::Missing => astray.rejected += 1,
            Placed::Child(_) => astray.rows -= 1,
        }
    }
    accuracy
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good(person: &str, placed: Placed) -> (Truth, Placed) {
        (
            Truth {
                source: "nhs_demographics".to_owned(),
                person: person.to_owned(),
                expected_rejected: false,
            },
            placed,
        )
    }

    fn on(child: &str) -> Placed {
        Placed::Child(child.to_owned())
    }

    #[test]
    fn a_perfect_linkage_scores_one_everywhere() {
        let accuracy = measure(&[
            good("p1", on("c1")),
            good("p1", on("c1")),
            good("p1", on("c1")),
            good("p2", on("c2")),
            good("p2", on("c2")),
        ]);
        assert_eq!(accuracy.true_pairs, 4);
        assert_eq!(accuracy.linked_pairs, 4);
        assert_eq!(accuracy.right_pairs, 4);
        assert_eq!(
            (accuracy.precision, accuracy.recall, accuracy.f1),
            (1.0, 1.0, 1.0)
        );
        assert_eq!(accuracy.split_children, 0);
        assert_eq!(accuracy.merged_children, 0);
    }

    #[test]
    fn a_split_child_costs_recall_and_is_counted_split() {
        // p1 has three records: two on c1, one on c9. True pairs 3, right pairs 1.
        let accuracy = measure(&[
            good("p1", on("c1")),
            good("p1", on("c1")),
            good("p1", on("c9")),
        ]);
        assert_eq!(accuracy.true_pairs, 3);
        assert_eq!(accuracy.right_pairs, 1);
        assert_eq!(accuracy.linked_pairs, 1);
        assert_eq!(accuracy.precision, 1.0);
        assert!((accuracy.recall - 1.0 / 3.0).abs() < 1e-12);
        assert!((accuracy.f1 - 0.5).abs() < 1e-12);
        assert_eq!(accuracy.split_children, 1);
        assert_eq!(accuracy.split_share(), 1.0);
        let astray = &accuracy.astray["nhs_demographics"];
        assert_eq!(
            (astray.rows, astray.other_child),
            (1, 1),
            "the lone row on c9 is astray"
        );
    }

    #[test]
    fn two_children_on_one_record_cost_precision_and_are_both_counted_merged() {
        // c1 holds p1 twice and p2 once: linked pairs 3, right 1; p3 alone is untouched.
        let accuracy = measure(&[
            good("p1", on("c1")),
            good("p1", on("c1")),
            good("p2", on("c1")),
            good("p3", on("c3")),
        ]);
        assert_eq!(accuracy.linked_pairs, 3);
        assert_eq!(accuracy.right_pairs, 1);
        assert_eq!(accuracy.true_pairs, 1);
        assert!((accuracy.precision - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(accuracy.recall, 1.0);
        assert_eq!(accuracy.merged_children, 2);
        assert_eq!(accuracy.children, 3);
        assert!((accuracy.merged_share() - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn an_exception_costs_recall_but_not_precision() {
        let accuracy = measure(&[good("p1", on("c1")), good("p1", Placed::Exception)]);
        assert_eq!(accuracy.true_pairs, 1);
        assert_eq!(accuracy.right_pairs, 0);
        assert_eq!(accuracy.precision, 1.0);
        assert_eq!(accuracy.recall, 0.0);
        assert_eq!(accuracy.exceptions, 1);
        assert_eq!(accuracy.children_with_exceptions, 1);
        assert_eq!(accuracy.exception_share(), 0.5);
        assert_eq!(accuracy.astray["nhs_demographics"].exception, 1);
    }

    #[test]
    fn bad_rows_are_judged_apart_and_good_rows_rejected_or_missing_are_counted() {
        let bad = |placed| {
            (
                Truth {
                    source: "nhs_demographics".to_owned(),
                    person: "p1".to_owned(),
                    expected_rejected: true,
                },
                placed,
            )
        };
        let accuracy = measure(&[
            bad(Placed::Rejected),
            bad(on("c1")),
            good("p1", on("c1")),
            good("p1", Placed::Rejected),
            good("p2", Placed::Missing),
        ]);
        assert_eq!(accuracy.records, 3);
        assert_eq!(accuracy.wrongly_accepted, 1);
        assert_eq!(accuracy.wrongly_rejected, 1);
        assert_eq!(accuracy.missing, 1);
        assert_eq!(accuracy.on_a_child, 1);
        assert_eq!(accuracy.true_pairs, 1);
        assert_eq!(accuracy.linked_pairs, 0);
        assert_eq!(accuracy.recall, 0.0);
    }
}
