//! PostgreSQL: `tokio-postgres` behind a `deadpool-postgres` pool, so that several server
//! processes can share one database.
//!
//! A request's transaction (READ COMMITTED) first takes one transaction-scoped advisory lock
//! per distinct phone of the batch, in ascending key order, in one statement; then the
//! prefetch (four queries, each key list bound as one array, `= ANY($1)` / `unnest`; `BEGIN`,
//! the lock statement and the four travel in one round trip), the validation results (one
//! query), and the write (the new rows by binary `COPY`, the updates as `UPDATE … FROM
//! unnest(…)`; phones as the `bigint` keys of migration V4). Why this makes the counters
//! exact across processes is in the server's README, *Concurrency*.

use std::pin::pin;
use std::str::FromStr;

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use futures_util::SinkExt;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{NoTls, Statement};

use bulk_contacts::{ContactWrite, Enrollment, Keys, MembershipInsert, Timestamp, WritePlan};

use super::flow::{
    ACCOUNT_BY_KEY, ANSWER_BY_KEY, Consent, FieldsWrite, Found, PrefetchRows, REMEMBER_ANSWER,
    SeedStatements, WriteStatements, account_row, write_plan, write_seed,
};
use super::{
    AccountRow, DEFAULT_STORE_TIMEOUT, Prefetch, Remember, Seed, Store, StoreError, StoredAnswer,
    Transaction, Validations, Written, expect_rows, key_hash, phone_key, stand_in_results,
    stored_key,
};

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// The advisory lock (session level) under which an instance migrates at start, so that
/// instances started together apply each migration once. Any constant that no other
/// application uses: "bulk-con" in ASCII.
const MIGRATION_LOCK: i64 = 0x6275_6c6b_2d63_6f6e;

/// The lock key of a phone number: FNV-1a, 64 bits. The same in every process and every
/// build (unlike `std`'s hasher); two phones sharing a key only serialize more.
pub fn lock_key(phone: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in phone.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash as i64
}

/// The distinct lock keys of `phones`, ascending: the one order every transaction takes
/// them in, so that no two wait on each other in a cycle.
pub fn lock_keys<'p>(phones: impl IntoIterator<Item = &'p str>) -> Vec<i64> {
    let mut keys: Vec<i64> = phones.into_iter().map(lock_key).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The phone number of a stored key: `+` and its digits, by `itoa` into a string of the right
/// size. Only the carrier verdicts and validation results found are read back into phones (the
/// engine's maps of them are keyed by phone); the contacts and memberships found stay keyed by
/// their integer ([`Existing`](super::Existing)).
pub fn phone_text(key: i64) -> String {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(key);
    let mut text = String::with_capacity(1 + digits.len());
    text.push('+');
    text.push_str(digits);
    text
}

/// The keys of `phones` that can be stored; the others are in no table (lookups skip them).
fn phone_keys<'p>(phones: impl IntoIterator<Item = &'p str>) -> Vec<i64> {
    phones.into_iter().filter_map(phone_key).collect()
}

/// The keys of the rows' phones, in order (see [`stored_key`]).
fn stored_keys<'r, R>(
    rows: &'r [R],
    phone: impl Fn(&'r R) -> &'r str,
) -> Result<Vec<i64>, StoreError> {
    rows.iter().map(|row| stored_key(phone(row))).collect()
}

/// JSON text bound as `jsonb` in the binary format: the version byte (1) then the text, which
/// PostgreSQL parses as it would the text format; no copy into a `serde_json::Value`.
#[derive(Debug)]
struct Jsonb<'t>(&'t str);

impl ToSql for Jsonb<'_> {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&[1]);
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSONB
    }

    to_sql_checked!();
}

/// A timestamp bound as `timestamptz` in PostgreSQL's binary form: microseconds since
/// 2000-01-01 00:00 UTC, as a big-endian `i64`. Integer arithmetic on the engine's `jiff`
/// timestamp (truncated to the microsecond, as PostgreSQL stores it); `postgres-types`' own
/// `jiff` conversion goes through a rounded `Span` and took a tenth of the server's CPU per
/// batch in a profile (3,500 timestamps a batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PgTimestamp(i64);

/// 2000-01-01 00:00 UTC in microseconds since the Unix epoch: PostgreSQL's epoch.
const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;

impl From<Timestamp> for PgTimestamp {
    fn from(time: Timestamp) -> PgTimestamp {
        let micros = time.as_second() * 1_000_000 + i64::from(time.subsec_microsecond());
        PgTimestamp(micros - POSTGRES_EPOCH_MICROS)
    }
}

impl ToSql for PgTimestamp {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&self.0.to_be_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ
    }

    to_sql_checked!();
}

/// The PostgreSQL store: a pool of connections.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: Pool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/database`), applies the migrations the
    /// database lacks (under an advisory lock), and makes a pool of up to `pool_size`
    /// connections, with the default store timeout.
    pub async fn connect(url: &str, pool_size: usize) -> Result<PgStore, StoreError> {
        PgStore::connect_with_timeout(url, pool_size, DEFAULT_STORE_TIMEOUT).await
    }

    /// [`PgStore::connect`] with `timeout` (`--store-timeout`) on each connection attempt
    /// (`connect_timeout`), on the wait for a pooled connection and its creation and recycling
    /// (the pool's timeouts), and on each statement on the server's side too
    /// (`statement_timeout`, so that a statement the server abandons does not run on). The
    /// request path bounds each call by the same timeout on the client's side.
    pub async fn connect_with_timeout(
        url: &str,
        pool_size: usize,
        timeout: Duration,
    ) -> Result<PgStore, StoreError> {
        let mut config = tokio_postgres::Config::from_str(url)?;
        config.connect_timeout(timeout);
        migrate(&config).await?;
        let options = format!(
            "{} -c statement_timeout={}",
            config.get_options().unwrap_or(""),
            timeout.as_millis().max(1)
        );
        config.options(options.trim_start());
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .build()
            .map_err(|error| StoreError::Data(format!("postgres pool: {error}")))?;
        let store = PgStore { pool };
        store.ping().await?;
        Ok(store)
    }

    /// A connection of the pool (tests, tools).
    pub async fn client(&self) -> Result<Object, StoreError> {
        Ok(self.pool.get().await?)
    }
}

async fn migrate(config: &tokio_postgres::Config) -> Result<(), StoreError> {
    let (mut client, connection) = config.connect(NoTls).await?;
    let driver = tokio::spawn(connection);
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let applied = embedded::migrations::runner().run_async(&mut client).await;
    // Closing the session releases the lock in any case.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    drop(client);
    let _ = driver.await;
    applied?;
    Ok(())
}

impl Store for PgStore {
    type Tx = PgTx;

    async fn find_account(&self, key: &str) -> Result<Option<AccountRow>, StoreError> {
        let client = self.pool.get().await?;
        let query = client.prepare_cached(ACCOUNT_BY_KEY).await?;
        let row = client.query_opt(&query, &[&key_hash(key)]).await?;
        row.map(|row| account_row(key, row.get(0), row.get(1)))
            .transpose()
    }

    /// The transaction starts with its first statement: `BEGIN` and the lock statement are
    /// sent with it, pipelined (one round trip for the three, with the prefetch).
    async fn begin(&self, phones: &[&str]) -> Result<PgTx, StoreError> {
        let client = self.pool.get().await?;
        Ok(PgTx {
            client: Some(client),
            found: Found::default(),
            unlocked: Some(lock_keys(phones.iter().copied())),
        })
    }

    async fn seed(&self, seed: &Seed) -> Result<i64, StoreError> {
        let mut phones: Vec<&str> = seed.contacts.iter().map(String::as_str).collect();
        phones.extend(seed.memberships.iter().map(|(phone, _)| phone.as_str()));
        let mut tx = self.begin(&phones).await?;
        let account = write_seed(&mut Statements(tx.started().await?), seed).await?;
        tx.commit().await?;
        Ok(account)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client.simple_query("SELECT 1").await?;
        Ok(())
    }

    async fn find_answer(
        &self,
        account: i64,
        key: &str,
    ) -> Result<Option<StoredAnswer>, StoreError> {
        let client = self.pool.get().await?;
        let query = client.prepare_cached(ANSWER_BY_KEY).await?;
        let row = client.query_opt(&query, &[&account, &key]).await?;
        Ok(row.map(|row| StoredAnswer {
            request_sha256: row.get(0),
            status: row.get::<_, i16>(1) as u16,
            body: row.get(2),
        }))
    }

    async fn expire_answers(&self, before: i64, limit: usize) -> Result<u64, StoreError> {
        let client = self.pool.get().await?;
        let query = client
            .prepare_cached(
                "DELETE FROM idempotency_keys WHERE (account_id, key) IN
                 (SELECT account_id, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)",
            )
            .await?;
        Ok(client.execute(&query, &[&before, &(limit as i64)]).await?)
    }
}

/// A request's transaction on one pooled connection.
pub struct PgTx {
    /// `None` once committed or rolled back.
    client: Option<Object>,
    /// What the prefetch found that the write needs.
    found: Found,
    /// The lock keys (ascending) while the transaction has not started: `BEGIN` and the locks
    /// go out with its first statement.
    unlocked: Option<Vec<i64>>,
}

/// Takes the transaction-scoped advisory lock of each key, in the keys' order: one statement
/// (unnest yields the keys in array order, and the ORDER BY keeps the volatile lock calls in
/// that order).
const LOCK: &str =
    "SELECT pg_advisory_xact_lock(k) FROM unnest($1::int8[]) WITH ORDINALITY AS t(k, i)
     ORDER BY i";

impl PgTx {
    fn client(&self) -> Result<&Object, StoreError> {
        self.client
            .as_ref()
            .ok_or_else(|| StoreError::Data("the transaction has ended".to_owned()))
    }

    /// The connection, inside the transaction holding its locks: `BEGIN` and the locks sent
    /// now (one round trip) if no statement has started the transaction yet.
    async fn started(&mut self) -> Result<&Object, StoreError> {
        if let Some(keys) = self.unlocked.take() {
            let client = self.client()?;
            let lock = client.prepare_cached(LOCK).await?;
            start(client, &lock, &keys).await?;
        }
        self.client()
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Ended without COMMIT (an error, a panic, a cancelled request): the connection
            // is mid-transaction, so it leaves the pool and closes, and the server rolls
            // the transaction back and releases its locks.
            drop(Object::take(client));
        }
    }
}

impl Transaction for PgTx {
    /// The first statements of a request's transaction: `BEGIN`, the locks and the prefetch's
    /// four queries go out together, one round trip. The server runs them in order, so every
    /// query reads under the locks; if one fails, so do the ones after it (the transaction is
    /// aborted), and the first error is the one returned.
    async fn prefetch(&mut self, account: i64, keys: &Keys<'_>) -> Result<Prefetch, StoreError> {
        let locks = self.unlocked.take();
        let client = self.client()?;
        let (lock, lists, verdicts, contacts, memberships) = tokio::try_join!(
            client.prepare_cached(LOCK),
            // Key-share locked until the transaction ends: no list of the batch can be
            // deleted while its members are written (migration V4: no foreign keys there).
            client.prepare_cached(
                "SELECT list_number, id, welcome_journeys FROM sending_lists
                 WHERE account_id = $1 AND list_number = ANY($2::text[]) FOR KEY SHARE",
            ),
            client.prepare_cached(
                "SELECT phone, verdict FROM carrier_verdicts WHERE phone = ANY($1::int8[])",
            ),
            client.prepare_cached(
                "SELECT phone, ip_address, url FROM contacts WHERE phone = ANY($1::int8[])",
            ),
            // Every membership of the batch's phones in the batch's lists: a superset of the
            // batch's (phone, list) pairs when it names several lists, which is harmless (the
            // engine asks only about its pairs, and every row is a true membership), and
            // about half the cost of joining the pairs through `unnest` (one index scan
            // with an array condition per list).
            client.prepare_cached(
                "SELECT m.phone, m.list_id, m.custom_fields::text FROM sending_lists AS l
                 JOIN memberships AS m ON m.list_id = l.id AND m.phone = ANY($3::int8[])
                 WHERE l.account_id = $1 AND l.list_number = ANY($2::text[])",
            ),
        )?;
        // One round trip: the driver pipelines the statements on the connection, sent in the
        // order try_join! first polls them.
        let phones = phone_keys(keys.phones.iter().copied());
        let list_params: [&(dyn ToSql + Sync); 2] = [&account, &keys.lists];
        let phone_params: [&(dyn ToSql + Sync); 1] = [&phones];
        let pair_params: [&(dyn ToSql + Sync); 3] = [&account, &keys.lists, &phones];
        let started = async {
            match &locks {
                Some(keys) => start(client, &lock, keys).await,
                None => Ok(()),
            }
        };
        let ((), lists, verdicts, contacts, memberships) = tokio::try_join!(
            started,
            query(client, &lists, &list_params),
            query(client, &verdicts, &phone_params),
            query(client, &contacts, &phone_params),
            query(client, &memberships, &pair_params),
        )?;
        let rows = PrefetchRows {
            lists: lists
                .iter()
                .map(|row| (row.get(0), row.get(1), row.get::<_, i32>(2).max(0) as u32))
                .collect(),
            verdicts: verdicts
                .iter()
                .map(|row| (phone_text(row.get(0)), row.get(1)))
                .collect(),
            contacts: contacts
                .iter()
                .map(|row| {
                    let consent = Consent {
                        ip_address: row.get(1),
                        url: row.get(2),
                    };
                    (row.get(0), consent)
                })
                .collect(),
            memberships: memberships
                .iter()
                .map(|row| (row.get(0), row.get(1), row.get(2)))
                .collect(),
        };
        rows.into_prefetch(&mut self.found)
    }

    async fn validate<'p>(&mut self, phones: &[&'p str]) -> Result<Validations<'p>, StoreError> {
        let client = self.started().await?;
        let query = client
            .prepare_cached(
                "SELECT phone, result FROM validation_results WHERE phone = ANY($1::int8[])",
            )
            .await?;
        let keys = phone_keys(phones.iter().copied());
        let rows = client.query(&query, &[&keys]).await?;
        let rows = rows
            .iter()
            .map(|row| (phone_text(row.get(0)), row.get(1)))
            .collect();
        Ok(stand_in_results(phones, rows))
    }

    /// A write that fails leaves its connection closed, never back in the pool: a `COPY` the
    /// server refuses before it starts (a table gone, a statement cached for a table since
    /// changed) leaves tokio-postgres' side of the protocol one `ReadyForQuery` out of step
    /// (rust-postgres PR #1337), and the next user of the connection would read that reply.
    /// Closing it rolls the transaction back.
    async fn write(&mut self, plan: &WritePlan<'_>, now: Timestamp) -> Result<Written, StoreError> {
        self.started().await?;
        let written = match Writes::prepare(self.client()?).await {
            Ok(writes) => write_plan(&writes, plan, now, &self.found).await,
            Err(error) => Err(error),
        };
        if written.is_err()
            && let Some(client) = self.client.take()
        {
            drop(Object::take(client));
        }
        written
    }

    async fn remember(&mut self, entry: &Remember<'_>) -> Result<bool, StoreError> {
        let inserted = run(
            self.started().await?,
            REMEMBER_ANSWER,
            &[
                &entry.account,
                &entry.key,
                &entry.answer.request_sha256,
                &(entry.answer.status as i16),
                &entry.answer.body,
                &entry.created_at,
            ],
        )
        .await?;
        Ok(inserted == 1)
    }

    /// A transaction that never started has nothing to commit: its connection goes back to
    /// the pool as it came.
    async fn commit(mut self) -> Result<(), StoreError> {
        let client = self.client()?;
        if self.unlocked.is_none() {
            client.batch_execute("COMMIT").await?;
        }
        // Back to the pool, idle.
        self.client = None;
        Ok(())
    }

    /// After a failed write the connection is closed already (see `write`): nothing to do;
    /// nor for a transaction that never started.
    async fn rollback(mut self) -> Result<(), StoreError> {
        let Some(client) = self.client.as_ref() else {
            return Ok(());
        };
        if self.unlocked.is_none() {
            client.batch_execute("ROLLBACK").await?;
        }
        self.client = None;
        Ok(())
    }
}

/// Starts a transaction: `BEGIN` and the lock statement (`lock`, prepared from [`LOCK`]) on
/// `keys`, pipelined.
async fn start(
    client: &Object,
    lock: &tokio_postgres::Statement,
    keys: &[i64],
) -> Result<(), StoreError> {
    let params: [&(dyn ToSql + Sync); 1] = [&keys];
    let ((), locked) =
        tokio::try_join!(client.batch_execute("BEGIN"), client.execute(lock, &params))?;
    expect_rows("advisory locks", keys.len(), locked)
}

/// A query's rows, its error as the store's (to be joined with the store's other steps).
async fn query(
    client: &Object,
    statement: &tokio_postgres::Statement,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>, StoreError> {
    Ok(client.query(statement, params).await?)
}

/// One column of a round's rows, bound as one array parameter.
fn column<'r, R, T>(rows: &'r [R], f: impl Fn(&'r R) -> T) -> Vec<T> {
    rows.iter().map(f).collect()
}

/// The largest message [`Writes::copy_in`] hands the connection: a typical `COPY`'s rows (the
/// contacts of 1000 new ones: ~110 kB) go in one, and the connection's write buffer never holds
/// more than this above what it holds anyway.
const COPY_MESSAGE_BYTES: usize = 256 * 1024;

/// The rows of a binary `COPY` (PostgreSQL's `COPY BINARY` file format: a signature and two
/// 32-bit fields, then per row its field count and each value's length and binary form, then
/// -1), encoded into one buffer by the values' own [`ToSql`] before any is sent.
///
/// Not `tokio_postgres::binary_copy::BinaryCopyInWriter`: it sends every 4 kB through the
/// sink's one-message channel as soon as it fills, so the ~230 kB of a batch of new contacts'
/// three `COPY`s cost ~55 hand-offs between the request's task and the connection's (each a
/// wake-up, often of the other worker thread); encoded first, they cost one per `COPY`.
struct CopyRows<'t> {
    buf: BytesMut,
    types: &'t [Type],
}

impl<'t> CopyRows<'t> {
    /// A `COPY` of `rows` rows of `types`, whose text and `jsonb` values hold `text_bytes` in
    /// all: its buffer sized for the whole encoding at once (a value that is NULL takes less),
    /// so that it is not copied again as it grows.
    fn new(types: &'t [Type], rows: usize, text_bytes: usize) -> CopyRows<'t> {
        let row: usize = types
            .iter()
            .map(|ty| {
                4 + match *ty {
                    Type::INT8 | Type::TIMESTAMPTZ => 8,
                    Type::INT4 => 4,
                    // The version byte before the text.
                    Type::JSONB => 1,
                    _ => 0,
                }
            })
            .sum();
        let capacity = 19 + rows * (2 + row) + text_bytes + 2;
        let mut buf = BytesMut::with_capacity(capacity);
        buf.put_slice(b"PGCOPY\n\xff\r\n\0");
        buf.put_i32(0); // flags: no OIDs
        buf.put_i32(0); // header extension: none
        CopyRows { buf, types }
    }

    /// Appends one row: `values` in the order of the columns and of `types`.
    fn row(&mut self, values: &[&(dyn ToSql + Sync)]) -> Result<(), StoreError> {
        if values.len() != self.types.len() {
            return Err(StoreError::Data(format!(
                "a COPY row of {} values for {} columns",
                values.len(),
                self.types.len()
            )));
        }
        self.buf.put_i16(values.len() as i16);
        for (value, ty) in values.iter().zip(self.types) {
            let at = self.buf.len();
            self.buf.put_i32(0);
            let len = match value.to_sql_checked(ty, &mut self.buf) {
                Ok(IsNull::Yes) => -1,
                Ok(IsNull::No) => i32::try_from(self.buf.len() - at - 4).map_err(|_| {
                    StoreError::Data(format!("a {ty} value of over 2 GiB for COPY"))
                })?,
                Err(error) => {
                    return Err(StoreError::Data(format!("a {ty} value for COPY: {error}")));
                }
            };
            self.buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
        }
        Ok(())
    }

    /// The whole encoding: the rows and the trailer.
    fn finish(mut self) -> Bytes {
        self.buf.put_i16(-1);
        self.buf.freeze()
    }
}

/// PostgreSQL's statements of a seed ([`write_seed`]), on a connection inside its
/// transaction.
struct Statements<'c>(&'c Object);

/// PostgreSQL's statements of a write ([`write_plan`]), prepared on the connection of a
/// transaction. The rows the locked prefetch proved new are copied in (`COPY … FROM STDIN
/// (FORMAT binary)`: no conflict to check, no per-row statement, every value in its binary
/// form, and one WAL record per heap page instead of one per row); the updates are one
/// statement per kind, every column bound as one array (`unnest`).
struct Writes<'c> {
    client: &'c Object,
    insert_contacts: Statement,
    update_contacts: Statement,
    insert_memberships: Statement,
    update_memberships: Statement,
    insert_enrollments: Statement,
}

impl<'c> Writes<'c> {
    /// The write's statements on `client`, prepared: the ones the connection has not yet
    /// prepared in one round trip, the others from its cache. Every statement of a write is
    /// then sent when its future is first polled ([`WriteStatements`]).
    async fn prepare(client: &'c Object) -> Result<Writes<'c>, StoreError> {
        let (
            insert_contacts,
            update_contacts,
            insert_memberships,
            update_memberships,
            insert_enrollments,
        ) = tokio::try_join!(
            client.prepare_cached(
                "COPY contacts (phone, signup_date, ip_address, url, extra, validation,
                            created_at, updated_at) FROM STDIN (FORMAT binary)",
            ),
            client.prepare_cached(
                "WITH r AS MATERIALIZED (
                 SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[])
                     AS r(phone, ip, url, extra, validation)),
             m AS MATERIALIZED (
                 SELECT c.phone, c.ip_address, c.url, c.extra, c.validation,
                        coalesce(r.ip, c.ip_address) AS new_ip, coalesce(r.url, c.url) AS new_url,
                        CASE WHEN r.extra = '{}' THEN c.extra
                             ELSE json_merge_patch(c.extra, r.extra::jsonb) END AS new_extra,
                        coalesce(r.validation::jsonb, c.validation) AS new_validation
                 FROM contacts AS c JOIN r ON c.phone = r.phone),
             u AS (
                 UPDATE contacts AS c SET ip_address = m.new_ip, url = m.new_url,
                     extra = m.new_extra, validation = m.new_validation, updated_at = $6
                 FROM m WHERE c.phone = m.phone
                     AND (m.new_ip, m.new_url, m.new_extra, m.new_validation)
                         IS DISTINCT FROM (m.ip_address, m.url, m.extra, m.validation))
             SELECT count(*) FROM m",
            ),
            client.prepare_cached(
                "COPY memberships (list_id, phone, custom_fields, signup_date, created_at,
                               updated_at) FROM STDIN (FORMAT binary)",
            ),
            client.prepare_cached(
                "WITH u AS (
                 UPDATE memberships AS t SET custom_fields = r.fields::jsonb, updated_at = $4
                 FROM unnest($1::int8[], $2::int8[], $3::text[]) AS r(list_id, phone, fields)
                 WHERE t.list_id = r.list_id AND t.phone = r.phone
                 RETURNING 1)
             SELECT count(*) FROM u",
            ),
            client.prepare_cached(
                "COPY journey_enrollments (phone, list_id, journey, enrolled_at)
             FROM STDIN (FORMAT binary)",
            ),
        )?;
        Ok(Writes {
            client,
            insert_contacts,
            update_contacts,
            insert_memberships,
            update_memberships,
            insert_enrollments,
        })
    }

    /// Copies `rows` in by `statement` (`COPY … FROM STDIN (FORMAT binary)`), each row's values of
    /// `types` given by `values` (`text_bytes`: the length of the rows' texts, for the
    /// buffer's size): the rows are encoded first, then handed to the connection in a few
    /// large messages ([`CopyRows`]). Returns the rows the server copied.
    async fn copy_in<I: ExactSizeIterator>(
        &self,
        statement: &Statement,
        types: &[Type],
        (rows, text_bytes): (I, usize),
        mut values: impl FnMut(&mut CopyRows<'_>, I::Item) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let mut copy = CopyRows::new(types, rows.len(), text_bytes);
        for row in rows {
            values(&mut copy, row)?;
        }
        let mut data = copy.finish();
        let sink = self.client.copy_in::<_, Bytes>(statement).await?;
        let mut sink = pin!(sink);
        while !data.is_empty() {
            let part = data.split_to(data.len().min(COPY_MESSAGE_BYTES));
            sink.as_mut().send(part).await?;
        }
        Ok(sink.as_mut().finish().await?)
    }

    /// An update statement of the shape `WITH … SELECT count(*)`, whose count is the rows it
    /// matched: changed or not (contacts), or updated (memberships, all changed).
    async fn matched(
        &self,
        statement: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let matched: i64 = self.client.query_one(statement, params).await?.get(0);
        Ok(matched.max(0) as u64)
    }
}

impl WriteStatements for Writes<'_> {
    async fn insert_contacts(
        &self,
        c: &[ContactWrite<'_>],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let phones = stored_keys(c, |r| r.phone)?;
        let now = PgTimestamp::from(now);
        self.copy_in(
            &self.insert_contacts,
            &[
                Type::INT8,
                Type::TIMESTAMPTZ,
                Type::TEXT,
                Type::TEXT,
                Type::JSONB,
                Type::JSONB,
                Type::TIMESTAMPTZ,
                Type::TIMESTAMPTZ,
            ],
            (
                c.iter().zip(&phones),
                c.iter()
                    .map(|r| {
                        r.ip_address.map_or(0, str::len)
                            + r.url.map_or(0, str::len)
                            + r.other_members.len()
                            + r.validation.as_ref().map_or(0, String::len)
                    })
                    .sum(),
            ),
            |copy, (row, phone)| {
                let signup = PgTimestamp::from(row.signup_date);
                let extra = Jsonb(&row.other_members);
                let validation = row.validation.as_deref().map(Jsonb);
                copy.row(&[
                    phone,
                    &signup,
                    &row.ip_address,
                    &row.url,
                    &extra,
                    &validation,
                    &now,
                    &now,
                ])
            },
        )
        .await
    }

    /// An existing contact keeps its first signup date; consent data and validation sent now
    /// replace the stored ones, other members are merged (RFC 7396, as SQLite's json_patch).
    /// A contact whose stored values would not change is not rewritten (its `updated_at` is
    /// when its values last changed): a re-import of the same contacts writes nothing here.
    /// The count is the contacts matched.
    async fn update_contacts(
        &self,
        c: &[&ContactWrite<'_>],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let phones = stored_keys(c, |r| r.phone)?;
        self.matched(
            &self.update_contacts,
            &[
                &phones,
                &column(c, |r| r.ip_address),
                &column(c, |r| r.url),
                &column(c, |r| &*r.other_members),
                &column(c, |r| r.validation.as_deref()),
                &PgTimestamp::from(now),
            ],
        )
        .await
    }

    async fn insert_memberships(
        &self,
        m: &[MembershipInsert<'_>],
        lists: &[i64],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let phones = stored_keys(m, |r| r.phone)?;
        let now = PgTimestamp::from(now);
        self.copy_in(
            &self.insert_memberships,
            &[
                Type::INT8,
                Type::INT8,
                Type::JSONB,
                Type::TIMESTAMPTZ,
                Type::TIMESTAMPTZ,
                Type::TIMESTAMPTZ,
            ],
            (
                m.iter().zip(&phones).zip(lists),
                m.iter().map(|r| r.custom_fields.len()).sum(),
            ),
            |copy, ((row, phone), list)| {
                let fields = Jsonb(&row.custom_fields);
                let signup = PgTimestamp::from(row.signup_date);
                copy.row(&[list, phone, &fields, &signup, &now, &now])
            },
        )
        .await
    }

    /// The fields come merged ([`write_plan`]): one statement sets them, finding each row
    /// once by its key; the count is the rows updated, each of which the prefetch found.
    async fn update_memberships(
        &self,
        m: &[FieldsWrite<'_>],
        lists: &[i64],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let phones = stored_keys(m, |r| r.phone)?;
        self.matched(
            &self.update_memberships,
            &[
                &lists,
                &phones,
                &column(m, |r| &*r.custom_fields),
                &PgTimestamp::from(now),
            ],
        )
        .await
    }

    async fn insert_enrollments(
        &self,
        e: &[Enrollment<'_>],
        lists: &[i64],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let phones = stored_keys(e, |r| r.phone)?;
        let now = PgTimestamp::from(now);
        self.copy_in(
            &self.insert_enrollments,
            &[Type::INT8, Type::INT8, Type::INT4, Type::TIMESTAMPTZ],
            (e.iter().zip(&phones).zip(lists), 0),
            |copy, ((row, phone), list)| copy.row(&[phone, list, &(row.journey as i32), &now]),
        )
        .await
    }
}

impl SeedStatements for Statements<'_> {
    async fn account(&mut self, name: &str, billing: &str) -> Result<i64, StoreError> {
        let row = self
            .0
            .query_one(
                "INSERT INTO accounts (name, billing) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET billing = excluded.billing RETURNING id",
                &[&name, &billing],
            )
            .await?;
        Ok(row.get(0))
    }

    async fn api_keys(&mut self, account: i64, hashes: &[String]) -> Result<(), StoreError> {
        self.0
            .execute(
                "INSERT INTO api_keys (key_sha256, account_id)
                 SELECT k, $2 FROM unnest($1::text[]) AS k ON CONFLICT (key_sha256) DO NOTHING",
                &[&hashes, &account],
            )
            .await?;
        Ok(())
    }

    async fn lists(&mut self, account: i64, lists: &[(String, u32)]) -> Result<(), StoreError> {
        let numbers = column(lists, |(number, _)| number.as_str());
        let journeys = column(lists, |(_, journeys)| *journeys as i32);
        self.0
            .execute(
                "INSERT INTO sending_lists (account_id, list_number, welcome_journeys)
                 SELECT $1, n, j FROM unnest($2::text[], $3::int4[]) AS r(n, j)
                 ON CONFLICT (account_id, list_number)
                 DO UPDATE SET welcome_journeys = excluded.welcome_journeys",
                &[&account, &numbers, &journeys],
            )
            .await?;
        Ok(())
    }

    async fn contacts(&mut self, phones: &[String], now: &str) -> Result<(), StoreError> {
        let phones = stored_keys(phones, String::as_str)?;
        self.0
            .execute(
                "INSERT INTO contacts (phone, signup_date, created_at, updated_at)
                 SELECT p, $2::text::timestamptz, $2::text::timestamptz, $2::text::timestamptz
                 FROM unnest($1::int8[]) AS p ON CONFLICT (phone) DO NOTHING",
                &[&phones, &now],
            )
            .await?;
        Ok(())
    }

    async fn memberships(
        &mut self,
        account: i64,
        memberships: &[(String, String)],
        now: &str,
    ) -> Result<(), StoreError> {
        let phones = stored_keys(memberships, |(phone, _)| phone.as_str())?;
        let lists = column(memberships, |(_, list)| list.as_str());
        self.0
            .execute(
                "INSERT INTO memberships (list_id, phone, signup_date, created_at, updated_at)
                 SELECT l.id, r.p, $4::text::timestamptz, $4::text::timestamptz,
                        $4::text::timestamptz
                 FROM unnest($2::int8[], $3::text[]) AS r(p, n)
                 JOIN sending_lists AS l ON l.account_id = $1 AND l.list_number = r.n
                 ON CONFLICT (phone, list_id) DO NOTHING",
                &[&account, &phones, &lists, &now],
            )
            .await?;
        Ok(())
    }

    /// A verdict on a phone that cannot be stored is left out: no checked phone reaches it.
    async fn verdicts(&mut self, verdicts: &[(&str, &str)]) -> Result<(), StoreError> {
        let (phones, verdicts): (Vec<i64>, Vec<&str>) = verdicts
            .iter()
            .filter_map(|(phone, verdict)| Some((phone_key(phone)?, *verdict)))
            .unzip();
        self.0
            .execute(
                "INSERT INTO carrier_verdicts (phone, verdict)
                 SELECT * FROM unnest($1::int8[], $2::text[])
                 ON CONFLICT (phone) DO UPDATE SET verdict = excluded.verdict",
                &[&phones, &verdicts],
            )
            .await?;
        Ok(())
    }

    /// A result for a phone that cannot be stored is left out: no checked phone reaches it.
    async fn validations(&mut self, results: &[(&str, String)]) -> Result<(), StoreError> {
        let (phones, results): (Vec<i64>, Vec<&str>) = results
            .iter()
            .filter_map(|(phone, result)| Some((phone_key(phone)?, result.as_str())))
            .unzip();
        self.0
            .execute(
                "INSERT INTO validation_results (phone, result)
                 SELECT * FROM unnest($1::int8[], $2::text[])
                 ON CONFLICT (phone) DO UPDATE SET result = excluded.result",
                &[&phones, &results],
            )
            .await?;
        Ok(())
    }
}

async fn run(
    client: &Object,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.execute(&statement, params).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_rows_are_the_binary_copy_format_with_nulls_as_minus_one() {
        let types = [Type::INT8, Type::TEXT, Type::INT4];
        let mut copy = CopyRows::new(&types, 2, 2);
        let capacity = copy.buf.capacity();
        copy.row(&[&7i64, &"ab", &None::<i32>]).unwrap();
        copy.row(&[&-1i64, &None::<&str>, &3i32]).unwrap();
        let mut expected = b"PGCOPY\n\xff\r\n\0".to_vec();
        expected.extend([0, 0, 0, 0, 0, 0, 0, 0]); // flags, header extension
        expected.extend([
            0, 3, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 2, b'a', b'b',
        ]);
        expected.extend([0xff, 0xff, 0xff, 0xff]); // NULL
        expected.extend([
            0, 3, 0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ]);
        expected.extend([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 4, 0, 0, 0, 3]);
        expected.extend([0xff, 0xff]); // the trailer
        let encoded = copy.finish();
        assert_eq!(&encoded[..], &expected[..]);
        assert!(
            capacity >= encoded.len(),
            "sized for {capacity}, took {}",
            encoded.len()
        );
    }

    #[test]
    fn a_copy_row_of_the_wrong_width_or_type_is_an_error_not_a_panic() {
        let types = [Type::INT8, Type::TEXT];
        let mut copy = CopyRows::new(&types, 1, 2);
        let width = copy.row(&[&7i64]).unwrap_err().to_string();
        assert_eq!(width, "a COPY row of 1 values for 2 columns");
        let mistyped = copy.row(&[&"7", &"ab"]).unwrap_err().to_string();
        assert!(
            mistyped.starts_with("a int8 value for COPY: "),
            "{mistyped}"
        );
    }

    #[test]
    fn a_timestamp_is_its_microseconds_since_2000_truncated() {
        let micros = |text: &str| PgTimestamp::from(text.parse::<Timestamp>().expect(text)).0;
        assert_eq!(micros("2000-01-01T00:00:00Z"), 0);
        assert_eq!(micros("2000-01-01T00:00:01.5Z"), 1_500_000);
        assert_eq!(micros("1999-12-31T23:59:59Z"), -1_000_000);
        assert_eq!(micros("1999-12-31T23:59:59.25Z"), -750_000);
        assert_eq!(micros("2025-03-15T14:30:00.1234567Z"), 795_364_200_123_456);
        assert_eq!(micros("1970-01-01T00:00:00Z"), -POSTGRES_EPOCH_MICROS);
    }

    #[test]
    fn a_phone_key_is_its_digits_and_reads_back_as_the_same_phone() {
        for phone in ["+14155550123", "+1", "+999999999999999", "+447911123456"] {
            let key = phone_key(phone).expect(phone);
            assert_eq!(key.to_string(), phone[1..]);
            assert_eq!(phone_text(key), phone);
        }
        // Not "+" and 1 to 15 digits, the first not 0: no key (never stored).
        for phone in [
            "",
            "+",
            "14155550123",
            "+04155550123",
            "+1415555012a",
            "+1234567890123456",
            "+-1",
            "++1",
            " +1",
        ] {
            assert_eq!(phone_key(phone), None, "{phone:?}");
        }
    }

    /// The one-pass key agrees with its definition (`+` then 1 to 15 ASCII digits, the first
    /// not 0, read as a decimal number) on every length around the bounds, with each kind of
    /// wrong byte at each position.
    #[test]
    fn a_phone_key_agrees_with_its_definition() {
        let reference = |phone: &str| {
            let digits = phone.strip_prefix('+')?;
            let ok = (1..=15).contains(&digits.len())
                && !digits.starts_with('0')
                && digits.bytes().all(|b| b.is_ascii_digit());
            ok.then(|| digits.parse::<i64>().ok()).flatten()
        };
        let mut checked = 0;
        for len in 0..=17 {
            for first in ["1", "9", "0"] {
                let digits: String = first
                    .chars()
                    .chain("987654321098765432".chars())
                    .take(len)
                    .collect();
                let phone = format!("+{digits}");
                assert_eq!(phone_key(&phone), reference(&phone), "{phone:?}");
                for at in 0..=digits.len() {
                    for wrong in ["a", "/", ":", " ", "+", "-", "\u{663}", "\u{ff11}"] {
                        let mut bad = digits.clone();
                        bad.insert_str(at, wrong);
                        for phone in [format!("+{bad}"), bad.clone()] {
                            assert_eq!(phone_key(&phone), reference(&phone), "{phone:?}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 2_000, "{checked}");
    }

    #[test]
    fn lock_keys_are_distinct_ascending_and_the_same_for_the_same_phone() {
        let keys = lock_keys(["+14155550001", "+14155550000", "+14155550001"]);
        assert_eq!(keys.len(), 2);
        assert!(keys[0] < keys[1]);
        assert_eq!(lock_key("+14155550000"), lock_key("+14155550000"));
        assert_ne!(lock_key("+14155550000"), lock_key("+14155550001"));
        // FNV-1a's published test vector: the key must not change between builds.
        assert_eq!(lock_key("a") as u64, 0xaf63_dc4c_8601_ec8c);
    }
}
