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

/// The first of a batch's contacts, by index, to have each key: an open-addressing table of
/// indices (one `usize` a slot, at most half full), the keys read back through the caller's
/// `key_of(index)` rather than stored. What the duplicates of SPEC §5 need ("no earlier
/// accepted contact of this batch has it") at a fraction of a map of keys' size.
#[derive(Debug)]
pub(crate) struct FirstSeen {
    /// `index + 1` of the contact in each slot; 0 for an empty slot.
    slots: Vec<usize>,
    len: usize,
}

impl FirstSeen {
    /// A table with room for `keys` distinct keys before it grows.
    pub(crate) fn with_capacity(keys: usize) -> Self {
        FirstSeen {
            slots: vec![0; Self::slots_for(keys)],
            len: 0,
        }
    }

    fn slots_for(keys: usize) -> usize {
        keys.saturating_mul(2).next_power_of_two().max(8)
    }

    /// The first index given with a key equal to `key`; `index` itself (now recorded) when
    /// there is none. `key_of(i)` is the key of every index recorded before.
    pub(crate) fn first_or_insert<K: Hash + Eq>(
        &mut self,
        index: usize,
        key: K,
        key_of: impl Fn(usize) -> K,
    ) -> usize {
        if 2 * (self.len + 1) > self.slots.len() {
            self.grow(&key_of);
        }
        let mask = self.slots.len() - 1;
        let mut at = Hasher::default().hash_one(&key) as usize & mask;
        loop {
            match self.slots.get(at).copied() {
                Some(0) => break,
                Some(slot) if key_of(slot - 1) == key => return slot - 1,
                Some(_) => at = (at + 1) & mask,
                // Not reached: `at` is masked to the table's length.
                None => {
                    debug_assert!(false, "slot {at} of {}", self.slots.len());
                    return index;
                }
            }
        }
        if let Some(slot) = self.slots.get_mut(at) {
            *slot = index + 1;
            self.len += 1;
        }
        index
    }

    fn grow<K: Hash>(&mut self, key_of: &impl Fn(usize) -> K) {
        let grown = vec![0; 2 * self.slots.len()];
        let old = std::mem::replace(&mut self.slots, grown);
        let mask = self.slots.len() - 1;
        for slot in old.into_iter().filter(|&slot| slot != 0) {
            let mut at = Hasher::default().hash_one(key_of(slot - 1)) as usize & mask;
            while self.slots.get(at).is_some_and(|&taken| taken != 0) {
                at = (at + 1) & mask;
            }
            if let Some(free) = self.slots.get_mut(at) {
                *free = slot;
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
        // Few slots to start with, so that the table grows several times; keys that repeat
        // at every distance, and keys whose hashes share their low bits.
        let keys: Vec<String> = (0..500)
            .map(|i| format!("+1415555{:04}", (i * 37) % 211))
            .collect();
        let mut seen = FirstSeen::with_capacity(0);
        for (index, key) in keys.iter().enumerate() {
            let first = seen.first_or_insert(index, key.as_str(), |i| keys[i].as_str());
            let expected = keys.iter().position(|k| k == key).expect("present");
            assert_eq!(first, expected, "{key} at {index}");
        }
        assert_eq!(seen.len, 211);
        assert!(2 * seen.len <= seen.slots.len());
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
