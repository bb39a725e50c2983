//! What the local ContactPoint team's data management reaches: whose exceptions a request
//! may see and resolve, whose records it may merge, and what it sees of past merges.

use contactpoint_domain::{ContactPointId, LocalAuthorityCode};

/// Whose exceptions a request reaches. Outside its queue an exception is not found at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExceptionQueue<'a> {
    /// One local authority's team's queue.
    Authority(&'a LocalAuthorityCode),
    /// Records no authority could be found for (the national administrators' queue).
    Unplaced,
    /// Every queue: the system's own tasks and tests.
    Every,
}

impl ExceptionQueue<'_> {
    /// Whether an exception waiting for `local_authority` is in this queue.
    pub fn reaches(&self, local_authority: Option<&LocalAuthorityCode>) -> bool {
        match self {
            Self::Authority(own) => local_authority == Some(*own),
            Self::Unplaced => local_authority.is_none(),
            Self::Every => true,
        }
    }
}

/// One merge as the team sees it in its list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRecord {
    pub id: i64,
    pub survivor: ContactPointId,
    pub survivor_name: String,
    pub retired: ContactPointId,
    pub retired_name: String,
    pub merged_at: chrono::DateTime<chrono::Utc>,
    pub merged_by_user_id: Option<i64>,
    pub unmerged_at: Option<chrono::DateTime<chrono::Utc>>,
    pub unmerged_by_user_id: Option<i64>,
}

/// What asking to merge two records came to: merged at once (both records the team's own),
/// or asked of the other authority's team (one record held elsewhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeOutcome {
    Merged {
        merge_id: i64,
    },
    Requested {
        request_id: i64,
        awaiting: LocalAuthorityCode,
    },
}

/// A merge waiting for one team to agree, as both teams see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRequestRecord {
    pub id: i64,
    pub survivor: ContactPointId,
    pub survivor_authority: LocalAuthorityCode,
    pub retired: ContactPointId,
    pub retired_authority: LocalAuthorityCode,
    pub requested_by_authority: LocalAuthorityCode,
    pub awaiting_authority: LocalAuthorityCode,
    pub requested_by_user_id: i64,
    pub requested_at: chrono::DateTime<chrono::Utc>,
}
