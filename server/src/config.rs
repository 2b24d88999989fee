//! The server's operating limits: timeouts, load shedding, drain time, the engine's limits.
//! Every field is a command-line option with its environment variable (SPEC §10); the
//! defaults are what `--help` and the README state.

use std::time::Duration;

use bulk_contacts::{InvalidLimit, Limits};

/// Parses a duration given in seconds (`2`, `0.5`).
fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(value).map_err(|error| format!("{text:?}: {error}"))
}

/// How the server protects itself: every option with its variable.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Seconds a connection may take to send a request's headers, counted from when it
    /// starts waiting for them: also the keep-alive idle limit between requests.
    #[arg(long, env = "BULK_CONTACTS_HEADER_TIMEOUT", value_name = "SECONDS", default_value = "10", value_parser = seconds)]
    pub header_timeout: Duration,

    /// Seconds the body may go without a byte arriving (a trickling client is cut off).
    #[arg(long, env = "BULK_CONTACTS_BODY_IDLE_TIMEOUT", value_name = "SECONDS", default_value = "10", value_parser = seconds)]
    pub body_idle_timeout: Duration,

    /// Seconds the whole body may take to arrive.
    #[arg(long, env = "BULK_CONTACTS_BODY_TIMEOUT", value_name = "SECONDS", default_value = "30", value_parser = seconds)]
    pub body_timeout: Duration,

    /// Seconds the requests in flight get to finish after SIGTERM or SIGINT; connections
    /// still open then are cut.
    #[arg(long, env = "BULK_CONTACTS_DRAIN_TIMEOUT", value_name = "SECONDS", default_value = "10", value_parser = seconds)]
    pub drain_timeout: Duration,

    /// Seconds the server keeps reading (and discarding) a request body it answered early
    /// (401, 413, 415, 503, ...) before closing, so that a client which writes its whole body
    /// before reading gets the answer (lingering close; at most the body limit in bytes).
    #[arg(long, env = "BULK_CONTACTS_LINGER_TIMEOUT", value_name = "SECONDS", default_value = "5", value_parser = seconds)]
    pub linger_timeout: Duration,

    /// Seconds any store call may take — a connection attempt, the wait for a pooled
    /// connection, a statement — before the request is answered 503 store_unavailable.
    #[arg(long, env = "BULK_CONTACTS_STORE_TIMEOUT", value_name = "SECONDS", default_value = "5", value_parser = seconds)]
    pub store_timeout: Duration,

    /// The most connections open at once; past it, a new connection takes the place of the
    /// one that has waited longest for a request head (idle keep-alive or unfinished head),
    /// which is closed. Lowered, if need be, to leave file descriptors for the store under
    /// the process's open-files limit (`ulimit -n`).
    #[arg(
        long,
        env = "BULK_CONTACTS_MAX_CONNECTIONS",
        value_name = "N",
        default_value_t = 768
    )]
    pub max_connections: usize,

    /// The most bulk requests processed at once; past it, 503 with Retry-After, before
    /// reading the body.
    #[arg(
        long,
        env = "BULK_CONTACTS_MAX_IN_FLIGHT",
        value_name = "N",
        default_value_t = 32
    )]
    pub max_in_flight: usize,

    /// The most bulk requests one account may have in flight at once (0: half of
    /// --max-in-flight, at least 1); past it, that account's request gets 503 with
    /// Retry-After, so that one account's slow uploads cannot take every slot.
    #[arg(
        long,
        env = "BULK_CONTACTS_MAX_IN_FLIGHT_PER_ACCOUNT",
        value_name = "N",
        default_value_t = 0
    )]
    pub max_in_flight_per_account: usize,

    /// The most request-body bytes held at once (each request reserves its Content-Length,
    /// or the body limit when chunked); past it, 503 with Retry-After, before reading.
    #[arg(long, env = "BULK_CONTACTS_MAX_BODY_BYTES_IN_FLIGHT", value_name = "BYTES", default_value_t = 64 << 20)]
    pub max_body_bytes_in_flight: usize,

    /// The engine's limit of contacts per request (SPEC §2; at least 1).
    #[arg(long, env = "BULK_CONTACTS_MAX_CONTACTS", value_name = "N", default_value_t = Limits::DEFAULT.max_contacts(), value_parser = at_least::<{ Limits::MIN_CONTACTS }>)]
    pub max_contacts: usize,

    /// The engine's limit of bytes per contact (SPEC §2; at least 2).
    #[arg(long, env = "BULK_CONTACTS_MAX_CONTACT_BYTES", value_name = "BYTES", default_value_t = Limits::DEFAULT.max_contact_bytes(), value_parser = at_least::<{ Limits::MIN_CONTACT_BYTES }>)]
    pub max_contact_bytes: usize,

    /// The engine's limit of bytes per request body (SPEC §2; at least 17).
    #[arg(long, env = "BULK_CONTACTS_MAX_BODY_BYTES", value_name = "BYTES", default_value_t = Limits::DEFAULT.max_body_bytes(), value_parser = at_least::<{ Limits::MIN_BODY_BYTES }>)]
    pub max_body_bytes: usize,
}

/// A limit of the engine's (`Limits`' minimums, so that a bad value is a usage error).
fn at_least<const MINIMUM: usize>(text: &str) -> Result<usize, String> {
    let value: usize = text.parse().map_err(|error| format!("{error}"))?;
    if value < MINIMUM {
        return Err(format!("must be at least {MINIMUM}"));
    }
    Ok(value)
}

impl Config {
    /// The engine's three limits; an error when one is below its minimum.
    pub fn limits(&self) -> Result<Limits, InvalidLimit> {
        Limits::new(
            self.max_contacts,
            self.max_contact_bytes,
            self.max_body_bytes,
        )
    }
}

/// File descriptors kept for what is not a client connection, on top of the store's pool:
/// standard streams, the listening socket, the runtime's epoll and wake-up descriptors, a
/// SQLite file with its `-wal` and `-shm`, logs, and a margin.
pub const RESERVED_DESCRIPTORS: usize = 64;

/// The process's soft limit of open files, read from `/proc/self/limits` (Linux); `None`
/// when unlimited or unknown.
pub fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_files_limit(&limits)
}

/// The soft "Max open files" of a `/proc/PID/limits` text.
fn parse_open_files_limit(limits: &str) -> Option<usize> {
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `requested` connections, lowered so that they and `reserved` other descriptors fit
/// under the open-files `limit` (at least 1).
pub fn connections_within(requested: usize, limit: Option<usize>, reserved: usize) -> usize {
    match limit {
        Some(limit) => requested.min(limit.saturating_sub(reserved)).max(1),
        None => requested,
    }
}

impl Default for Config {
    /// The defaults of `--help`.
    fn default() -> Config {
        let limits = Limits::DEFAULT;
        Config {
            header_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(10),
            linger_timeout: Duration::from_secs(5),
            store_timeout: crate::store::DEFAULT_STORE_TIMEOUT,
            max_connections: 768,
            max_in_flight: 32,
            max_in_flight_per_account: 0,
            max_body_bytes_in_flight: 64 << 20,
            max_contacts: limits.max_contacts(),
            max_contact_bytes: limits.max_contact_bytes(),
            max_body_bytes: limits.max_body_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        config: Config,
    }

    #[test]
    fn the_connection_cap_leaves_room_for_the_store_under_the_open_files_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max processes             63432                63432                processes \n\
                      Max open files            1024                 4096                 files     \n";
        assert_eq!(parse_open_files_limit(limits), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_open_files_limit(unlimited), None);
        // The default fits under 1,024 with a pool of 16; under 256 it is lowered.
        assert_eq!(connections_within(768, Some(1024), 64 + 16), 768);
        assert_eq!(connections_within(768, Some(256), 64 + 16), 176);
        assert_eq!(connections_within(768, Some(10), 64), 1);
        assert_eq!(connections_within(768, None, 64), 768);
    }

    #[test]
    fn an_engine_limit_under_its_minimum_is_a_usage_error() {
        for (flag, value, minimum) in [
            ("--max-contacts", "0", Limits::MIN_CONTACTS),
            ("--max-contact-bytes", "1", Limits::MIN_CONTACT_BYTES),
            ("--max-body-bytes", "16", Limits::MIN_BODY_BYTES),
        ] {
            let error = Command::try_parse_from(["server", flag, value])
                .err()
                .unwrap_or_else(|| panic!("{flag} {value} accepted"));
            let message = error.to_string();
            assert!(
                message.contains(&format!("must be at least {minimum}")) && message.contains(flag),
                "{message}"
            );
        }
        let smallest = Command::try_parse_from([
            "server",
            "--max-contacts",
            "1",
            "--max-contact-bytes",
            "2",
            "--max-body-bytes",
            "17",
        ])
        .expect("the minimums");
        assert_eq!(smallest.config.limits(), Limits::new(1, 2, 17));
    }
}
