//! SQLite: one connection behind an async mutex; a request's transaction holds it from
//! `BEGIN IMMEDIATE` to `COMMIT`, so requests are serialized by construction (see the
//! server's README, *Concurrency*). Each key list and each write round is bound as one JSON
//! array and read back with `json_each`, so a batch of 1000 costs the same few statements as
//! a batch of one.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{Mutex, OwnedMutexGuard};

use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bulk_contacts::{ContactWrite, Enrollment, Keys, MembershipInsert, Timestamp, WritePlan};

use super::flow::{
    ACCOUNT_BY_KEY, ANSWER_BY_KEY, Consent, FieldsWrite, Found, PrefetchRows, REMEMBER_ANSWER,
    SeedStatements, WriteStatements, account_row, write_plan, write_seed,
};
use super::{
    AccountRow, DEFAULT_STORE_TIMEOUT, Prefetch, Remember, Seed, Store, StoreError, StoredAnswer,
    Transaction, Validations, Written, key_hash, stand_in_results, stored_key,
};
use crate::blocking;

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
    clock: Clock,
}

/// The store timeout of every call: the wait for the connection, SQLite's busy wait for the
/// file's write lock (another process writing), and each statement (interrupted by a progress
/// handler past the deadline, `SQLITE_INTERRUPT`). All three end in
/// [`StoreError::Unavailable`], answered 503 `store_unavailable`.
#[derive(Clone, Debug)]
struct Clock {
    timeout: Duration,
    base: Instant,
    /// The current call's deadline, in milliseconds after `base` (0: none).
    deadline: Arc<AtomicU64>,
}

impl Clock {
    fn new(timeout: Duration) -> Clock {
        Clock {
            timeout,
            base: Instant::now(),
            deadline: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The connection, waited for at most the timeout.
    async fn lock(
        &self,
        connection: &Arc<Mutex<Connection>>,
    ) -> Result<OwnedMutexGuard<Connection>, StoreError> {
        tokio::time::timeout(self.timeout, Arc::clone(connection).lock_owned())
            .await
            .map_err(|_| {
                StoreError::Unavailable(format!(
                    "sqlite: the connection was busy for {:?}",
                    self.timeout
                ))
            })
    }

    /// Runs `f` (blocking) with the statement deadline set; SQLite's busy wait is bounded by
    /// the same timeout (`busy_timeout`).
    fn run<R>(
        &self,
        connection: &Connection,
        f: impl FnOnce() -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let deadline = self.base.elapsed() + self.timeout;
        self.deadline
            .store(deadline.as_millis().max(1) as u64, Ordering::Relaxed);
        let result = blocking(|| {
            connection.busy_timeout(self.timeout)?;
            f()
        });
        self.deadline.store(0, Ordering::Relaxed);
        result
    }

    /// The progress handler: `true` (interrupt) once the current call's deadline has passed.
    fn handler(&self) -> impl FnMut() -> bool + Send + 'static {
        let (base, deadline) = (self.base, Arc::clone(&self.deadline));
        move || {
            let deadline = deadline.load(Ordering::Relaxed);
            deadline != 0 && base.elapsed().as_millis() as u64 > deadline
        }
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (or creates) the database at `path` — `:memory:` for a private in-memory one —
    /// and applies the migrations it lacks.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with_timeout(path, DEFAULT_STORE_TIMEOUT)
    }

    /// [`SqliteStore::open`], every call bounded by `timeout` (`--store-timeout`).
    pub fn open_with_timeout(
        path: impl AsRef<Path>,
        timeout: Duration,
    ) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref();
        let mut connection = if path == Path::new(":memory:") {
            Connection::open_in_memory()?
        } else {
            create_private(path)?;
            let connection = Connection::open(path)?;
            // WAL: readers (a `sqlite3` shell, the tests) never block the writer. FULL: the
            // WAL is synced at each commit, so an acknowledged batch survives a power loss
            // (NORMAL syncs only at checkpoints: the last commits could be lost).
            connection.pragma_update(None, "journal_mode", "WAL")?;
            connection.pragma_update(None, "synchronous", "FULL")?;
            connection
        };
        connection.busy_timeout(timeout)?;
        connection.pragma_update(None, "foreign_keys", true)?;
        // V2 hashes the keys of an existing database with it.
        connection.create_scalar_function(
            "sha256_hex",
            1,
            FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
            |context| Ok(key_hash(&context.get::<String>(0)?)),
        )?;
        // Deleted content is overwritten with zeros while migrating: V2 leaves no plaintext
        // key in the file's free pages.
        connection.pragma_update(None, "secure_delete", true)?;
        embedded::migrations::runner().run(&mut connection)?;
        connection.pragma_update(None, "secure_delete", false)?;
        let clock = Clock::new(timeout);
        // Every 10,000 virtual-machine steps, a look at the deadline.
        connection.progress_handler(10_000, Some(clock.handler()));
        Ok(SqliteStore {
            connection: Arc::new(Mutex::new(connection)),
            clock,
        })
    }

    /// Runs `f` on the store's connection, serialized with the requests (tests, tools).
    pub async fn with_connection<R>(&self, f: impl FnOnce(&mut Connection) -> R) -> R {
        let mut connection = self.connection.lock().await;
        blocking(|| f(&mut connection))
    }
}

impl Store for SqliteStore {
    type Tx = SqliteTx;

    async fn find_account(&self, key: &str) -> Result<Option<AccountRow>, StoreError> {
        let connection = self.clock.lock(&self.connection).await?;
        let found = self.clock.run(&connection, || {
            let found = connection
                .query_row(ACCOUNT_BY_KEY, [key_hash(key)], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                })
                .optional()?;
            Ok(found)
        })?;
        found
            .map(|(id, billing)| account_row(key, id, &billing))
            .transpose()
    }

    async fn begin(&self, _phones: &[&str]) -> Result<SqliteTx, StoreError> {
        // The connection is the lock: one transaction at a time, whatever the phones.
        let connection = self.clock.lock(&self.connection).await?;
        // IMMEDIATE takes the write lock before the first read: another process writing the
        // file cannot slip in between our prefetch and our write.
        self.clock.run(&connection, || {
            Ok(connection.execute_batch("BEGIN IMMEDIATE")?)
        })?;
        Ok(SqliteTx {
            connection,
            clock: self.clock.clone(),
            open: true,
            found: Found::default(),
        })
    }

    async fn seed(&self, seed: &Seed) -> Result<i64, StoreError> {
        let mut connection = self.connection.lock().await;
        blocking(|| {
            let tx = connection.transaction()?;
            let account = ready(write_seed(&mut Statements(&tx), seed))?;
            tx.commit()?;
            Ok(account)
        })
    }

    /// A trivial query, and the file's write lock taken and released: a file another process
    /// holds locked is not ready (requests would wait for it).
    async fn ping(&self) -> Result<(), StoreError> {
        let connection = self.clock.lock(&self.connection).await?;
        self.clock.run(&connection, || {
            connection.query_row("SELECT 1", [], |_| Ok(()))?;
            connection.execute_batch("BEGIN IMMEDIATE; ROLLBACK")?;
            Ok(())
        })
    }

    async fn find_answer(
        &self,
        account: i64,
        key: &str,
    ) -> Result<Option<StoredAnswer>, StoreError> {
        let connection = self.clock.lock(&self.connection).await?;
        self.clock.run(&connection, || {
            let found = connection
                .prepare_cached(ANSWER_BY_KEY)?
                .query_row(params![account, key], |row| {
                    Ok(StoredAnswer {
                        request_sha256: row.get(0)?,
                        status: row.get(1)?,
                        body: row.get(2)?,
                    })
                })
                .optional()?;
            Ok(found)
        })
    }

    async fn expire_answers(&self, before: i64, limit: usize) -> Result<u64, StoreError> {
        let connection = self.clock.lock(&self.connection).await?;
        self.clock.run(&connection, || {
            let deleted = connection
                .prepare_cached(
                    "DELETE FROM idempotency_keys WHERE rowid IN
                     (SELECT rowid FROM idempotency_keys WHERE created_at < ?1 LIMIT ?2)",
                )?
                .execute(params![before, limit as i64])?;
            Ok(deleted as u64)
        })
    }
}

/// Creates the database file readable and writable by its owner only (0600), if it does not
/// exist yet: it holds the accounts' data. SQLite gives its `-wal` and `-shm` files the same
/// permissions. An existing file keeps its permissions.
fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(StoreError::Data(format!(
            "creating {}: {error}",
            path.display()
        ))),
    }
}

/// Runs a flow of [`super::flow`] over [`Statements`], whose futures are all ready when first
/// polled (SQLite's calls are synchronous): one poll runs it to its end, on this thread,
/// inside the caller's blocking call and statement deadline.
fn ready<R>(flow: impl Future<Output = Result<R, StoreError>>) -> Result<R, StoreError> {
    match pin!(flow).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => Err(StoreError::Data(
            "a SQLite statement did not complete when called".to_owned(),
        )),
    }
}

/// A request's transaction: the connection, held from `BEGIN IMMEDIATE` on.
pub struct SqliteTx {
    connection: OwnedMutexGuard<Connection>,
    clock: Clock,
    open: bool,
    /// What the prefetch found that the write needs.
    found: Found,
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if self.open {
            // Best effort: if even the rollback fails, the connection's next `BEGIN` fails
            // and that request answers 500.
            let _ = self.connection.execute_batch("ROLLBACK");
        }
    }
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|error| StoreError::Data(error.to_string()))
}

impl Transaction for SqliteTx {
    async fn prefetch(&mut self, account: i64, keys: &Keys<'_>) -> Result<Prefetch, StoreError> {
        let connection = &*self.connection;
        let rows = self
            .clock
            .run(connection, || prefetch(connection, account, keys))?;
        rows.into_prefetch(&mut self.found)
    }

    async fn validate<'p>(&mut self, phones: &[&'p str]) -> Result<Validations<'p>, StoreError> {
        let connection = &*self.connection;
        let rows = self.clock.run(connection, || {
            let mut query = connection.prepare_cached(
                "SELECT v.phone, v.result FROM json_each(?1) AS k
                 JOIN validation_results AS v ON v.phone = k.value",
            )?;
            let rows = query
                .query_map([to_json(phones)?], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok::<_, StoreError>(rows)
        })?;
        Ok(stand_in_results(phones, rows))
    }

    async fn write(&mut self, plan: &WritePlan<'_>, now: Timestamp) -> Result<Written, StoreError> {
        let (connection, found) = (&*self.connection, &self.found);
        self.clock.run(connection, || {
            ready(write_plan(&Statements(connection), plan, now, found))
        })
    }

    async fn remember(&mut self, entry: &Remember<'_>) -> Result<bool, StoreError> {
        let connection = &*self.connection;
        self.clock.run(connection, || {
            let inserted = connection
                .prepare_cached(REMEMBER_ANSWER)?
                .execute(params![
                    entry.account,
                    entry.key,
                    entry.answer.request_sha256,
                    entry.answer.status,
                    entry.answer.body,
                    entry.created_at
                ])?;
            Ok(inserted == 1)
        })
    }

    async fn commit(mut self) -> Result<(), StoreError> {
        let connection = &*self.connection;
        self.clock
            .run(connection, || Ok(connection.execute_batch("COMMIT")?))?;
        self.open = false;
        Ok(())
    }

    async fn rollback(mut self) -> Result<(), StoreError> {
        self.open = false;
        let connection = &*self.connection;
        self.clock
            .run(connection, || Ok(connection.execute_batch("ROLLBACK")?))
    }
}

fn prefetch(
    connection: &Connection,
    account: i64,
    keys: &Keys<'_>,
) -> Result<PrefetchRows, StoreError> {
    let mut query = connection.prepare_cached(
        "SELECT l.list_number, l.id, l.welcome_journeys FROM json_each(?2) AS k
         JOIN sending_lists AS l ON l.account_id = ?1 AND l.list_number = k.value",
    )?;
    let lists = query
        .query_map(params![account, to_json(&keys.lists)?], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;

    let phones = to_json(&keys.phones)?;
    let mut query = connection.prepare_cached(
        "SELECT v.phone, v.verdict FROM json_each(?1) AS k
         JOIN carrier_verdicts AS v ON v.phone = k.value",
    )?;
    let verdicts = query
        .query_map([&phones], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;

    let mut query = connection.prepare_cached(
        "SELECT c.phone, c.ip_address, c.url FROM json_each(?1) AS k
         JOIN contacts AS c ON c.phone = k.value",
    )?;
    let contacts = query
        .query_map([&phones], |row| {
            let consent = Consent {
                ip_address: row.get(1)?,
                url: row.get(2)?,
            };
            Ok((row.get::<_, String>(0)?, consent))
        })?
        .map(|row| {
            let (phone, consent) = row?;
            Ok((stored_key(&phone)?, consent))
        })
        .collect::<Result<_, StoreError>>()?;

    let mut query = connection.prepare_cached(
        "SELECT m.phone, m.list_id, m.custom_fields FROM json_each(?2) AS k
         JOIN sending_lists AS l ON l.account_id = ?1 AND l.list_number = k.value ->> 1
         JOIN memberships AS m ON m.list_id = l.id AND m.phone = k.value ->> 0",
    )?;
    let memberships = query
        .query_map(params![account, to_json(&keys.memberships)?], |row| {
            Ok((row.get::<_, String>(0)?, row.get(1)?, row.get(2)?))
        })?
        .map(|row| {
            let (phone, list, fields) = row?;
            Ok((stored_key(&phone)?, list, fields))
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(PrefetchRows {
        lists,
        verdicts,
        contacts,
        memberships,
    })
}

/// SQLite's statements of the shared flows, on a connection inside its transaction: a write
/// binds each kind of row as one JSON array of arrays (`json_each`), in order; a seed runs
/// one statement per row.
struct Statements<'c>(&'c Connection);

impl Statements<'_> {
    /// Runs `sql` once per row (a seed), with the parameters `params` makes of the row; one
    /// prepared statement for all.
    fn each<'r, R: 'r, P: rusqlite::Params>(
        &self,
        sql: &str,
        rows: &'r [R],
        params: impl Fn(&'r R) -> P,
    ) -> Result<(), StoreError> {
        let mut statement = self.0.prepare_cached(sql)?;
        for row in rows {
            statement.execute(params(row))?;
        }
        Ok(())
    }

    /// Runs the update `sql` with the rows as `?1` (one JSON array) and `now` as `?2`, after
    /// counting with `matched` (`?1` only) the rows it is about: the rows matched, changed or
    /// not (an update skips the rows its values would not change).
    fn matched(
        &self,
        matched: &str,
        sql: &str,
        rows: &impl serde::Serialize,
        now: &str,
    ) -> Result<u64, StoreError> {
        let rows = to_json(rows)?;
        let count: i64 = self
            .0
            .prepare_cached(matched)?
            .query_row(params![rows], |row| row.get(0))?;
        self.0.prepare_cached(sql)?.execute(params![rows, now])?;
        Ok(count.max(0) as u64)
    }

    /// Runs `sql` with the rows as `?1` (one JSON array) and `now` as `?2`; the rows touched.
    fn rows(&self, sql: &str, rows: &impl serde::Serialize, now: &str) -> Result<u64, StoreError> {
        let touched = self
            .0
            .prepare_cached(sql)?
            .execute(params![to_json(rows)?, now])?;
        Ok(touched as u64)
    }
}

impl WriteStatements for Statements<'_> {
    async fn insert_contacts(
        &self,
        rows: &[ContactWrite<'_>],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let rows: Vec<_> = rows
            .iter()
            .map(|c| {
                let signup = c.signup_date.to_string();
                (
                    c.phone,
                    signup,
                    c.ip_address,
                    c.url,
                    &c.other_members,
                    &c.validation,
                )
            })
            .collect();
        self.rows(
            "INSERT INTO contacts (phone, signup_date, ip_address, url, extra, validation,
                                   created_at, updated_at)
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4,
                    value ->> 5, ?2, ?2
             FROM json_each(?1) WHERE true ON CONFLICT (phone) DO NOTHING",
            &rows,
            &now.to_string(),
        )
    }

    async fn update_contacts(
        &self,
        rows: &[&ContactWrite<'_>],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let rows: Vec<_> = rows
            .iter()
            .map(|c| {
                (
                    c.phone,
                    c.ip_address,
                    c.url,
                    &c.other_members,
                    &c.validation,
                )
            })
            .collect();
        // A contact whose values would not change is not rewritten (as on PostgreSQL: its
        // `updated_at` is when its values last changed).
        self.matched(
            "SELECT count(*) FROM contacts
             JOIN (SELECT value ->> 0 AS phone FROM json_each(?1)) AS r
             ON contacts.phone = r.phone",
            "UPDATE contacts SET ip_address = r.ip, url = r.url, extra = r.extra,
                 validation = r.validation, updated_at = ?2
             FROM (SELECT c.phone, coalesce(value ->> 1, c.ip_address) AS ip,
                          coalesce(value ->> 2, c.url) AS url,
                          json_patch(c.extra, value ->> 3) AS extra,
                          coalesce(value ->> 4, c.validation) AS validation
                   FROM json_each(?1) JOIN contacts AS c ON c.phone = value ->> 0) AS r
             WHERE contacts.phone = r.phone
               AND (r.ip IS NOT contacts.ip_address OR r.url IS NOT contacts.url
                    OR r.extra IS NOT contacts.extra OR r.validation IS NOT contacts.validation)",
            &rows,
            &now.to_string(),
        )
    }

    async fn insert_memberships(
        &self,
        rows: &[MembershipInsert<'_>],
        lists: &[i64],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let rows: Vec<_> = rows
            .iter()
            .zip(lists)
            .map(|(m, list)| (list, m.phone, &m.custom_fields, m.signup_date.to_string()))
            .collect();
        self.rows(
            "INSERT INTO memberships (list_id, phone, custom_fields, signup_date,
                                      created_at, updated_at)
             SELECT value ->> 0, value ->> 1, json(value ->> 2), value ->> 3, ?2, ?2
             FROM json_each(?1) WHERE true ON CONFLICT (phone, list_id) DO NOTHING",
            &rows,
            &now.to_string(),
        )
    }

    /// The fields come merged ([`write_plan`](super::flow::write_plan)); the count is the rows
    /// updated, each of which the prefetch found.
    async fn update_memberships(
        &self,
        rows: &[FieldsWrite<'_>],
        lists: &[i64],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let rows: Vec<_> = rows
            .iter()
            .zip(lists)
            .map(|(m, list)| (list, m.phone, &m.custom_fields))
            .collect();
        self.rows(
            "UPDATE memberships SET updated_at = ?2, custom_fields = json(r.value ->> 2)
             FROM json_each(?1) AS r
             WHERE memberships.list_id = r.value ->> 0 AND memberships.phone = r.value ->> 1",
            &rows,
            &now.to_string(),
        )
    }

    async fn insert_enrollments(
        &self,
        rows: &[Enrollment<'_>],
        lists: &[i64],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let rows: Vec<_> = rows
            .iter()
            .zip(lists)
            .map(|(e, list)| (list, e.phone, e.journey))
            .collect();
        self.rows(
            "INSERT INTO journey_enrollments (list_id, phone, journey, enrolled_at)
             SELECT value ->> 0, value ->> 1, value ->> 2, ?2 FROM json_each(?1)",
            &rows,
            &now.to_string(),
        )
    }
}

impl SeedStatements for Statements<'_> {
    async fn account(&mut self, name: &str, billing: &str) -> Result<i64, StoreError> {
        self.0.execute(
            "INSERT INTO accounts (name, billing) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET billing = excluded.billing",
            params![name, billing],
        )?;
        let account =
            self.0
                .query_row("SELECT id FROM accounts WHERE name = ?1", [name], |row| {
                    row.get(0)
                })?;
        Ok(account)
    }

    async fn api_keys(&mut self, account: i64, hashes: &[String]) -> Result<(), StoreError> {
        self.each(
            "INSERT OR IGNORE INTO api_keys (key_sha256, account_id) VALUES (?1, ?2)",
            hashes,
            |hash| (hash, account),
        )
    }

    async fn lists(&mut self, account: i64, lists: &[(String, u32)]) -> Result<(), StoreError> {
        self.each(
            "INSERT INTO sending_lists (account_id, list_number, welcome_journeys)
             VALUES (?1, ?2, ?3) ON CONFLICT (account_id, list_number)
             DO UPDATE SET welcome_journeys = excluded.welcome_journeys",
            lists,
            |(number, journeys)| (account, number, journeys),
        )
    }

    async fn contacts(&mut self, phones: &[String], now: &str) -> Result<(), StoreError> {
        self.each(
            "INSERT OR IGNORE INTO contacts (phone, signup_date, created_at, updated_at)
             VALUES (?1, ?2, ?2, ?2)",
            phones,
            |phone| (phone, now),
        )
    }

    async fn memberships(
        &mut self,
        account: i64,
        memberships: &[(String, String)],
        now: &str,
    ) -> Result<(), StoreError> {
        self.each(
            "INSERT OR IGNORE INTO memberships (list_id, phone, signup_date, created_at, updated_at)
             SELECT id, ?3, ?4, ?4, ?4 FROM sending_lists
             WHERE account_id = ?1 AND list_number = ?2",
            memberships,
            |(phone, list)| (account, list, phone, now),
        )
    }

    async fn verdicts(&mut self, verdicts: &[(&str, &str)]) -> Result<(), StoreError> {
        self.each(
            "INSERT OR REPLACE INTO carrier_verdicts (phone, verdict) VALUES (?1, ?2)",
            verdicts,
            |&(phone, verdict)| (phone, verdict),
        )
    }

    async fn validations(&mut self, results: &[(&str, String)]) -> Result<(), StoreError> {
        self.each(
            "INSERT OR REPLACE INTO validation_results (phone, result) VALUES (?1, ?2)",
            results,
            |(phone, result)| (*phone, result),
        )
    }
}
