//! The hash maps of one batch: `foldhash` with a fixed seed instead of SipHash.
//!
//! Their keys are the phone and list numbers of one request (a few thousand at most), looked
//! up several times per contact; SipHash's resistance to chosen collisions is not worth its
//! cost there: a request holds at most `max_contacts` contacts, so even keys chosen to collide
//! cost at most `max_contacts`² comparisons, while a fixed seed keeps the library free of
//! randomness and global state.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hash};

/// The hasher of the batch's maps.
pub(crate) type Hasher = foldhash::fast::FixedState;

/// A map of one batch.
pub(crate) type Map<K, V> = HashMap<K, V, Hasher>;

/// A set of one batch.
pub(crate) type Set<K> = HashSet<K, Hasher>;

/// An empty map with room for `capacity` keys.
pub(crate) fn map<K, V>(capacity: usize) -> Map<K, V> {
    HashMap::with_capacity_and_hasher(capacity, Hasher::default())
}

/// An empty set with room for `capacity` keys.
pub(crate) fn set<K>(capacity: usize) -> Set<K> {
    HashSet::with_capacity_and_hasher(capacity, Hasher::default())
}

/// Answers already found for keys of one batch, the last one first: the values that repeat
/// from contact to contact (the list number, the signup page's URL) usually repeat in a row,
/// and one comparison is cheaper than hashing.
#[derive(Debug)]
pub(crate) struct Recall<'k, T> {
    last: Option<(&'k str, T)>,
    known: Map<&'k str, T>,
}

impl<T> Default for Recall<'_, T> {
    fn default() -> Self {
        Recall {
            last: None,
            known: map(0),
        }
    }
}

impl<'k, T: Copy> Recall<'k, T> {
    /// The answer for `key`: recalled, or found by `find` (once per distinct key).
    pub(crate) fn get_or<E>(
        &mut self,
        key: &'k str,
        find: impl FnOnce(&'k str) -> Result<T, E>,
    ) -> Result<T, E> {
        if let Some((last, answer)) = self.last
            && last == key
        {
            return Ok(answer);
        }
        let answer = match self.known.entry(key) {
            std::collections::hash_map::Entry::Occupied(known) => *known.get(),
            std::collections::hash_map::Entry::Vacant(slot) => *slot.insert(find(key)?),
        };
        self.last = Some((key, answer));
        Ok(answer)
    }
}

/// The first of a batch's contacts, by index, to have each key: a `hashbrown::HashTable` of
/// indices (one `usize` an entry), the keys read back through the caller's `key_of(index)`
/// rather than stored. What the duplicates of SPEC §5 need ("no earlier accepted contact of
/// this batch has it") at a fraction of a map of keys' size.
#[derive(Debug)]
pub(crate) struct FirstSeen {
    indices: hashbrown::HashTable<usize>,
}

impl FirstSeen {
    /// A table with room for `keys` distinct keys before it grows.
    pub(crate) fn with_capacity(keys: usize) -> Self {
        FirstSeen {
            indices: hashbrown::HashTable::with_capacity(keys),
        }
    }

    /// The first index given with a key equal to `key`; `index` itself (now recorded) when
    /// there is none. `key_of(i)` is the key of every index recorded before.
    pub(crate) fn first_or_insert<K: Hash + Eq>(
        &mut self,
        index: usize,
        key: K,
        key_of: impl Fn(usize) -> K,
    ) -> usize {
        let hasher = Hasher::default();
        let hash = hasher.hash_one(&key);
        match self.indices.entry(
            hash,
            |&first| key_of(first) == key,
            |&first| hasher.hash_one(key_of(first)),
        ) {
            hashbrown::hash_table::Entry::Occupied(first) => *first.get(),
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(index);
                index
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_distinct_key_is_found_once_whatever_the_order() {
        let mut recall = Recall::default();
        let mut asked = Vec::new();
        for key in ["a", "a", "b", "a", "b", "b", "c", "a"] {
            let answer = recall.get_or(key, |k| {
                asked.push(k);
                Ok::<_, ()>(k.len() + asked.len())
            });
            assert!(answer.is_ok());
        }
        assert_eq!(asked, ["a", "b", "c"]);
        assert_eq!(recall.get_or("b", |_| Err(())), Ok(3));
        assert_eq!(recall.get_or("d", |_| Err(())), Err(()));
    }

    #[test]
    fn first_seen_gives_the_first_index_of_each_key_through_growth() {
        // No room to start with, so that the table grows several times; keys that repeat at
        // every distance.
        let keys: Vec<String> = (0..500)
            .map(|i| format!("+1415555{:04}", (i * 37) % 211))
            .collect();
        let mut seen = FirstSeen::with_capacity(0);
        for (index, key) in keys.iter().enumerate() {
            let first = seen.first_or_insert(index, key.as_str(), |i| keys[i].as_str());
            let expected = keys.iter().position(|k| k == key).expect("present");
            assert_eq!(first, expected, "{key} at {index}");
        }
        assert_eq!(seen.indices.len(), 211, "one entry per distinct key");
        // Only what was recorded is found: an index never recorded is not a first.
        let mut sparse = FirstSeen::with_capacity(4);
        assert_eq!(
            sparse.first_or_insert(7, "a", |i| if i == 7 { "a" } else { "b" }),
            7
        );
        assert_eq!(
            sparse.first_or_insert(9, "a", |i| if i == 7 { "a" } else { "b" }),
            7
        );
        assert_eq!(
            sparse.first_or_insert(9, "b", |i| if i == 7 { "a" } else { "b" }),
            9
        );
    }
}
