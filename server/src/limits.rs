//! Load shedding: a bound on the bulk requests in flight and on the body bytes they hold.
//! A request that finds either full is answered 503 at once, before its body is read.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Body bytes are reserved in units of this many bytes (a semaphore counts in `u32`).
const UNIT: usize = 1024;

/// The two budgets.
#[derive(Debug)]
pub struct Shedder {
    requests: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    body_limit: usize,
    byte_units: usize,
}

/// What an admitted request holds until it is answered.
#[derive(Debug)]
pub struct Admission {
    _request: OwnedSemaphorePermit,
    _bytes: OwnedSemaphorePermit,
}

impl Shedder {
    /// At most `requests` bulk requests at once, holding at most `bytes` of body between
    /// them; a body is at most `body_limit` bytes.
    pub fn new(requests: usize, bytes: usize, body_limit: usize) -> Shedder {
        let byte_units = bytes.div_ceil(UNIT).min(Semaphore::MAX_PERMITS);
        Shedder {
            requests: Arc::new(Semaphore::new(requests.min(Semaphore::MAX_PERMITS))),
            bytes: Arc::new(Semaphore::new(byte_units)),
            body_limit,
            byte_units,
        }
    }

    /// Admits a request declaring `declared` body bytes (none: chunked, the body limit is
    /// reserved), or `None` when a budget is spent. A declared length over the limit reserves
    /// nothing: it is answered 413 without reading.
    pub fn admit(&self, declared: Option<u64>) -> Option<Admission> {
        let request = Arc::clone(&self.requests).try_acquire_owned().ok()?;
        let bytes = match declared {
            Some(length) if length > self.body_limit as u64 => 0,
            Some(length) => usize::try_from(length).unwrap_or(usize::MAX),
            None => self.body_limit,
        };
        // A single body larger than the whole budget still gets in alone.
        let units = bytes.div_ceil(UNIT).min(self.byte_units);
        let units = u32::try_from(units).unwrap_or(u32::MAX);
        let bytes = Arc::clone(&self.bytes).try_acquire_many_owned(units).ok()?;
        Some(Admission {
            _request: request,
            _bytes: bytes,
        })
    }
}
