//! Fractional-index ordering for scenes and shots.
//!
//! Each item stores a `position` string; the display order is the sort by `(position, id)`.
//! Moving an item writes only its own position, so two people moving the same shot at once
//! produce one shot in one place (last writer wins), never a duplicate. Two people inserting at
//! the same spot can produce equal positions; the id breaks the tie, and the next insert into
//! such a tie re-keys the tied items so that every gap stays addressable.

use fractional_index::FractionalIndex;

/// Where an item lands: its own new key, plus new keys for existing items (by their index in
/// the list passed to [`place`]) when a tie had to be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub key: String,
    pub rekeyed: Vec<(usize, String)>,
}

fn parse(key: &str) -> Option<FractionalIndex> {
    FractionalIndex::from_string(key).ok()
}

/// A key strictly between `lower` and `upper` (either may be open). Unparseable keys, which only
/// a buggy or hostile peer can write, are treated as open bounds.
fn between(lower: Option<&FractionalIndex>, upper: Option<&FractionalIndex>) -> FractionalIndex {
    FractionalIndex::new(lower, upper)
        .or_else(|| lower.map(FractionalIndex::new_after))
        .unwrap_or_default()
}

/// Computes the key for an item inserted at `index` into `ordered`, the keys of the other items
/// in display order.
pub fn place(ordered: &[&str], index: usize) -> Placement {
    let index = index.min(ordered.len());
    let lower = index.checked_sub(1).and_then(|i| parse(ordered[i]));
    let upper_key = ordered.get(index).copied();

    let tied = index > 0 && upper_key.is_some() && upper_key == Some(ordered[index - 1]);
    if !tied {
        let upper = upper_key.and_then(parse);
        return Placement {
            key: between(lower.as_ref(), upper.as_ref()).to_string(),
            rekeyed: Vec::new(),
        };
    }

    // The gap we want is inside a run of equal keys: give the new item and the rest of the run
    // fresh keys between the run's key and the next larger key.
    let run_end = ordered[index..]
        .iter()
        .position(|k| Some(*k) != upper_key)
        .map_or(ordered.len(), |n| index + n);
    let upper = ordered.get(run_end).and_then(|k| parse(k));
    let mut cursor = between(lower.as_ref(), upper.as_ref());
    let key = cursor.to_string();
    let mut rekeyed = Vec::with_capacity(run_end - index);
    for i in index..run_end {
        cursor = between(Some(&cursor), upper.as_ref());
        rekeyed.push((i, cursor.to_string()));
    }
    Placement { key, rekeyed }
}

/// True when `key` is a well-formed position.
pub fn is_valid(key: &str) -> bool {
    parse(key).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(mut keys: Vec<String>, index: usize) -> Vec<String> {
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let p = place(&refs, index);
        for (i, k) in p.rekeyed {
            keys[i] = k;
        }
        keys.insert(index, p.key);
        keys
    }

    fn assert_strictly_sorted(keys: &[String]) {
        for w in keys.windows(2) {
            assert!(w[0] < w[1], "{keys:?} not strictly increasing");
        }
    }

    #[test]
    fn inserts_anywhere_keep_order() {
        let mut keys = Vec::new();
        for step in 0..200usize {
            let index = (step * 7919) % (keys.len() + 1);
            keys = apply(keys, index);
            assert_strictly_sorted(&keys);
        }
    }

    #[test]
    fn inserting_into_a_tie_splits_it() {
        let k = place(&[], 0).key;
        let keys = vec![k.clone(), k.clone(), k.clone()];
        let keys = apply(keys, 1);
        assert_eq!(keys[0], k);
        assert_strictly_sorted(&keys);
        assert_eq!(keys.len(), 4);
    }

    #[test]
    fn garbage_keys_do_not_panic() {
        let keys = ["zz", "", "not hex"];
        for i in 0..=keys.len() {
            assert!(is_valid(&place(&keys, i).key));
        }
    }
}
