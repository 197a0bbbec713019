//! Convergence: hosts that should hold the same data (a primary and its
//! replicas once quiet, every node after a heal) do, key by key and byte
//! for byte.

use super::{capped, CheckResult};
use std::collections::{BTreeMap, BTreeSet};

const NAME: &str = "convergence";

/// Compares the final states of several hosts, given as (host name, key →
/// value bytes). Invalid if some key is missing on some host or differs
/// between hosts; each such key is listed with every host's value.
pub fn check_convergence(hosts: &[(&str, &BTreeMap<String, Vec<u8>>)]) -> CheckResult {
    let keys: BTreeSet<&String> = hosts.iter().flat_map(|(_, state)| state.keys()).collect();
    let mut differing = Vec::new();
    for key in &keys {
        let values: Vec<Option<&Vec<u8>>> =
            hosts.iter().map(|(_, state)| state.get(*key)).collect();
        if values.windows(2).any(|pair| pair[0] != pair[1]) {
            differing.push(describe(key, hosts, &values));
        }
    }
    let checked = format!("{} host(s), {} key(s)", hosts.len(), keys.len());
    if differing.is_empty() {
        return CheckResult::valid(NAME, format!("{checked}, all equal"));
    }
    let summary = format!("{} key(s) differ; checked {checked}", differing.len());
    CheckResult::invalid(NAME, summary, capped(differing))
}

/// `key "k": a = "1", b = (missing)`
fn describe(
    key: &str,
    hosts: &[(&str, &BTreeMap<String, Vec<u8>>)],
    values: &[Option<&Vec<u8>>],
) -> String {
    let per_host: Vec<String> = hosts
        .iter()
        .zip(values)
        .map(|((host, _), value)| match value {
            Some(bytes) => format!("{host} = \"{}\"", shorten(bytes)),
            None => format!("{host} = (missing)"),
        })
        .collect();
    format!("key {key:?}: {}", per_host.join(", "))
}

/// The value, escaped, cut to 64 bytes.
fn shorten(bytes: &[u8]) -> String {
    const SHOWN: usize = 64;
    let shown = bytes.get(..SHOWN).unwrap_or(bytes);
    let mut text = shown.escape_ascii().to_string();
    if bytes.len() > SHOWN {
        text.push_str(&format!("... ({} bytes)", bytes.len()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(entries: &[(&str, &[u8])]) -> BTreeMap<String, Vec<u8>> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect()
    }

    #[test]
    fn equal_hosts_converge() {
        let a = state(&[("x", b"1"), ("y", b"2")]);
        let b = a.clone();
        let result = check_convergence(&[("a", &a), ("b", &b)]);
        assert!(result.is_valid(), "{result}");
        assert_eq!(result.summary, "2 host(s), 2 key(s), all equal");
        assert!(check_convergence(&[]).is_valid());
    }

    #[test]
    fn differing_and_missing_keys_are_listed() {
        let a = state(&[("same", b"1"), ("x", b"1"), ("y", b"\x00\xff")]);
        let b = state(&[("same", b"1"), ("x", b"2")]);
        let c = state(&[("same", b"1"), ("x", b"1"), ("y", b"\x00\xff")]);
        let result = check_convergence(&[("a", &a), ("b", &b), ("c", &c)]);
        assert!(result.is_invalid());
        assert_eq!(
            result.summary,
            "2 key(s) differ; checked 3 host(s), 3 key(s)"
        );
        assert_eq!(result.details[0], r#"key "x": a = "1", b = "2", c = "1""#);
        assert_eq!(
            result.details[1],
            r#"key "y": a = "\x00\xff", b = (missing), c = "\x00\xff""#
        );
    }

    #[test]
    fn long_values_are_shortened() {
        let long = vec![b'a'; 100];
        let a = state(&[("k", &long)]);
        let b = state(&[]);
        let result = check_convergence(&[("a", &a), ("b", &b)]);
        assert!(
            result.details[0].ends_with("... (100 bytes)\", b = (missing)"),
            "{result}"
        );
    }
}
