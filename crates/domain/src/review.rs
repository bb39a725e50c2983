//! Reviewing use of the directory: usage per organisation per day, and flags for patterns
//! that suggest misuse (unusual volume, shielded records and overrides, out-of-hours use,
//! children outside the user's area, a child who shares the user's family name). Pure: the
//! store supplies the activity, these rules read it.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// A day's searches and views above this never count as unusual.
pub const VOLUME_FLOOR: usize = 30;
/// A user's day is unusual at this many times the median day of users in the same review.
pub const VOLUME_MULTIPLE: usize = 3;
/// Working hours, UK local time, Monday to Friday.
pub const WORKING_HOURS: std::ops::Range<u32> = 7..20;

/// One recorded sign-in, search or view, with what the rules need to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub entry_id: i64,
    pub at: DateTime<Utc>,
    pub user_id: i64,
    pub username: String,
    pub user_family_name: String,
    pub user_local_authority: String,
    pub organisation: String,
    /// `sign_in`, `children_searched` or `child_viewed`.
    pub action: String,
    pub outcome: String,
    pub child_id: Option<String>,
    pub child_local_authority: Option<String>,
    pub child_family_name: Option<String>,
    /// For a view: which projection was shown.
    pub projection: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    UnusualVolume,
    ShieldOverride,
    ShieldedRecord,
    OutOfHours,
    OutsideArea,
    SharedFamilyName,
}

/// A pattern worth a look, and the entry (or day) it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Flag {
    pub kind: FlagKind,
    pub user_id: i64,
    pub username: String,
    pub organisation: String,
    /// The audit entry, when the flag is about one.
    pub entry_id: Option<i64>,
    pub at: DateTime<Utc>,
    pub detail: String,
}

/// Sign-ins, searches and views of one organisation on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UsageRow {
    pub day: NaiveDate,
    pub organisation: String,
    pub sign_ins: usize,
    pub searches: usize,
    pub views: usize,
}

/// UK local time: British Summer Time from 01:00 UTC on the last Sunday of March to 01:00
/// UTC on the last Sunday of October, Greenwich Mean Time otherwise.
pub fn uk_local(at: DateTime<Utc>) -> chrono::NaiveDateTime {
    let last_sunday = |month: u32| {
        let first_of_next = NaiveDate::from_ymd_opt(at.year(), month + 1, 1).unwrap();
        let last = first_of_next.pred_opt().unwrap();
        let back = last.weekday().num_days_from_sunday();
        last - Duration::days(i64::from(back))
    };
    let starts = Utc.from_utc_datetime(&last_sunday(3).and_hms_opt(1, 0, 0).unwrap());
    let ends = Utc.from_utc_datetime(&last_sunday(10).and_hms_opt(1, 0, 0).unwrap());
    let offset = if at >= starts && at < ends { 1 } else { 0 };
    (at + Duration::hours(offset)).naive_utc()
}

fn out_of_hours(at: DateTime<Utc>) -> bool {
    let local = uk_local(at);
    matches!(local.weekday(), Weekday::Sat | Weekday::Sun) || !WORKING_HOURS.contains(&local.hour())
}

fn name_words(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_alphabetic())
        .filter(|w| w.chars().count() > 1)
        .map(str::to_uppercase)
        .collect()
}

fn shares_family_name(a: &str, b: &str) -> bool {
    let theirs = name_words(b);
    name_words(a).iter().any(|w| theirs.contains(w))
}

fn is_use(a: &Activity) -> bool {
    a.outcome == "success" && (a.action == "children_searched" || a.action == "child_viewed")
}

/// Usage per organisation per day, in day then organisation order.
pub fn usage(activity: &[Activity]) -> Vec<UsageRow> {
    let mut rows: BTreeMap<(NaiveDate, &str), UsageRow> = BTreeMap::new();
    for a in activity.iter().filter(|a| a.outcome == "success") {
        let day = uk_local(a.at).date();
        let row = rows
            .entry((day, a.organisation.as_str()))
            .or_insert_with(|| UsageRow {
                day,
                organisation: a.organisation.clone(),
                sign_ins: 0,
                searches: 0,
                views: 0,
            });
        match a.action.as_str() {
            "sign_in" => row.sign_ins += 1,
            "children_searched" => row.searches += 1,
            "child_viewed" => row.views += 1,
            _ => {}
        }
    }
    rows.into_values().collect()
}

/// The flags in the activity, oldest first.
pub fn flags(activity: &[Activity]) -> Vec<Flag> {
    let flag = |a: &Activity, kind, detail: String| Flag {
        kind,
        user_id: a.user_id,
        username: a.username.clone(),
        organisation: a.organisation.clone(),
        entry_id: Some(a.entry_id),
        at: a.at,
        detail,
    };
    let mut out = Vec::new();
    for a in activity.iter().filter(|a| is_use(a)) {
        let child = a.child_id.as_deref().unwrap_or("");
        match a.projection.as_deref() {
            Some("shield_override") => out.push(flag(
                a,
                FlagKind::ShieldOverride,
                format!("overrode the shielding of child {child}"),
            )),
            Some("shielded") => out.push(flag(
                a,
                FlagKind::ShieldedRecord,
                format!("opened shielded child {child}"),
            )),
            _ => {}
        }
        if out_of_hours(a.at) {
            let local = uk_local(a.at);
            out.push(flag(
                a,
                FlagKind::OutOfHours,
                format!(
                    "{} at {} UK time",
                    a.action.replace('_', " "),
                    local.format("%a %H:%M")
                ),
            ));
        }
        if a.action == "child_viewed" {
            if let Some(la) = a
                .child_local_authority
                .as_deref()
                .filter(|la| *la != a.user_local_authority)
            {
                out.push(flag(
                    a,
                    FlagKind::OutsideArea,
                    format!(
                        "child {child} is in {la}, the user works in {}",
                        a.user_local_authority
                    ),
                ));
            }
            if a.child_family_name
                .as_deref()
                .is_some_and(|n| shares_family_name(n, &a.user_family_name))
            {
                out.push(flag(
                    a,
                    FlagKind::SharedFamilyName,
                    format!("child {child} shares the user's family name"),
                ));
            }
        }
    }
    // Unusual volume: a user's day of searches and views far above the median day.
    let mut days: HashMap<(i64, NaiveDate), Vec<&Activity>> = HashMap::new();
    for a in activity.iter().filter(|a| is_use(a)) {
        days.entry((a.user_id, uk_local(a.at).date()))
            .or_default()
            .push(a);
    }
    let mut counts: Vec<usize> = days.values().map(Vec::len).collect();
    counts.sort_unstable();
    let median = counts.get(counts.len() / 2).copied().unwrap_or(0);
    let threshold = VOLUME_FLOOR.max(median * VOLUME_MULTIPLE);
    for ((_, day), entries) in &days {
        if entries.len() > threshold {
            let last = entries.iter().max_by_key(|a| a.at).unwrap();
            let mut f = flag(
                last,
                FlagKind::UnusualVolume,
                format!(
                    "{} searches and views on {day}, against a usual day of {median}",
                    entries.len()
                ),
            );
            f.entry_id = None;
            out.push(f);
        }
    }
    out.sort_by(|a, b| a.at.cmp(&b.at).then(a.kind.cmp(&b.kind)));
    out
}

#[cfg(test)]
mod tests;
