use contactpoint_domain::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database URL not understood: {0}; use sqlite://PATH or postgres://USER@HOST:PORT/DB")]
    UnsupportedUrl(String),
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("stored {table} row holds a value that no longer parses ({problem})")]
    Corrupt {
        table: &'static str,
        problem: FieldError,
    },
    #[error("refused: {0}")]
    Invalid(FieldError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StorageError {
    /// A conflict with another transaction that the database ended by rolling this one back
    /// (a deadlock, or a serialization failure, on PostgreSQL): the same work tried again
    /// can succeed.
    pub fn is_transient_conflict(&self) -> bool {
        match self {
            Self::Database(sqlx::Error::Database(error)) => {
                matches!(error.code().as_deref(), Some("40P01" | "40001"))
            }
            _ => false,
        }
    }

    pub(crate) fn corrupt(table: &'static str) -> impl FnOnce(FieldError) -> Self {
        move |problem| Self::Corrupt { table, problem }
    }
}
