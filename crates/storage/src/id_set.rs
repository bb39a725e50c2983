//! A set of ids bound as one parameter. A statement asking about "these ids" then has the
//! same text however many ids it is given, so each connection prepares it once: an `IN`
//! list of one placeholder per id made a new statement, parsed and planned again, for
//! nearly every supplied record and every search. SQLite reads the set as a JSON array
//! (`json_each`), PostgreSQL as a `bigint[]` (`ANY`); `push_in` writes the matching SQL.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo};
use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo};
use sqlx::{Encode, Postgres, Sqlite, Type};

/// Ids bound as one parameter.
#[derive(Debug, Clone)]
pub(crate) struct IdSet(pub Vec<i64>);

impl IdSet {
    fn json(&self) -> String {
        serde_json::Value::from(self.0.clone()).to_string()
    }
}

impl Type<Sqlite> for IdSet {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
}

impl Encode<'_, Sqlite> for IdSet {
    fn encode_by_ref(&self, args: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        <String as Encode<'_, Sqlite>>::encode(self.json(), args)
    }
}

impl Type<Postgres> for IdSet {
    fn type_info() -> PgTypeInfo {
        <Vec<i64> as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for IdSet {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <Vec<i64> as Encode<'_, Postgres>>::encode_by_ref(&self.0, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::IdSet;

    #[test]
    fn an_id_set_is_written_for_sqlite_as_a_json_array() {
        assert_eq!(IdSet(vec![3, -7, 12]).json(), "[3,-7,12]");
        assert_eq!(IdSet(Vec::new()).json(), "[]");
    }
}
