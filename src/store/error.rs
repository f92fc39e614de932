//! What went wrong in the database, sorted by what the caller can do about it.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database's disk is full: nothing can be written until an operator frees space.
    /// Callers answer 503 as for [`StoreError::Unavailable`]; logs and alerts tell it apart.
    #[error("database disk is full: {0}")]
    DiskFull(String),
    /// The database cannot be reached, is busy or locked, or a wait for it timed out; the
    /// caller should answer 503 and try again.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A unique constraint refused the write (another writer got there first).
    #[error("database conflict: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("cannot open database: {0}")]
    Open(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A statement failed on SQLite's writer thread (which speaks to SQLite without sqlx).
    #[error("database error: {0}")]
    Write(String),
}

impl StoreError {
    /// Whether the caller should answer 503 (try again later) rather than 500.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::DiskFull(_) | Self::Unavailable(_))
    }
}

/// What a database error means for the caller, whichever backend raised it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorClass {
    DiskFull,
    Unavailable,
    Conflict,
    Corrupt,
    Other,
}

/// SQLite's primary result codes (the low byte of an extended code) that sort an error.
const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;
const SQLITE_NOMEM: i32 = 7;
const SQLITE_READONLY: i32 = 8;
const SQLITE_IOERR: i32 = 10;
const SQLITE_CORRUPT: i32 = 11;
const SQLITE_FULL: i32 = 13;
const SQLITE_CANTOPEN: i32 = 14;
const SQLITE_CONSTRAINT: i32 = 19;
const SQLITE_NOTADB: i32 = 26;
/// SQLITE_CONSTRAINT_PRIMARYKEY and SQLITE_CONSTRAINT_UNIQUE.
const SQLITE_UNIQUE: [i32; 2] = [1555, 2067];

/// Sorts an SQLite extended result code.
pub(crate) fn classify_sqlite(code: i32) -> ErrorClass {
    if SQLITE_UNIQUE.contains(&code) {
        return ErrorClass::Conflict;
    }
    match code & 0xff {
        SQLITE_FULL => ErrorClass::DiskFull,
        SQLITE_BUSY | SQLITE_LOCKED | SQLITE_NOMEM | SQLITE_READONLY | SQLITE_IOERR
        | SQLITE_CANTOPEN => ErrorClass::Unavailable,
        SQLITE_CORRUPT | SQLITE_NOTADB => ErrorClass::Corrupt,
        SQLITE_CONSTRAINT => ErrorClass::Other,
        _ => ErrorClass::Other,
    }
}

/// Sorts a PostgreSQL SQLSTATE.
pub(crate) fn classify_postgres(sqlstate: &str) -> ErrorClass {
    match sqlstate {
        // disk_full
        "53100" => ErrorClass::DiskFull,
        "23505" => ErrorClass::Conflict,
        // A server that is away or out of room, not a bad query: class 08 (connection), 53
        // (insufficient resources), 57P01-57P03 (shut down, terminated, cannot connect now),
        // 55000 (e.g. connections not allowed at the moment), 55P03 (lock not available),
        // 40001/40P01 (serialization failure, deadlock: try again).
        s if s.starts_with("08") || s.starts_with("53") || s.starts_with("57P") => {
            ErrorClass::Unavailable
        }
        "55000" | "55P03" | "40001" | "40P01" => ErrorClass::Unavailable,
        "XX001" | "XX002" => ErrorClass::Corrupt,
        _ => ErrorClass::Other,
    }
}

fn class_of(e: &sqlx::Error) -> ErrorClass {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code();
            let code = code.as_deref().unwrap_or("");
            // SQLite's extended result code comes as its decimal text, PostgreSQL's SQLSTATE
            // as five characters.
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                code.parse().map_or(ErrorClass::Other, classify_sqlite)
            } else {
                classify_postgres(code)
            }
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::Io(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => ErrorClass::Unavailable,
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => ErrorClass::Corrupt,
        _ => ErrorClass::Other,
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match class_of(&e) {
            ErrorClass::DiskFull => Self::DiskFull(e.to_string()),
            ErrorClass::Unavailable => Self::Unavailable(e.to_string()),
            ErrorClass::Conflict => Self::Conflict(e.to_string()),
            ErrorClass::Corrupt => Self::Corrupt(e.to_string()),
            ErrorClass::Other => Self::Database(e),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        let class = match &e {
            rusqlite::Error::SqliteFailure(f, _) => classify_sqlite(f.extended_code),
            _ => ErrorClass::Other,
        };
        let text = e.to_string();
        match class {
            ErrorClass::DiskFull => Self::DiskFull(text),
            ErrorClass::Unavailable => Self::Unavailable(text),
            ErrorClass::Conflict => Self::Conflict(text),
            ErrorClass::Corrupt => Self::Corrupt(text),
            ErrorClass::Other => Self::Write(text),
        }
    }
}

impl StoreError {
    /// A copy for each of several waiting callers (`sqlx::Error` cannot be cloned).
    pub(crate) fn duplicate(&self) -> Self {
        match self {
            Self::DiskFull(m) => Self::DiskFull(m.clone()),
            Self::Unavailable(m) => Self::Unavailable(m.clone()),
            Self::Conflict(m) => Self::Conflict(m.clone()),
            Self::Corrupt(m) => Self::Corrupt(m.clone()),
            Self::Open(m) => Self::Open(m.clone()),
            other => Self::Write(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_codes_sort_a_full_disk_apart_from_a_busy_database() {
        assert_eq!(classify_sqlite(13), ErrorClass::DiskFull);
        assert_eq!(classify_sqlite(5), ErrorClass::Unavailable);
        // SQLITE_BUSY_SNAPSHOT, SQLITE_LOCKED_SHAREDCACHE, SQLITE_IOERR_FSYNC
        assert_eq!(classify_sqlite(517), ErrorClass::Unavailable);
        assert_eq!(classify_sqlite(262), ErrorClass::Unavailable);
        assert_eq!(classify_sqlite(1034), ErrorClass::Unavailable);
        assert_eq!(classify_sqlite(2067), ErrorClass::Conflict);
        assert_eq!(classify_sqlite(1555), ErrorClass::Conflict);
        // A NOT NULL or CHECK constraint is a bad statement, not a conflict.
        assert_eq!(classify_sqlite(1299), ErrorClass::Other);
        assert_eq!(classify_sqlite(11), ErrorClass::Corrupt);
        assert_eq!(classify_sqlite(1), ErrorClass::Other);
    }

    #[test]
    fn postgres_sqlstates_sort_a_full_disk_apart_from_a_server_that_is_away() {
        assert_eq!(classify_postgres("53100"), ErrorClass::DiskFull);
        assert_eq!(classify_postgres("53300"), ErrorClass::Unavailable);
        assert_eq!(classify_postgres("08006"), ErrorClass::Unavailable);
        assert_eq!(classify_postgres("57P01"), ErrorClass::Unavailable);
        assert_eq!(classify_postgres("40P01"), ErrorClass::Unavailable);
        assert_eq!(classify_postgres("23505"), ErrorClass::Conflict);
        assert_eq!(classify_postgres("42601"), ErrorClass::Other);
    }

    #[test]
    fn pool_and_decode_errors_are_sorted_too() {
        assert!(matches!(
            StoreError::from(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            StoreError::from(sqlx::Error::Decode("bad".into())),
            StoreError::Corrupt(_)
        ));
        assert!(matches!(
            StoreError::from(sqlx::Error::RowNotFound),
            StoreError::Database(_)
        ));
        assert!(StoreError::DiskFull("x".into()).is_unavailable());
        assert!(!StoreError::Conflict("x".into()).is_unavailable());
    }

    #[tokio::test]
    async fn a_real_sqlite_unique_violation_is_a_conflict() {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("open");
        sqlx::query("CREATE TABLE t (k TEXT PRIMARY KEY)")
            .execute(&mut c)
            .await
            .expect("create");
        sqlx::query("INSERT INTO t VALUES ('a')")
            .execute(&mut c)
            .await
            .expect("insert");
        let e = sqlx::query("INSERT INTO t VALUES ('a')")
            .execute(&mut c)
            .await
            .expect_err("duplicate");
        assert!(matches!(StoreError::from(e), StoreError::Conflict(_)));
        let e = sqlx::query("INSERT INTO nowhere VALUES (1)")
            .execute(&mut c)
            .await
            .expect_err("no table");
        assert!(matches!(StoreError::from(e), StoreError::Database(_)));
    }
}
