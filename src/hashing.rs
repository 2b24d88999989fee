//! The hash maps of one batch: `foldhash` with a fixed seed instead of SipHash.
//!
//! Their keys are the phone and list numbers of one request (a few thousand at most), looked
//! up several times per contact; SipHash's resistance to chosen collisions is not worth its
//! cost there: a request holds at most `max_contacts` contacts, so even keys chosen to collide
//! cost at most `max_contacts`² comparisons, while a fixed seed keeps the library free of
//! randomness and global state.

use std::collections::{HashMap, HashSet};

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
}
