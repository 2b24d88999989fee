//! A SPEC §8 world (the library's in-memory `World`, feature `testing`, which the tests have
//! through the dev-dependency) as the rows of a store's account. The production server seeds
//! only its demo account (`bulk_contacts_server::demo`), so this is test code.

use bulk_contacts::ProviderError;
use bulk_contacts::testing::{Entry, Validation, World};
use bulk_contacts_server::Store;
use bulk_contacts_server::store::{Seed, StoreError};

/// `world` as the rows of account `name`. Entries that make a lookup fail (`"error"`,
/// `failures`) have no row form and are skipped: the tests make the database fail instead.
pub fn seed(name: &str, world: &World) -> Seed {
    let mut seed = Seed {
        name: name.to_owned(),
        billing: world.billing,
        api_keys: world.api_keys.clone(),
        now: world.now,
        ..Seed::default()
    };
    for (number, entry) in &world.lists {
        if let Entry::Answer(list) = entry {
            seed.lists.push((number.clone(), list.welcome_journeys));
        }
    }
    seed.contacts.extend(world.contacts.iter().cloned());
    for (phone, lists) in &world.list_contacts {
        seed.contacts.push(phone.clone());
        for list in lists {
            seed.memberships.push((phone.clone(), list.clone()));
        }
    }
    for (phone, entry) in &world.carrier {
        if let Entry::Answer(verdict) = entry {
            seed.verdicts.push((phone.clone(), *verdict));
        }
    }
    for (phone, validation) in &world.validation {
        let result = match validation {
            Validation::ProviderError(_) => Err(ProviderError),
            Validation::Result(result) => Ok(result.clone()),
        };
        seed.validations.push((phone.clone(), result));
    }
    // Deterministic order (the world's maps are hash maps), distinct contacts.
    seed.contacts.sort();
    seed.contacts.dedup();
    seed.memberships.sort();
    seed.verdicts.sort_by(|a, b| a.0.cmp(&b.0));
    seed.validations.sort_by(|a, b| a.0.cmp(&b.0));
    seed.lists.sort();
    seed
}

/// Seeds `world` as account `name`; returns the account's id.
pub async fn seed_world<S: Store>(store: &S, name: &str, world: &World) -> Result<i64, StoreError> {
    store.seed(&seed(name, world)).await
}
