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

/// The bulk requests in flight per account: each account may hold at most its share of the
/// in-flight slots, so that one account's slow uploads cannot take them all.
#[derive(Debug)]
pub struct AccountShare {
    share: usize,
    holding: std::sync::Mutex<std::collections::HashMap<i64, usize>>,
}

/// A slot of an account's share; given back when dropped.
#[derive(Debug)]
pub struct AccountSlot<'a> {
    shares: &'a AccountShare,
    account: i64,
}

impl AccountShare {
    /// Each account may hold `share` requests (0: half of `max_in_flight`, at least 1).
    pub fn new(share: usize, max_in_flight: usize) -> AccountShare {
        let share = if share == 0 {
            (max_in_flight / 2).max(1)
        } else {
            share
        };
        AccountShare {
            share,
            holding: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// A slot for `account`, or `None` when it already holds its share.
    pub fn admit(&self, account: i64) -> Option<AccountSlot<'_>> {
        let mut holding = self.holding.lock().ok()?;
        let held = holding.entry(account).or_insert(0);
        if *held >= self.share {
            return None;
        }
        *held += 1;
        drop(holding);
        Some(AccountSlot {
            shares: self,
            account,
        })
    }
}

impl Drop for AccountSlot<'_> {
    fn drop(&mut self) {
        if let Ok(mut holding) = self.shares.holding.lock()
            && let Some(held) = holding.get_mut(&self.account)
        {
            *held -= 1;
            if *held == 0 {
                holding.remove(&self.account);
            }
        }
    }
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
