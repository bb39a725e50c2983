//! The audit trail's hash chain. Every entry stores the hash of the entry before it and its
//! own hash over all its fields and that previous hash, so an edited, deleted or inserted
//! entry breaks the chain where it happened, whoever had the rights to change the table.
//! The head hash, printed by `contactpoint audit verify`, can be kept outside the system to
//! catch someone who rewrites the whole tail.

use chrono::{DateTime, SubsecRound, Utc};
use sha2::{Digest, Sha256};

/// The previous hash of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Timestamps are kept to the microsecond, which both backends store exactly.
pub fn stored_time(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// The fields an entry's hash covers, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedFields<'a> {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub route: &'a str,
    pub actor_user_id: Option<i64>,
    pub on_behalf_of_user_id: Option<i64>,
    pub api_client_id: Option<i64>,
    pub action: &'a str,
    pub outcome: &'a str,
    pub subject_kind: Option<&'a str>,
    pub subject_id: Option<&'a str>,
    pub local_authority: Option<&'a str>,
    pub details: &'a str,
    pub previous_hash: &'a str,
}

impl ChainedFields<'_> {
    /// SHA-256 over each field length-prefixed, so no two different entries hash alike by
    /// moving text from one field to the next.
    pub fn hash(&self) -> String {
        let number = |n: Option<i64>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
        let text = |t: Option<&str>| t.map_or_else(|| "-".to_owned(), |t| format!("+{t}"));
        let fields = [
            self.id.to_string(),
            stored_time(self.at)
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string(),
            self.route.to_owned(),
            number(self.actor_user_id),
            number(self.on_behalf_of_user_id),
            number(self.api_client_id),
            self.action.to_owned(),
            self.outcome.to_owned(),
            text(self.subject_kind),
            text(self.subject_id),
            text(self.local_authority),
            self.details.to_owned(),
            self.previous_hash.to_owned(),
        ];
        let mut digest = Sha256::new();
        for field in fields {
            digest.update((field.len() as u64).to_be_bytes());
            digest.update(field.as_bytes());
        }
        data_encoding::HEXLOWER.encode(&digest.finalize())
    }
}

/// The trail is whole: how many entries, and the hash of the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainIntact {
    pub entries: u64,
    pub head_hash: String,
}

/// Where the chain first breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBroken {
    /// The id of the first entry that does not fit.
    pub entry_id: i64,
    pub reason: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn fields(details: &str) -> ChainedFields<'_> {
        ChainedFields {
            id: 1,
            at: Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap(),
            route: "web",
            actor_user_id: Some(3),
            on_behalf_of_user_id: None,
            api_client_id: None,
            action: "sign_in",
            outcome: "success",
            subject_kind: None,
            subject_id: None,
            local_authority: Some("E06000055"),
            details,
            previous_hash: GENESIS,
        }
    }

    #[test]
    fn the_hash_covers_every_field_and_the_previous_hash() {
        let base = fields("{}");
        let h = base.hash();
        assert_eq!(h.len(), 64);
        assert_eq!(h, fields("{}").hash(), "deterministic");
        assert_ne!(h, fields("{\"x\":\"1\"}").hash());
        assert_ne!(
            h,
            ChainedFields {
                previous_hash: &"1".repeat(64),
                ..base.clone()
            }
            .hash()
        );
        assert_ne!(
            h,
            ChainedFields {
                actor_user_id: Some(4),
                ..base.clone()
            }
            .hash()
        );
        assert_ne!(
            h,
            ChainedFields {
                at: base.at + chrono::Duration::microseconds(1),
                ..base.clone()
            }
            .hash()
        );
        // Text moved between neighbouring fields still changes the hash.
        let a = ChainedFields {
            subject_kind: Some("ab"),
            subject_id: Some("c"),
            ..base.clone()
        };
        let b = ChainedFields {
            subject_kind: Some("a"),
            subject_id: Some("bc"),
            ..base.clone()
        };
        assert_ne!(a.hash(), b.hash());
        let none = ChainedFields {
            subject_kind: None,
            ..base.clone()
        };
        let dash = ChainedFields {
            subject_kind: Some("-"),
            ..base
        };
        assert_ne!(none.hash(), dash.hash());
    }

    #[test]
    fn nanoseconds_beyond_the_microsecond_do_not_change_the_hash() {
        let base = fields("{}");
        let finer = ChainedFields {
            at: base.at + chrono::Duration::nanoseconds(999),
            ..base.clone()
        };
        assert_eq!(base.hash(), finer.hash());
    }
}
