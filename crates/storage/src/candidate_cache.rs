//! A bulk load's own copy of what matching reads: every child a supplied record could be
//! linked to, and the search keys that reach each. An initial load of a national file reads
//! the same few hundred thousand children again and again, forty at a time; from memory each
//! record costs a count over its keys instead of two statements that read and aggregate
//! hundreds of index entries.
//!
//! The copy answers exactly as the statements would (`link_candidates`: the children sharing
//! the most keys, most first and then by id, forty at most, handed over in id order), and the
//! batch that changes a child brings the copy up to date: as it places its records, and with
//! what it reads back in its transaction once it has committed (`CopyUpdate`). It is only
//! trusted while nothing else writes to the directory: each batch first checks the newest
//! audit entry and the highest child id against what the copy last saw (`DirectoryMark`), and
//! once anything else has written, the import reads from the database for the rest of its
//! file.

use crate::supply::LinkCandidate;
use contactpoint_domain::SourceCode;
use std::collections::HashMap;
use std::sync::Arc;

/// The copy's maps, and the sets of child ids a batch looks each candidate up in, hash with
/// foldhash: they are keyed by integers (child ids, and search keys that are hashes already)
/// and looked up tens of times a record (choosing a record's candidates is nearly all looking
/// its keys up), and the standard library's SipHash costs several times what foldhash does on
/// an integer. Each is seeded at random, so no supplied name can be made to collide on purpose.
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A set of child ids, hashed as the copy's maps are (`Map`).
pub(crate) type IdSet = std::collections::HashSet<i64, foldhash::fast::RandomState>;

/// How many children, at most, one supplied record is compared with.
pub(crate) const LINK_CANDIDATE_LIMIT: usize = 40;

/// What the directory looked like when the copy was last brought up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct DirectoryMark {
    pub newest_audit_entry: i64,
    pub highest_child_id: i64,
}

/// What a batch read back for the load's copy as it finished (the children it wrote that
/// the copy could not take in as it placed them), taken in once the batch has committed: the
/// copy is not read from while a batch commits, but the next batch may be scored against it.
#[derive(Debug, Default)]
pub struct CopyUpdate {
    /// In the order read: a child read twice is held as read last.
    read_back: Vec<ReadBack>,
    mark: DirectoryMark,
}

/// One child read back: as she now is, or gone from the directory.
#[derive(Debug)]
pub(crate) enum ReadBack {
    Held(Box<LinkCandidate>),
    Gone(i64),
}

impl CopyUpdate {
    pub(crate) fn read(&mut self, read_back: impl IntoIterator<Item = ReadBack>) {
        self.read_back.extend(read_back);
    }

    pub(crate) fn marked(mut self, mark: DirectoryMark) -> Self {
        self.mark = mark;
        self
    }
}

/// The children a record's keys reached when its batch was scored ahead, and when: placing
/// the record chooses again only if a child has since been filed under one of its keys or
/// taken from one (`CandidateCache::chosen_again`). A profile of placing the NHS file put about
/// a quarter of its time in choosing again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenAhead {
    /// The copy it was chosen in (`CandidateCache::copy`).
    copy: u64,
    /// How many times the copy's lists of children under a key had changed then.
    as_of: u64,
    ids: Vec<i64>,
}

/// The children filed under one search key, and when that list last changed
/// (`CandidateCache::edits`).
#[derive(Debug, Default)]
struct Filed {
    ids: Vec<i64>,
    changed: u64,
}

/// Children and their search keys, held in memory for one import.
#[derive(Debug, Default)]
pub struct CandidateCache {
    /// Shared with the records that are handed them: a candidate is compared, not copied.
    children: Map<i64, Arc<LinkCandidate>>,
    /// A key's list is kept once made, even emptied: a key not here now was never filed
    /// under, so it reached no child when an earlier choice was made either.
    children_under: Map<i64, Filed>,
    keys_of: Map<i64, Box<[i64]>>,
    /// How many times a list of `children_under` has changed: a choice made earlier is the
    /// choice still while none of its keys' lists has changed since.
    edits: u64,
    /// This copy among the load's copies, so a choice made in one is never taken in another.
    copy: u64,
    pub(crate) mark: DirectoryMark,
    /// False once something else wrote to the directory: the import reads the database.
    pub(crate) trusted: bool,
}

impl CandidateCache {
    /// How many children the copy holds.
    pub fn len(&self) -> usize {
        self.children.len()
    }

    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// What the copy holds of a child, as a record would be handed it.
    pub fn held(&self, child_id: i64) -> Option<&LinkCandidate> {
        self.children.get(&child_id).map(|child| &**child)
    }

    /// Whether the import may still read from the copy.
    pub fn trusted(&self) -> bool {
        self.trusted
    }

    pub(crate) fn new(mark: DirectoryMark) -> Self {
        static COPIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Self {
            mark,
            trusted: true,
            copy: COPIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            ..Self::default()
        }
    }

    /// The ids of the children sharing the most of `keys` (a set, without repeats), as the
    /// statement chooses them, in id order.
    pub(crate) fn chosen(&self, keys: &[i64]) -> Vec<i64> {
        // Copied list by list: element by element through a flattening iterator took a
        // twentieth of a load.
        let lists: Vec<&Vec<i64>> = keys
            .iter()
            .filter_map(|key| self.children_under.get(key))
            .map(|filed| &filed.ids)
            .collect();
        let mut reached: Vec<i64> = Vec::with_capacity(lists.iter().map(|ids| ids.len()).sum());
        for ids in lists {
            reached.extend_from_slice(ids);
        }
        reached.sort_unstable();
        let mut counted: Vec<(usize, i64)> = reached
            .chunk_by(|a, b| a == b)
            .map(|same| (same.len(), same[0]))
            .collect();
        counted.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        counted.truncate(LINK_CANDIDATE_LIMIT);
        let mut ids: Vec<i64> = counted.into_iter().map(|(_, id)| id).collect();
        ids.sort_unstable();
        ids
    }

    /// The children a record with `keys` would be handed from the copy (`chosen`), in id
    /// order, leaving out any the copy does not hold (the batch reads those from the
    /// database). The copy's own candidates, shared: one still the same allocation when the
    /// batch hands it over is the child exactly as it was here. With them, the choice they
    /// came from, for placing the record later (`chosen_again`).
    pub fn held_candidates(&self, keys: &[i64]) -> (ChosenAhead, Vec<Arc<LinkCandidate>>) {
        let ids = self.chosen(keys);
        let held = ids
            .iter()
            .filter_map(|id| self.children.get(id).cloned())
            .collect();
        let chosen = ChosenAhead {
            copy: self.copy,
            as_of: self.edits,
            ids,
        };
        (chosen, held)
    }

    /// What `chosen` gives for `keys` now: the choice made `ahead` while no child has been
    /// filed under any of the keys or taken from one since (the choice reads nothing else),
    /// otherwise a choice made afresh.
    pub(crate) fn chosen_again(&self, keys: &[i64], ahead: Option<&ChosenAhead>) -> Vec<i64> {
        match ahead {
            Some(ahead) if ahead.copy == self.copy && self.unchanged_since(keys, ahead.as_of) => {
                ahead.ids.clone()
            }
            _ => self.chosen(keys),
        }
    }

    /// Whether no list of a child under one of `keys` has changed after `as_of` edits.
    fn unchanged_since(&self, keys: &[i64], as_of: u64) -> bool {
        keys.iter().all(|key| {
            self.children_under
                .get(key)
                .is_none_or(|filed| filed.changed <= as_of)
        })
    }

    /// The database ids of the children held.
    pub fn child_ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.children.keys().copied()
    }

    pub(crate) fn child(&self, id: i64) -> Option<&Arc<LinkCandidate>> {
        self.children.get(&id)
    }

    /// Takes in what a committed batch read back, and trusts the copy again as of the
    /// directory it committed.
    pub(crate) fn take_in(&mut self, update: CopyUpdate) {
        self.take_read_back(update.read_back);
        self.mark = update.mark;
        self.trusted = true;
    }

    /// Holds each child read back as read (forgets one gone from the directory).
    pub(crate) fn take_read_back(&mut self, read_back: Vec<ReadBack>) {
        for child in read_back {
            match child {
                ReadBack::Held(child) => self.put(*child),
                ReadBack::Gone(child_id) => self.forget(child_id),
            }
        }
    }

    /// Holds `child` as it is now (replacing what was held).
    pub(crate) fn put(&mut self, child: LinkCandidate) {
        self.children.insert(child.child_id, Arc::new(child));
    }

    /// Notes that `source` placed a record on the held child `child_id`, as reading the child
    /// again would show it (the suppliers in code order, each once); false when the child is
    /// not held.
    pub(crate) fn supplied(&mut self, child_id: i64, source: &SourceCode) -> bool {
        let Some(child) = self.children.get_mut(&child_id) else {
            return false;
        };
        if !child.supplied_by.contains(source) {
            Arc::make_mut(child).note_supplier(source);
        }
        true
    }

    /// Files `child_id` under exactly `keys` (its keys before are forgotten).
    pub(crate) fn index(&mut self, child_id: i64, keys: Vec<i64>) {
        self.forget_keys(child_id);
        for key in &keys {
            self.edits += 1;
            let filed = self.children_under.entry(*key).or_default();
            filed.ids.push(child_id);
            filed.changed = self.edits;
        }
        if !keys.is_empty() {
            self.keys_of.insert(child_id, keys.into_boxed_slice());
        }
    }

    /// Forgets a child altogether (merged away, or no longer in the directory).
    pub(crate) fn forget(&mut self, child_id: i64) {
        self.forget_keys(child_id);
        self.children.remove(&child_id);
    }

    fn forget_keys(&mut self, child_id: i64) {
        let Some(keys) = self.keys_of.remove(&child_id) else {
            return;
        };
        for key in keys.iter() {
            if let Some(filed) = self.children_under.get_mut(key) {
                self.edits += 1;
                filed.ids.retain(|id| *id != child_id);
                filed.changed = self.edits;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filed(entries: &[(i64, &[i64])]) -> CandidateCache {
        let mut cache = CandidateCache::new(DirectoryMark::default());
        for (child, keys) in entries {
            cache.index(*child, keys.to_vec());
        }
        cache
    }

    #[test]
    fn the_children_sharing_most_keys_are_chosen_ties_by_lowest_id_and_handed_over_in_id_order() {
        let cache = filed(&[
            (7, &[1, 2, 3]),
            (3, &[1, 2]),
            (5, &[1, 2]),
            (9, &[1]),
            (4, &[8]),
        ]);
        assert_eq!(cache.chosen(&[1, 2, 3]), vec![3, 5, 7, 9]);
        assert_eq!(cache.chosen(&[8]), vec![4]);
        assert!(cache.chosen(&[99]).is_empty());
    }

    #[test]
    fn at_most_forty_are_chosen() {
        let mut cache = CandidateCache::new(DirectoryMark::default());
        for child in 1..=100 {
            let keys = if child > 60 { vec![1, 2] } else { vec![1] };
            cache.index(child, keys);
        }
        let chosen = cache.chosen(&[1, 2]);
        assert_eq!(chosen.len(), LINK_CANDIDATE_LIMIT);
        assert_eq!(
            chosen,
            (61..=100).collect::<Vec<i64>>(),
            "the forty sharing two keys"
        );
    }

    #[test]
    fn a_choice_made_earlier_is_kept_only_while_no_child_is_filed_under_or_taken_from_its_keys() {
        let mut cache = filed(&[(1, &[10, 11]), (2, &[11]), (3, &[20])]);
        let (chosen, held) = cache.held_candidates(&[10, 11, 12]);
        assert_eq!(chosen.ids, vec![1, 2]);
        assert!(held.is_empty(), "none of them is held, only filed");
        // A choice that differs from what choosing gives shows which of the two was taken.
        let marked = ChosenAhead {
            ids: vec![99],
            ..chosen
        };
        let again = |cache: &CandidateCache| cache.chosen_again(&[10, 11, 12], Some(&marked));
        assert_eq!(
            again(&cache),
            vec![99],
            "nothing has changed: the choice is kept"
        );

        cache.index(3, vec![21]);
        cache.index(4, vec![30]);
        assert_eq!(again(&cache), vec![99], "only other keys' lists changed");

        cache.index(5, vec![12]);
        assert_eq!(
            again(&cache),
            vec![1, 2, 5],
            "a child filed under a key it had none under"
        );

        let mut cache = filed(&[(1, &[10, 11]), (2, &[11])]);
        let marked = ChosenAhead {
            ids: vec![99],
            ..cache.held_candidates(&[10, 11]).0
        };
        cache.forget(2);
        assert_eq!(
            cache.chosen_again(&[10, 11], Some(&marked)),
            vec![1],
            "a child taken from one of its keys"
        );

        let mut cache = filed(&[(1, &[10])]);
        let marked = ChosenAhead {
            ids: vec![99],
            ..cache.held_candidates(&[10]).0
        };
        cache.index(1, vec![11]);
        cache.index(1, vec![10]);
        assert_eq!(
            cache.chosen_again(&[10], Some(&marked)),
            vec![1],
            "a list emptied and filled again has still changed"
        );
        assert_eq!(cache.chosen_again(&[10], None), vec![1]);

        let other = filed(&[(1, &[10])]);
        let from_another_copy = ChosenAhead {
            copy: other.copy + 1,
            as_of: other.edits,
            ids: vec![99],
        };
        assert_eq!(other.chosen_again(&[10], Some(&from_another_copy)), vec![1]);
    }

    #[test]
    fn a_child_filed_again_is_reached_only_by_its_new_keys_and_a_forgotten_one_by_none() {
        let mut cache = filed(&[(1, &[10, 11]), (2, &[11])]);
        cache.index(1, vec![12]);
        assert_eq!(cache.chosen(&[10]), Vec::<i64>::new());
        assert_eq!(cache.chosen(&[11]), vec![2]);
        assert_eq!(cache.chosen(&[12]), vec![1]);
        cache.forget(2);
        assert!(cache.chosen(&[11]).is_empty());
    }
}
