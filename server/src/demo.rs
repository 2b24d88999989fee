//! `--seed-demo`: the demo account, SPEC §8's built-in world written as the server's own rows
//! (the library's in-memory `World` is test code, behind its `testing` feature, which the
//! production server does not build).

use bulk_contacts::{Billing, Carrier, Timestamp};

use crate::store::{Seed, Store, StoreError};

/// The demo account's API key (the built-in world's one key).
pub const KEY: &str = "trk_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6";

/// The demo account's name.
pub const NAME: &str = "demo";

/// The built-in world's sending list and its number of active welcome journeys.
pub const LIST: (&str, u32) = ("+18005551234", 1);

/// The built-in world's one carrier verdict on record.
pub const NOT_SENDABLE: &str = "+13105558888";

/// The built-in world's `now`, 2025-06-01T00:00:00Z: the date of the seeded rows (there are
/// none in the demo).
pub const NOW: Timestamp = Timestamp::constant(1_748_736_000, 0);

/// The demo account as rows: billing active, the key, the list, the verdict; no contacts,
/// memberships or validation results (every number without a row validates `ok`).
pub fn seed() -> Seed {
    Seed {
        name: NAME.to_owned(),
        billing: Billing::Active,
        api_keys: vec![KEY.to_owned()],
        lists: vec![(LIST.0.to_owned(), LIST.1)],
        verdicts: vec![(NOT_SENDABLE.to_owned(), Carrier::NotSendable)],
        now: NOW,
        ..Seed::default()
    }
}

/// Writes the demo account (idempotent: a second run changes nothing); returns its id.
pub async fn seed_demo<S: Store>(store: &S) -> Result<i64, StoreError> {
    store.seed(&seed()).await
}
