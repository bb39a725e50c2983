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
    pub(crate) fn corrupt(table: &'static str) -> impl FnOnce(FieldError) -> Self {
        move |problem| Self::Corrupt { table, problem }
    }
}
