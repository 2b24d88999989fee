//! `bulk-contacts-server [--db PATH | --database-url postgres://…] [--listen ADDR] [--seed-demo]`
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use bulk_contacts_server::metrics::TimedStore;
use bulk_contacts_server::pipeline::App;
use bulk_contacts_server::{
    Config, PgStore, SqliteStore, Store, config, demo, serve_with, shutdown,
};
use clap::Parser;

// jemalloc by default (see Cargo.toml and the README's *Memory bound*); mimalloc when chosen.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(all(feature = "jemalloc", not(feature = "mimalloc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The reference server of bulk-contacts: POST /v2/contacts/bulk over SQLite or PostgreSQL.
#[derive(Debug, Parser)]
#[command(version)]
struct Options {
    /// The SQLite database, created and migrated if needed (`:memory:`: none on disk).
    #[arg(
        long,
        env = "BULK_CONTACTS_DB",
        value_name = "PATH",
        default_value = ":memory:",
        conflicts_with = "database_url"
    )]
    db: String,

    /// A PostgreSQL database instead of SQLite, migrated at start
    /// (`postgres://user:password@host:port/database`).
    #[arg(long, env = "BULK_CONTACTS_DATABASE_URL", value_name = "URL")]
    database_url: Option<String>,

    /// The most PostgreSQL connections this instance opens.
    #[arg(
        long,
        env = "BULK_CONTACTS_POOL_SIZE",
        value_name = "N",
        default_value_t = 16
    )]
    pool_size: usize,

    /// The address to listen on.
    #[arg(
        long,
        env = "BULK_CONTACTS_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:8080"
    )]
    listen: SocketAddr,

    /// Add the demo account: the built-in world of SPEC section 8 (idempotent).
    #[arg(long, env = "BULK_CONTACTS_SEED_DEMO")]
    seed_demo: bool,

    /// The log format on standard error: one JSON object per event, or text.
    #[arg(long, env = "BULK_CONTACTS_LOG_FORMAT", value_name = "FORMAT", default_value = "json", value_parser = ["json", "text"])]
    log_format: String,

    /// The threads that run the requests (default: one per CPU). 1 runs the whole server on
    /// one thread, the engine's and the store's calls included (tokio's current-thread
    /// runtime): about 0.8× the CPU per batch, one core at most. Meant for one instance per
    /// core on PostgreSQL; see the README.
    #[arg(
        long,
        env = "BULK_CONTACTS_WORKER_THREADS",
        value_name = "N",
        value_parser = clap::value_parser!(u16).range(1..=1024)
    )]
    worker_threads: Option<u16>,

    /// Test hook, hidden: sleep this many seconds after each COMMIT, before answering, so
    /// that a test can kill the process between the two (the Idempotency-Key crash test).
    #[arg(long, hide = true, value_name = "SECONDS")]
    pause_after_commit: Option<f64>,

    #[command(flatten)]
    config: Config,
}

fn main() -> ExitCode {
    let options = Options::parse();
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false);
    if options.log_format == "json" {
        logs.json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        logs.with_ansi(false).init();
    }
    // One worker: everything on this thread, the engine's and SQLite's calls inline
    // (`bulk_contacts_server::blocking`), no hand-offs between threads. Otherwise the blocking
    // pool runs those calls (`block_in_place`): at most one thread per request in flight, plus
    // a few for the runtime's own needs.
    let mut builder = match options.worker_threads {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(threads) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(usize::from(threads));
            builder
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder
        .enable_all()
        .max_blocking_threads(options.config.max_in_flight.max(1) + 4)
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bulk-contacts-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match &options.database_url {
            Some(url) => {
                let timeout = options.config.store_timeout;
                let store = PgStore::connect_with_timeout(url, options.pool_size, timeout).await?;
                run(store, &options, "postgresql").await
            }
            None => {
                let store =
                    SqliteStore::open_with_timeout(&options.db, options.config.store_timeout)?;
                run(store, &options, &options.db).await
            }
        }
    });
    // Whatever still runs after the drain deadline (a half-sent request) is cut here.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bulk-contacts-server: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run<S: Store>(
    store: S,
    options: &Options,
    database: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    if options.seed_demo {
        demo::seed_demo(&store).await?;
        let (key, (list, journeys)) = (demo::KEY, demo::LIST);
        eprintln!(
            "seeded the demo account: key {key}, list {list} ({journeys} welcome journey), \
             {} not sendable",
            demo::NOT_SENDABLE
        );
    }
    let signal = shutdown::signal()?;
    let listener = bulk_contacts_server::http::listen(options.listen)?;
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    eprintln!(
        "listening on http://{} (database {database}, {workers} worker thread{})",
        listener.local_addr()?,
        if workers == 1 { "" } else { "s" }
    );
    let shutdown = async {
        let signal = signal.await;
        tracing::info!(signal, "stopping: finishing the requests in flight");
    };
    let app = App::with_limits(TimedStore(store), options.config.limits()?)
        .with_store_timeout(options.config.store_timeout)
        .with_pause_after_commit(
            options
                .pause_after_commit
                .and_then(|seconds| std::time::Duration::try_from_secs_f64(seconds).ok()),
        );
    let mut config = options.config.clone();
    // Client connections must leave descriptors for the store (PostgreSQL: its pool) under
    // the open-files limit: past the cap, connections make room for each other, whereas a
    // store connection refused for want of a descriptor would fail requests.
    let pool = if options.database_url.is_some() {
        options.pool_size
    } else {
        0
    };
    let limit = config::open_files_limit();
    let reserved = config::RESERVED_DESCRIPTORS + pool;
    let fitted = config::connections_within(config.max_connections, limit, reserved);
    if fitted < config.max_connections {
        tracing::warn!(
            requested = config.max_connections,
            max_connections = fitted,
            open_files_limit = limit,
            reserved,
            "--max-connections lowered to fit the open-files limit"
        );
        config.max_connections = fitted;
    }
    serve_with(listener, Arc::new(app), config, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}
