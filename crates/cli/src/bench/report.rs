//! What the benchmark measured, judged against the known answers, as text or JSON.

use super::candidates::{ExtraKey, QueryCandidates};
use super::queries::{BenchQuery, Perturbation};
use super::setup::Prepared;
use super::SearchArgs;
use axum::http::StatusCode;
use chrono::NaiveDate;
use contactpoint_domain::search::{SearchCriteria, RESULT_CAP, SHOWN_FROM};
use contactpoint_domain::ChildRecord;
use contactpoint_matching::search::{KeyKind, Query};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;
use std::time::Duration;

/// A reply and how long it took, from sending the request to the last byte of the body.
#[derive(Debug, Clone)]
pub struct Timed<T> {
    pub latency: Duration,
    pub value: T,
}

/// One child in a search's results.
#[derive(Debug, Clone)]
pub struct Hit {
    pub id: String,
    pub score: f64,
}

#[derive(Debug, Clone)]
pub enum SearchReply {
    Found(Vec<Hit>),
    /// 422 `too_many_matches`.
    TooMany,
    /// Anything else: the status and the error code.
    Refused {
        status: u16,
        code: String,
    },
}

impl SearchReply {
    pub fn read(status: StatusCode, body: &[u8]) -> Self {
        let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let code = || {
            json["error"]["code"]
                .as_str()
                .or_else(|| json["code"].as_str())
                .unwrap_or_default()
                .to_owned()
        };
        match status {
            StatusCode::OK => Self::Found(
                json["results"]
                    .as_array()
                    .map(|results| {
                        results
                            .iter()
                            .map(|r| Hit {
                                id: r["contactpoint_id"].as_str().unwrap_or_default().to_owned(),
                                score: r["score"].as_f64().unwrap_or_default(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY => Self::TooMany,
            other => Self::Refused {
                status: other.as_u16(),
                code: code(),
            },
        }
    }

    fn first_id(&self) -> Option<&str> {
        match self {
            Self::Found(hits) => hits.first().map(|h| h.id.as_str()),
            _ => None,
        }
    }
}

/// One pass over every search at one concurrency.
#[derive(Debug)]
pub struct Pass {
    pub concurrency: usize,
    latencies: Vec<Duration>,
    replies: Vec<SearchReply>,
    wall: Duration,
}

/// Replies other than 200 and 422, by status.
fn failures(replies: &[SearchReply]) -> BTreeMap<u16, usize> {
    let mut out = BTreeMap::new();
    for reply in replies {
        if let SearchReply::Refused { status, .. } = reply {
            *out.entry(*status).or_default() += 1;
        }
    }
    out
}

impl Pass {
    pub fn new(concurrency: usize, timed: Vec<Timed<SearchReply>>, wall: Duration) -> Self {
        let (latencies, replies) = timed.into_iter().map(|t| (t.latency, t.value)).unzip();
        Self {
            concurrency,
            latencies,
            replies,
            wall,
        }
    }
}

/// Percentiles in milliseconds and the rate achieved.
#[derive(Debug, Clone, Copy)]
struct Latency {
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
    per_second: f64,
}

impl Latency {
    fn of(latencies: &[Duration], wall: Duration) -> Self {
        let mut ms: Vec<f64> = latencies.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        let at = |p: f64| {
            if ms.is_empty() {
                return 0.0;
            }
            let rank = ((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len());
            ms[rank - 1]
        };
        Self {
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: ms.last().copied().unwrap_or_default(),
            per_second: latencies.len() as f64 / wall.as_secs_f64().max(f64::EPSILON),
        }
    }

    fn json(&self) -> Value {
        json!({"p50_ms": round(self.p50), "p95_ms": round(self.p95), "p99_ms": round(self.p99),
               "max_ms": round(self.max), "per_second": round(self.per_second)})
    }
}

/// Latency by concurrency, with the replies that failed.
fn latency_table(out: &mut String, rate: &str, rows: &[(usize, Latency, BTreeMap<u16, usize>)]) {
    let _ = writeln!(
        out,
        "  {:>11} {:>9} {:>9} {:>9} {:>9} {rate:>12}  failed",
        "concurrency", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for (concurrency, l, failed) in rows {
        let failed = if failed.is_empty() {
            "none".to_owned()
        } else {
            failed
                .iter()
                .map(|(status, n)| format!("{n} x {status}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            out,
            "  {:>11} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>12.1}  {failed}",
            concurrency, l.p50, l.p95, l.p99, l.max, l.per_second
        );
    }
}

fn latency_json(rows: &[(usize, Latency, BTreeMap<u16, usize>)]) -> Vec<Value> {
    rows.iter()
        .map(|(concurrency, l, failed)| {
            let mut v = l.json();
            v["concurrency"] = json!(concurrency);
            v["failed"] = failed
                .iter()
                .map(|(s, n)| (s.to_string(), json!(n)))
                .collect::<serde_json::Map<_, _>>()
                .into();
            v
        })
        .collect()
}

/// The spread of a count over searches.
#[derive(Debug, Clone, Copy, Default)]
struct Spread {
    mean: f64,
    p50: usize,
    p95: usize,
    p99: usize,
    max: usize,
}

impl Spread {
    fn of(values: &[usize]) -> Self {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        let at = |p: f64| {
            if sorted.is_empty() {
                return 0;
            }
            sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
        };
        Self {
            mean: sorted.iter().sum::<usize>() as f64 / sorted.len().max(1) as f64,
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: sorted.last().copied().unwrap_or_default(),
        }
    }

    fn json(&self) -> Value {
        json!({"mean": round(self.mean), "p50": self.p50, "p95": self.p95, "p99": self.p99, "max": self.max})
    }
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Why a search did not rank its child first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Cause {
    /// None of the keys the search probed is one the child is indexed under.
    NotReached,
    /// Reached, but scored below the threshold for being shown.
    ScoredBelowThreshold,
    /// Another child fits the same as the child searched for (both are shown with one score),
    /// and came first by the tie-break (ContactPoint ID order): the search cannot tell them apart.
    TiedWithAnother,
    /// Another child fits the search better than the child searched for.
    AnotherFitsBetter,
    /// Scored enough to be shown, yet missing from a list the cap did not cut: the store did
    /// not return it.
    Outranked,
    TooManyMatches,
    Refused,
}

impl Cause {
    fn code(self) -> &'static str {
        match self {
            Self::NotReached => "not_reached_by_any_key",
            Self::ScoredBelowThreshold => "scored_below_threshold",
            Self::TiedWithAnother => "tied_with_another_child",
            Self::AnotherFitsBetter => "another_child_fits_better",
            Self::Outranked => "outranked",
            Self::TooManyMatches => "too_many_matches",
            Self::Refused => "refused",
        }
    }
}

/// One search judged against its known answer.
#[derive(Debug, Clone)]
struct Judged {
    first: bool,
    present: bool,
    confident_wrong_first: bool,
    /// The wrong child first scored the same as the child searched for would.
    tied: bool,
    /// The score of the first result, when it is another child.
    other_first_score: Option<f64>,
    too_many: bool,
    empty: bool,
    refused: bool,
    target_score: f64,
    cause: Option<Cause>,
    /// How many other children fit the search as well as the child searched for could
    /// (`candidates::fits_as_well`), when the nation was drawn again to count them.
    fit_as_well: Option<usize>,
}

fn judge(
    query: &BenchQuery,
    spelt: Option<&Query>,
    record: &ChildRecord,
    reply: &SearchReply,
    today: NaiveDate,
) -> Judged {
    // The same keys and score the server computes, for the child searched for.
    let (reached, target_score) = match spelt {
        Some(matching) => {
            let findable = contactpoint_storage::findable(record);
            let indexed: HashSet<i64> = findable.index_keys().into_iter().collect();
            let reached = matching
                .probe_keys(SearchCriteria::plausible_birth_years(today))
                .iter()
                .any(|k| indexed.contains(k));
            (reached, matching.score(&findable))
        }
        None => (false, 0.0),
    };
    let mut judged = Judged {
        first: false,
        present: false,
        confident_wrong_first: false,
        tied: false,
        other_first_score: None,
        too_many: false,
        empty: false,
        refused: false,
        target_score,
        cause: None,
        fit_as_well: None,
    };
    match reply {
        SearchReply::Found(hits) => {
            judged.empty = hits.is_empty();
            judged.present = hits.iter().any(|h| h.id == query.target);
            judged.first = hits.first().is_some_and(|h| h.id == query.target);
            if let Some(top) = hits.first().filter(|h| h.id != query.target) {
                judged.confident_wrong_first = top.score >= 0.9;
                // Equal fits show equal scores (a score is the fit shared with near rivals).
                judged.tied = hits
                    .iter()
                    .any(|h| h.id == query.target && (h.score - top.score).abs() < 1e-9);
                judged.other_first_score = Some(top.score);
            }
        }
        SearchReply::TooMany => judged.too_many = true,
        SearchReply::Refused { .. } => judged.refused = true,
    }
    if !judged.first {
        judged.cause = Some(if judged.too_many {
            Cause::TooManyMatches
        } else if judged.refused {
            Cause::Refused
        } else if !reached {
            Cause::NotReached
        } else if target_score < SHOWN_FROM {
            Cause::ScoredBelowThreshold
        } else {
            let shown = match reply {
                SearchReply::Found(hits) => hits.len(),
                _ => 0,
            };
            if judged.tied {
                Cause::TiedWithAnother
            } else if judged.present || shown >= RESULT_CAP {
                // Shown lower, or left out by the cap under children fitting better.
                Cause::AnotherFitsBetter
            } else {
                Cause::Outranked
            }
        });
    }
    judged
}

/// Counts for one group of searches.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    queries: usize,
    first: usize,
    present: usize,
}

impl Tally {
    fn add(&mut self, j: &Judged) {
        self.queries += 1;
        self.first += usize::from(j.first);
        self.present += usize::from(j.present);
    }

    fn json(&self) -> Value {
        json!({"queries": self.queries, "target_first": share(self.first, self.queries),
               "target_present": share(self.present, self.queries)})
    }
}

fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        ((part as f64 / whole as f64) * 1_000_000.0).round() / 10_000.0
    }
}

#[derive(Debug)]
pub struct Report {
    backend: String,
    children: u64,
    seed: u64,
    as_of: NaiveDate,
    prepared: Prepared,
    queries: usize,
    searches: Vec<(usize, Latency, BTreeMap<u16, usize>)>,
    passes_disagree: usize,
    views: Vec<(usize, Latency, BTreeMap<u16, usize>)>,
    judged: Vec<Judged>,
    described: Vec<(String, String, String)>,
    by_kind: BTreeMap<String, Tally>,
    by_count: BTreeMap<usize, Tally>,
    by_shape: BTreeMap<String, Tally>,
    causes: BTreeMap<Cause, usize>,
    candidates: Option<Vec<QueryCandidates>>,
    show_candidates: bool,
    sequential_latencies: Vec<Duration>,
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        args: &SearchArgs,
        backend: &str,
        prepared: &Prepared,
        targets: &[ChildRecord],
        queries: &[BenchQuery],
        spelt: &[Option<Query>],
        today: NaiveDate,
        passes: Vec<Pass>,
        view_passes: Vec<(usize, Vec<Timed<StatusCode>>, Duration)>,
        candidates: Option<Vec<QueryCandidates>>,
    ) -> Self {
        let replies = &passes[0].replies;
        let mut judged: Vec<Judged> = queries
            .iter()
            .zip(spelt)
            .zip(targets)
            .zip(replies)
            .map(|(((q, spelt), r), reply)| judge(q, spelt.as_ref(), r, reply, today))
            .collect();
        if let Some(candidates) = &candidates {
            for (j, c) in judged.iter_mut().zip(candidates) {
                j.fit_as_well = Some(c.fit_as_well);
            }
        }
        let passes_disagree = passes
            .windows(2)
            .map(|w| {
                w[0].replies
                    .iter()
                    .zip(&w[1].replies)
                    .filter(|(a, b)| {
                        let answered = |r: &SearchReply| !matches!(r, SearchReply::Refused { .. });
                        answered(a) && answered(b) && a.first_id() != b.first_id()
                    })
                    .count()
            })
            .sum();
        let mut by_kind: BTreeMap<String, Tally> = BTreeMap::new();
        let mut by_count: BTreeMap<usize, Tally> = BTreeMap::new();
        let mut by_shape: BTreeMap<String, Tally> = BTreeMap::new();
        let mut causes: BTreeMap<Cause, usize> = BTreeMap::new();
        for (q, j) in queries.iter().zip(&judged) {
            if q.perturbations.is_empty() {
                by_kind.entry("exact".into()).or_default().add(j);
            }
            for p in &q.perturbations {
                by_kind.entry(p.code().into()).or_default().add(j);
            }
            by_count.entry(q.perturbations.len()).or_default().add(j);
            by_shape.entry(q.shape.code()).or_default().add(j);
            if let Some(cause) = j.cause {
                *causes.entry(cause).or_default() += 1;
            }
        }
        let views = view_passes
            .iter()
            .map(|(concurrency, views, wall)| {
                let mut not_ok = BTreeMap::new();
                for v in views {
                    if v.value != StatusCode::OK {
                        *not_ok.entry(v.value.as_u16()).or_default() += 1;
                    }
                }
                let latencies: Vec<Duration> = views.iter().map(|v| v.latency).collect();
                (*concurrency, Latency::of(&latencies, *wall), not_ok)
            })
            .collect();
        let described = queries
            .iter()
            .zip(replies)
            .map(|(q, reply)| {
                let got = match reply {
                    SearchReply::Found(hits) if hits.is_empty() => "no results".to_owned(),
                    SearchReply::Found(hits) => hits
                        .iter()
                        .take(3)
                        .map(|h| {
                            let marker = if h.id == q.target { "*" } else { "" };
                            format!("{marker}{} {:.2}", h.id, h.score)
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                    SearchReply::TooMany => "422 too_many_matches".to_owned(),
                    SearchReply::Refused { status, code } => format!("{status} {code}"),
                };
                (q.kinds(), q.describe(), got)
            })
            .collect();
        Self {
            backend: backend.to_owned(),
            children: args.children,
            seed: args.seed,
            as_of: args.as_of,
            prepared: prepared.clone(),
            queries: queries.len(),
            searches: passes
                .iter()
                .map(|p| {
                    (
                        p.concurrency,
                        Latency::of(&p.latencies, p.wall),
                        failures(&p.replies),
                    )
                })
                .collect(),
            passes_disagree,
            views,
            judged,
            described,
            by_kind,
            by_count,
            by_shape,
            causes,
            candidates,
            show_candidates: args.count_candidates,
            sequential_latencies: passes[0].latencies.clone(),
        }
    }

    fn count(&self, f: impl Fn(&Judged) -> bool) -> usize {
        self.judged.iter().filter(|j| f(j)).count()
    }

    fn quality(&self) -> Vec<(&'static str, &'static str, usize)> {
        vec![
            (
                "target_first",
                "target ranked first",
                self.count(|j| j.first),
            ),
            (
                "target_present",
                "target anywhere in the results",
                self.count(|j| j.present),
            ),
            (
                "confident_wrong_first",
                "wrong child first with score >= 0.9",
                self.count(|j| j.confident_wrong_first),
            ),
            (
                "confident_wrong_first_tied",
                "  of which tied with the target's own score",
                self.count(|j| j.confident_wrong_first && j.tied),
            ),
            (
                "too_many_matches",
                "too many matches (422)",
                self.count(|j| j.too_many),
            ),
            ("empty", "no results", self.count(|j| j.empty)),
            (
                "refused",
                "refused (other status)",
                self.count(|j| j.refused),
            ),
        ]
    }

    /// When the nation was drawn again: how many searches another child fits exactly as well
    /// as the child searched for, and the judgements of the rest.
    fn resolvable(&self) -> Option<(usize, Vec<&Judged>)> {
        if self.judged.iter().any(|j| j.fit_as_well.is_none()) {
            return None;
        }
        let unresolvable = self
            .judged
            .iter()
            .filter(|j| j.fit_as_well > Some(0))
            .count();
        let rest = self
            .judged
            .iter()
            .filter(|j| j.fit_as_well == Some(0))
            .collect();
        Some((unresolvable, rest))
    }

    /// Searches that single their child out: not refused as too many, and no other child
    /// fitting them as well or better. Returns (those ranking their child first, all such).
    fn singled_out(&self) -> (usize, usize) {
        let ambiguous = |j: &Judged| {
            matches!(
                j.cause,
                Some(Cause::TooManyMatches | Cause::TiedWithAnother | Cause::AnotherFitsBetter)
            )
        };
        let eligible: Vec<&Judged> = self.judged.iter().filter(|j| !ambiguous(j)).collect();
        (eligible.iter().filter(|j| j.first).count(), eligible.len())
    }

    fn database_line(&self) -> String {
        match &self.prepared {
            Prepared::Reused => "reused (already held the nation)".to_owned(),
            Prepared::Generated { seconds, summary } => format!(
                "generated and loaded in {seconds:.1} s ({:.0} children a second, {} services, {} practitioners)",
                summary.children as f64 / seconds.max(f64::EPSILON),
                summary.services,
                summary.practitioners
            ),
        }
    }

    pub fn text(&self, show_misses: usize) -> String {
        let mut out = String::new();
        let n = self.queries;
        let _ = writeln!(out, "ContactPoint search benchmark");
        let _ = writeln!(
            out,
            "Nation:   {} children, seed {}, as of {} on {}; {}",
            self.children,
            self.seed,
            self.as_of,
            self.backend,
            self.database_line()
        );
        let _ = writeln!(
            out,
            "Searches: {n} for known children ({} exact, {} with one perturbation, {} with two); a warm-up of up to 100 is not counted",
            self.by_count.get(&0).map_or(0, |t| t.queries),
            self.by_count.get(&1).map_or(0, |t| t.queries),
            self.by_count.get(&2).map_or(0, |t| t.queries),
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Search latency (GET /api/children through the router: session, search, scoring, audit write)"
        );
        latency_table(&mut out, "searches/s", &self.searches);
        if self.passes_disagree > 0 {
            let _ = writeln!(
                out,
                "  {} searches put a different child first in the concurrent pass",
                self.passes_disagree
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Audited views (POST /api/children/{{id}}/view, reason coordinating_support)"
        );
        latency_table(&mut out, "views/s", &self.views);
        let _ = writeln!(out);
        let _ = writeln!(out, "Search quality ({n} searches, one at a time)");
        for (_, label, count) in self.quality() {
            let _ = writeln!(out, "  {label:<46} {:>8.2}%  ({count})", share(count, n));
        }
        let (first, eligible) = self.singled_out();
        let _ = writeln!(
            out,
            "  {:<46} {:>8.2}%  ({first} of {eligible})",
            "target first where no other child fits as well",
            share(first, eligible)
        );
        let _ = writeln!(
            out,
            "  (leaves out searches refused as too many and those another child fits as well or better)"
        );
        if let Some((unresolvable, rest)) = self.resolvable() {
            let _ = writeln!(
                out,
                "  {:<46} {:>8.2}%  ({unresolvable})",
                "another child fits exactly as well",
                share(unresolvable, n)
            );
            let _ = writeln!(
                out,
                "  (on every criterion given it fits exactly or has the target's own value: no search can single the target out)"
            );
            let m = rest.len();
            for (label, count) in [
                (
                    "of the rest, target ranked first",
                    rest.iter().filter(|j| j.first).count(),
                ),
                (
                    "of the rest, target anywhere",
                    rest.iter().filter(|j| j.present).count(),
                ),
                (
                    "of the rest, wrong first with score >= 0.9",
                    rest.iter().filter(|j| j.confident_wrong_first).count(),
                ),
            ] {
                let _ = writeln!(
                    out,
                    "  {label:<46} {:>8.2}%  ({count} of {m})",
                    share(count, m)
                );
            }
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Target first by perturbation (a search with two counts under both)"
        );
        let table = |out: &mut String, title: &str, rows: Vec<(String, Tally)>| {
            let _ = writeln!(
                out,
                "  {title:<28} {:>8} {:>9} {:>9}",
                "searches", "first", "present"
            );
            for (name, t) in rows {
                let _ = writeln!(
                    out,
                    "  {name:<28} {:>8} {:>8.2}% {:>8.2}%",
                    t.queries,
                    share(t.first, t.queries),
                    share(t.present, t.queries)
                );
            }
        };
        let mut kinds: Vec<(String, Tally)> = Vec::new();
        if let Some(t) = self.by_kind.get("exact") {
            kinds.push(("exact".into(), *t));
        }
        for p in Perturbation::ALL {
            if let Some(t) = self.by_kind.get(p.code()) {
                kinds.push((p.code().into(), *t));
            }
        }
        table(&mut out, "kind", kinds);
        let _ = writeln!(out);
        table(
            &mut out,
            "perturbations",
            self.by_count
                .iter()
                .map(|(k, t)| (k.to_string(), *t))
                .collect(),
        );
        let _ = writeln!(out);
        table(
            &mut out,
            "criteria given",
            self.by_shape.iter().map(|(k, t)| (k.clone(), *t)).collect(),
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "Searches not ranking their child first, by cause");
        if self.causes.is_empty() {
            let _ = writeln!(out, "  none");
        }
        for (cause, count) in &self.causes {
            let _ = writeln!(out, "  {:<28} {count:>8}", cause.code());
        }
        if let Some(candidates) = self.candidates.as_ref().filter(|_| self.show_candidates) {
            self.candidates_text(&mut out, candidates);
        }
        if show_misses > 0 {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "Misses (kinds | search | first results, * the child searched for | cause, the child's own score)"
            );
            for ((kinds, search, got), j) in self
                .described
                .iter()
                .zip(&self.judged)
                .filter(|(_, j)| !j.first)
                .take(show_misses)
            {
                let _ = writeln!(
                    out,
                    "  {kinds} | {search} | {got} | {} {:.2}",
                    j.cause.map_or("", Cause::code),
                    j.target_score
                );
            }
        }
        out
    }

    /// The searches no key reached, and each extra key: how many of them it reaches, and
    /// how many more children it makes a search read.
    fn extra_keys(&self, candidates: &[QueryCandidates]) -> Vec<(&'static str, usize, Spread)> {
        let unreached: Vec<&QueryCandidates> = candidates
            .iter()
            .zip(&self.judged)
            .filter(|(_, j)| j.cause == Some(Cause::NotReached))
            .map(|(c, _)| c)
            .collect();
        let mut rows: Vec<(&'static str, usize, Spread)> = ExtraKey::ALL
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let rescued = unreached.iter().filter(|c| c.extra[i].1).count();
                let added: Vec<usize> = candidates.iter().map(|c| c.extra[i].2).collect();
                (key.code(), rescued, Spread::of(&added))
            })
            .collect();
        let any = unreached
            .iter()
            .filter(|c| c.extra.iter().any(|e| e.1))
            .count();
        let added: Vec<usize> = candidates
            .iter()
            .map(|c| c.extra.iter().map(|e| e.2).sum())
            .collect();
        rows.push(("all of them", any, Spread::of(&added)));
        rows
    }

    fn candidates_text(&self, out: &mut String, candidates: &[QueryCandidates]) {
        let counts: Vec<usize> = candidates.iter().map(|c| c.candidates).collect();
        let spread = Spread::of(&counts);
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Children each search's keys reach, which the store reads and scores (the nation drawn again in memory)"
        );
        let _ = writeln!(
            out,
            "  mean {:.1}, p50 {}, p95 {}, p99 {}, max {}",
            spread.mean, spread.p50, spread.p95, spread.p99, spread.max
        );
        let _ = writeln!(
            out,
            "  {:<14} {:>8} {:>9} {:>9}  (latency one at a time)",
            "candidates", "searches", "mean ms", "p95 ms"
        );
        for (label, from, to) in [
            ("0-9", 0, 10),
            ("10-49", 10, 50),
            ("50-199", 50, 200),
            ("200-999", 200, 1000),
            ("1000+", 1000, usize::MAX),
        ] {
            let ms: Vec<Duration> = counts
                .iter()
                .zip(&self.sequential_latencies)
                .filter(|(c, _)| (from..to).contains(*c))
                .map(|(_, l)| *l)
                .collect();
            if ms.is_empty() {
                continue;
            }
            let l = Latency::of(&ms, Duration::from_secs(1));
            let mean = ms.iter().map(|d| d.as_secs_f64() * 1000.0).sum::<f64>() / ms.len() as f64;
            let _ = writeln!(
                out,
                "  {label:<14} {:>8} {mean:>9.1} {:>9.1}",
                ms.len(),
                l.p95
            );
        }
        let _ = writeln!(
            out,
            "  by kind of key (a child reached by several kinds counts under each):"
        );
        for (i, kind) in KeyKind::ALL.iter().enumerate() {
            let spread = Spread::of(&candidates.iter().map(|c| c.by_kind[i]).collect::<Vec<_>>());
            let _ = writeln!(
                out,
                "    {} {:<26} mean {:.1}, p95 {}, max {}",
                kind.letter(),
                kind.label(),
                spread.mean,
                spread.p95,
                spread.max
            );
        }
        let stale = candidates.iter().filter(|c| !c.kinds_match_store).count();
        if stale > 0 {
            let _ = writeln!(
                out,
                "    ({stale} searches' keys differ by kind from the keys the store probes)"
            );
        }
        let mut heaviest: Vec<usize> = (0..candidates.len()).collect();
        heaviest.sort_by_key(|&i| std::cmp::Reverse(candidates[i].candidates));
        let letters: Vec<&str> = KeyKind::ALL.iter().map(|k| k.letter()).collect();
        let _ = writeln!(
            out,
            "  the searches reaching the most children (all, then by kind {}):",
            letters.join(" / ")
        );
        for &i in heaviest.iter().take(8) {
            let (kinds, search, _) = &self.described[i];
            let c = &candidates[i];
            let _ = writeln!(
                out,
                "    {:>6} ({}) {:>7.1} ms  {kinds} | {search}",
                c.candidates,
                c.by_kind
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(" / "),
                self.sequential_latencies[i].as_secs_f64() * 1000.0
            );
        }
        let unreached = self.causes.get(&Cause::NotReached).copied().unwrap_or(0);
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Keys that would also reach the {unreached} children no key reached, and the children they add to every search"
        );
        let _ = writeln!(
            out,
            "  {:<28} {:>8} {:>26}",
            "extra key", "reaches", "added mean / p95 / max"
        );
        for (name, rescued, added) in self.extra_keys(candidates) {
            let _ = writeln!(
                out,
                "  {name:<28} {rescued:>8} {:>26}",
                format!("{:.1} / {} / {}", added.mean, added.p95, added.max)
            );
        }
    }

    pub fn json(&self) -> Value {
        let n = self.queries;
        let quality: serde_json::Map<String, Value> = self
            .quality()
            .into_iter()
            .map(|(key, _, count)| (key.to_owned(), json!(share(count, n))))
            .chain(std::iter::once({
                let (first, eligible) = self.singled_out();
                (
                    "target_first_where_no_other_fits_as_well".to_owned(),
                    json!(share(first, eligible)),
                )
            }))
            .chain(
                self.resolvable()
                    .into_iter()
                    .flat_map(|(unresolvable, rest)| {
                        let m = rest.len();
                        [
                            (
                                "another_child_fits_exactly_as_well".to_owned(),
                                json!(share(unresolvable, n)),
                            ),
                            (
                                "resolvable_target_first".to_owned(),
                                json!(share(rest.iter().filter(|j| j.first).count(), m)),
                            ),
                            (
                                "resolvable_target_present".to_owned(),
                                json!(share(rest.iter().filter(|j| j.present).count(), m)),
                            ),
                            (
                                "resolvable_confident_wrong_first".to_owned(),
                                json!(share(
                                    rest.iter().filter(|j| j.confident_wrong_first).count(),
                                    m
                                )),
                            ),
                        ]
                    }),
            )
            .collect();
        json!({
            "nation": {
                "backend": self.backend,
                "children": self.children,
                "seed": self.seed,
                "as_of": self.as_of.to_string(),
                "generated_seconds": match &self.prepared {
                    Prepared::Reused => Value::Null,
                    Prepared::Generated { seconds, .. } => json!(round(*seconds)),
                },
            },
            "queries": n,
            "search_latency": latency_json(&self.searches),
            "passes_disagree": self.passes_disagree,
            "views": latency_json(&self.views),
            "quality_percent": quality,
            "by_kind": self.by_kind.iter().map(|(k, t)| (k.clone(), t.json())).collect::<serde_json::Map<_, _>>(),
            "by_perturbation_count": self.by_count.iter().map(|(k, t)| (k.to_string(), t.json())).collect::<serde_json::Map<_, _>>(),
            "by_criteria": self.by_shape.iter().map(|(k, t)| (k.clone(), t.json())).collect::<serde_json::Map<_, _>>(),
            "misses_by_cause": self.causes.iter().map(|(c, n)| (c.code().to_owned(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "candidates": self.candidates.as_ref().filter(|_| self.show_candidates).map(|candidates| {
                let counts: Vec<usize> = candidates.iter().map(|c| c.candidates).collect();
                json!({
                    "per_search": Spread::of(&counts).json(),
                    "extra_keys": self.extra_keys(candidates).into_iter().map(|(name, rescued, added)| {
                        json!({"key": name, "reaches_unreached": rescued, "added_per_search": added.json()})
                    }).collect::<Vec<_>>(),
                })
            }),
        })
    }
}
