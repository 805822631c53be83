//! Reading typed values out of yrs maps. These are the only helpers that look at raw `Out`
//! values; a field of the wrong type (written by a buggy or hostile peer) reads as absent and is
//! reported by validation instead of panicking.

use yrs::{Any, Array, ArrayRef, GetString, Map, MapRef, Out, ReadTxn, TextRef};

pub(crate) fn get_string<T: ReadTxn>(map: &MapRef, txn: &T, key: &str) -> Option<String> {
    match map.get(txn, key)? {
        Out::Any(Any::String(s)) => Some(s.to_string()),
        _ => None,
    }
}

/// What a prose field (see [`crate::schema::PROSE_FIELDS`]) holds: a collaborative text
/// (schema 2), a plain string (schema 1, or a foreign peer's write), nothing, or something else
/// entirely (a buggy or hostile peer's doing, reported by validation).
pub(crate) enum Prose {
    Text(TextRef),
    Plain(String),
    Absent,
    Malformed,
}

pub(crate) fn read_prose<T: ReadTxn>(map: &MapRef, txn: &T, key: &str) -> Prose {
    match map.get(txn, key) {
        None => Prose::Absent,
        Some(Out::YText(text)) => Prose::Text(text),
        Some(Out::Any(Any::String(s))) => Prose::Plain(s.to_string()),
        Some(_) => Prose::Malformed,
    }
}

/// A prose field's text, whichever representation it is stored in.
pub(crate) fn get_prose<T: ReadTxn>(map: &MapRef, txn: &T, key: &str) -> Option<String> {
    match read_prose(map, txn, key) {
        Prose::Text(text) => Some(text.get_string(txn)),
        Prose::Plain(s) => Some(s),
        Prose::Absent | Prose::Malformed => None,
    }
}

pub(crate) fn get_f64<T: ReadTxn>(map: &MapRef, txn: &T, key: &str) -> Option<f64> {
    match map.get(txn, key)? {
        Out::Any(Any::Number(n)) => n.as_f64(),
        _ => None,
    }
}

pub(crate) fn get_u32<T: ReadTxn>(map: &MapRef, txn: &T, key: &str) -> Option<u32> {
    let n = get_f64(map, txn, key)?;
    (n.is_finite() && n >= 0.0 && n <= u32::MAX as f64).then_some(n as u32)
}

pub(crate) fn get_bytes<T: ReadTxn>(map: &MapRef, txn: &T, key: &str) -> Option<Vec<u8>> {
    match map.get(txn, key)? {
        Out::Any(Any::Buffer(b)) => Some(b.to_vec()),
        _ => None,
    }
}

pub(crate) fn get_map<T: ReadTxn>(map: &MapRef, txn: &T, key: &str) -> Option<MapRef> {
    match map.get(txn, key)? {
        Out::YMap(m) => Some(m),
        _ => None,
    }
}

pub(crate) fn get_array<T: ReadTxn>(map: &MapRef, txn: &T, key: &str) -> Option<ArrayRef> {
    match map.get(txn, key)? {
        Out::YArray(a) => Some(a),
        _ => None,
    }
}

/// A plain (non-collaborative) list of strings stored as one value.
pub(crate) fn get_string_list<T: ReadTxn>(map: &MapRef, txn: &T, key: &str) -> Vec<String> {
    match map.get(txn, key) {
        Some(Out::Any(Any::Array(items))) => items
            .iter()
            .filter_map(|a| match a {
                Any::String(s) => Some(s.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn string_list(items: &[String]) -> Any {
    Any::Array(items.iter().map(|s| Any::from(s.as_str())).collect())
}

/// The strings of a `Y.Array` of strings, in order.
pub(crate) fn array_strings<T: ReadTxn>(array: &ArrayRef, txn: &T) -> Vec<String> {
    array
        .iter(txn)
        .filter_map(|v| match v {
            Out::Any(Any::String(s)) => Some(s.to_string()),
            _ => None,
        })
        .collect()
}

/// The keys of a `Y.Map` used as a set, sorted so that reads are deterministic.
pub(crate) fn set_keys<T: ReadTxn>(map: &MapRef, txn: &T) -> Vec<String> {
    let mut keys: Vec<String> = map.keys(txn).map(str::to_owned).collect();
    keys.sort();
    keys
}
