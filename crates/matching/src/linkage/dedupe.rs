//! Duplicates within one source: pairs from blocking, scored, and those at or above a
//! probability joined into clusters (union-find), so that A~B and B~C make one cluster.

use super::blocking::{candidate_pairs, DEFAULT_MAX_BLOCK};
use super::model::Model;
use super::normalise::NormalisedPerson;

/// Two records of one source that are probably one child.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DuplicatePair {
    pub a: usize,
    pub b: usize,
    pub weight: f64,
    pub probability: f64,
}

/// Records that are probably one child: their positions in the slice, ascending, and the
/// pairs that joined them.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateCluster {
    pub members: Vec<usize>,
    pub pairs: Vec<DuplicatePair>,
}

/// Union-find with path halving and union by size.
#[derive(Debug)]
struct Sets {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl Sets {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a] < self.size[b] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b] = a;
        self.size[a] += self.size[b];
    }
}

/// Clusters of records in one source that are probably one child: every pair sharing a
/// blocking key is scored with `model`, and pairs at or above `min_probability` are
/// joined. Clusters come in order of their first member; records with no duplicate are in
/// none.
pub fn find_duplicates(
    records: &[NormalisedPerson],
    model: &Model,
    min_probability: f64,
) -> Vec<DuplicateCluster> {
    let mut pairs = Vec::new();
    for (a, b) in candidate_pairs(records, DEFAULT_MAX_BLOCK) {
        let score = model.score(&records[a], &records[b]);
        if score.probability >= min_probability {
            pairs.push(DuplicatePair {
                a,
                b,
                weight: score.weight,
                probability: score.probability,
            });
        }
    }
    let mut sets = Sets::new(records.len());
    for pair in &pairs {
        sets.union(pair.a, pair.b);
    }
    let mut clusters: Vec<DuplicateCluster> = Vec::new();
    let mut cluster_of: std::collections::HashMap<usize, usize> = Default::default();
    for pair in pairs {
        let root = sets.find(pair.a);
        let n = *cluster_of.entry(root).or_insert_with(|| {
            clusters.push(DuplicateCluster {
                members: Vec::new(),
                pairs: Vec::new(),
            });
            clusters.len() - 1
        });
        clusters[n].pairs.push(pair);
        clusters[n].members.extend([pair.a, pair.b]);
    }
    for cluster in &mut clusters {
        cluster.members.sort_unstable();
        cluster.members.dedup();
    }
    clusters.sort_by_key(|c| c.members[0]);
    clusters
}
