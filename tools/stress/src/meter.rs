//! What DynamoDB would bill, per partition of the table and of each index,
//! for the requests that pass through, by AWS's published rules:
//!
//! - a write consumes one WCU per started KB of the item (the larger of its
//!   size before and after); a transactional write twice that; a
//!   `ConditionCheck` like a write of the item; a failed condition and a
//!   cancelled transaction still consume what the item would;
//! - an index is written when its key attributes appear (a put of the
//!   entry), disappear (a delete), change (a delete and a put), or when a
//!   projected attribute of an indexed item changes (a put); an index entry
//!   is what it projects (all of the item, or its keys and the `INCLUDE`d
//!   attributes) plus 100 bytes;
//! - a read consumes one RCU per started 4 KB (per item for `GetItem` and
//!   `BatchGetItem`, over the whole page for `Query`), half that when
//!   eventually consistent.
//!
//! Sizes follow AWS's item-size rules (attribute names count; numbers are
//! about one byte per two digits; lists and maps add three bytes).

use std::collections::BTreeMap;

use serde_json::Value;
use shared::adapters::store::{GSIS, PARTITION_KEY, SORT_KEY};

/// Capacity consumed on one partition.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Use {
    pub wcu: f64,
    pub rcu: f64,
}

/// Partition (`table PRODUCT#…`, `GSI1 CATALOG`) → capacity used.
pub type Usage = BTreeMap<String, Use>;

/// An item as DynamoDB JSON (`{"PK": {"S": "…"}, …}`).
pub type Item = serde_json::Map<String, Value>;

fn value_size(value: &Value) -> usize {
    let Some((kind, inner)) = value.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    match (kind.as_str(), inner) {
        ("S", Value::String(s)) => s.len(),
        ("N", Value::String(n)) => {
            let digits = n.chars().filter(char::is_ascii_digit).count();
            digits.div_ceil(2) + 1
        }
        ("B", Value::String(b)) => b.len() * 3 / 4,
        ("BOOL" | "NULL", _) => 1,
        ("SS" | "NS" | "BS", Value::Array(items)) => items
            .iter()
            .map(|i| value_size(&serde_json::json!({ &kind[..1]: i })))
            .sum(),
        ("L", Value::Array(items)) => 3 + items.iter().map(|i| value_size(i) + 1).sum::<usize>(),
        ("M", Value::Object(map)) => {
            3 + map
                .iter()
                .map(|(k, v)| k.len() + value_size(v) + 1)
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// An item's size in bytes, as DynamoDB counts it.
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn string(item: &Item, attribute: &str) -> Option<String> {
    item.get(attribute)?.get("S")?.as_str().map(str::to_owned)
}

fn units(bytes: usize, unit: usize) -> f64 {
    bytes.div_ceil(unit).max(1) as f64
}

/// The table partition of an item or key.
pub fn table_partition(key: &Item) -> String {
    format!("table {}", string(key, PARTITION_KEY).unwrap_or_default())
}

/// What an index holds of an item: all of it, or (`INCLUDE`) its keys,
/// the index's keys and the attributes it projects.
fn projection(gsi: &shared::adapters::store::Gsi, item: &Item) -> Item {
    if gsi.projected.is_empty() {
        return item.clone();
    }
    item.iter()
        .filter(|(name, _)| {
            [PARTITION_KEY, SORT_KEY, gsi.partition_key, gsi.sort_key].contains(&name.as_str())
                || gsi.projected.contains(&name.as_str())
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// The entry an item has in each index: (partition, sort key, what it
/// holds).
fn index_entries(item: Option<&Item>) -> Vec<Option<(String, String, Item)>> {
    GSIS.iter()
        .map(|gsi| {
            let item = item?;
            let pk = string(item, gsi.partition_key)?;
            let sk = string(item, gsi.sort_key)?;
            Some((format!("{} {pk}", gsi.name), sk, projection(gsi, item)))
        })
        .collect()
}

/// Charges one write of an item that was `before` and is `after`.
pub fn charge_write(usage: &mut Usage, key: &Item, before: Option<&Item>, after: Option<&Item>, factor: f64) {
    let size = before.map_or(0, item_size).max(after.map_or(0, item_size));
    usage.entry(table_partition(key)).or_default().wcu += factor * units(size, 1024);
    if before == after {
        return; // failed, or a no-op: no index is written
    }
    for (old, new) in index_entries(before).into_iter().zip(index_entries(after)) {
        let mut put = |(partition, _, entry): &(String, String, Item)| {
            usage.entry(partition.clone()).or_default().wcu += units(item_size(entry) + 100, 1024);
        };
        match (&old, &new) {
            (None, None) => {}
            (None, Some(n)) => put(n),
            (Some(o), None) => put(o),
            (Some(o), Some(n)) if o.0 != n.0 || o.1 != n.1 => {
                put(o);
                put(n);
            }
            // Same keys: written when what it projects changed.
            (Some(o), Some(n)) if o.2 != n.2 => put(n),
            (Some(_), Some(_)) => {}
        }
    }
}

/// Charges one `ConditionCheck` on the item as it is.
pub fn charge_check(usage: &mut Usage, key: &Item, item: Option<&Item>, factor: f64) {
    usage.entry(table_partition(key)).or_default().wcu += factor * units(item.map_or(0, item_size), 1024);
}

/// Charges reading `size` bytes from `partition`.
pub fn charge_read(usage: &mut Usage, partition: String, size: usize, consistent: bool) {
    let factor = if consistent { 1.0 } else { 0.5 };
    usage.entry(partition).or_default().rcu += factor * units(size, 4096);
}

/// The partition a `Query` read: its key condition's partition value.
pub fn query_partition(request: &Value, items: &[Item]) -> String {
    let index = request["IndexName"].as_str();
    let pk_attribute = index
        .and_then(|name| GSIS.iter().find(|g| g.name == name))
        .map_or(PARTITION_KEY, |g| g.partition_key);
    let prefix = index.unwrap_or("table");
    if let Some(value) = items.first().and_then(|item| string(item, pk_attribute)) {
        return format!("{prefix} {value}");
    }
    // No item: the first `name = :value` of the key condition.
    let condition = request["KeyConditionExpression"].as_str().unwrap_or_default();
    let value = condition
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(3)
        .find(|w| w[1] == "=")
        .and_then(|w| request["ExpressionAttributeValues"][w[2]]["S"].as_str())
        .unwrap_or("?");
    format!("{prefix} {value}")
}

/// The key of an item (its table key attributes).
pub fn key_of(item: &Item) -> Item {
    [PARTITION_KEY, SORT_KEY]
        .into_iter()
        .filter_map(|k| Some((k.to_owned(), item.get(k)?.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn item(value: Value) -> Item {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn sizes_follow_the_published_rules() {
        let small = item(json!({"PK": {"S": "abc"}, "n": {"N": "12345"}, "ok": {"BOOL": true}}));
        assert_eq!(item_size(&small), 2 + 3 + 1 + 4 + 2 + 1);
        let nested = item(json!({"l": {"L": [{"S": "ab"}, {"N": "1"}]}, "m": {"M": {"k": {"S": "v"}}}}));
        assert_eq!(
            item_size(&nested),
            1 + 3 + (2 + 1) + (2 + 1) + 1 + 3 + (1 + 1 + 1)
        );
    }

    #[test]
    fn writes_charge_the_table_and_every_index_entry_that_changes() {
        let mut usage = Usage::new();
        let key = item(json!({"PK": {"S": "ORDER#1"}, "SK": {"S": "ORDER"}}));
        let pending = item(
            json!({"PK": {"S": "ORDER#1"}, "SK": {"S": "ORDER"}, "GSI2PK": {"S": "PENDING#03"}, "GSI2SK": {"S": "t"}, "status": {"S": "PENDING_PAYMENT"}}),
        );
        let paid = item(json!({"PK": {"S": "ORDER#1"}, "SK": {"S": "ORDER"}, "status": {"S": "PAID"}}));
        charge_write(&mut usage, &key, None, Some(&pending), 2.0);
        charge_write(&mut usage, &key, Some(&pending), Some(&paid), 2.0);
        assert_eq!(
            usage["table ORDER#1"].wcu, 4.0,
            "two transactional writes of under 1 KB"
        );
        assert_eq!(usage["GSI2 PENDING#03"].wcu, 2.0, "the entry put, then deleted");
        charge_write(&mut usage, &key, Some(&paid), Some(&paid), 1.0);
        assert_eq!(
            usage["table ORDER#1"].wcu, 5.0,
            "a failed condition still costs the item"
        );
        assert_eq!(usage.len(), 2, "no index written by a failed write");
    }

    #[test]
    fn an_include_index_is_written_only_when_what_it_projects_changes() {
        let mut usage = Usage::new();
        let key = item(json!({"PK": {"S": "ORDER#1"}, "SK": {"S": "ORDER"}}));
        let placed = item(
            json!({"PK": {"S": "ORDER#1"}, "SK": {"S": "ORDER"}, "GSI3PK": {"S": "ORDERS#2026-12-05#01"},
            "GSI3SK": {"S": "t#1"}, "status": {"S": "PENDING_PAYMENT"}, "lines": {"S": "x".repeat(3000)}}),
        );
        let mut noted = placed.clone();
        noted.insert("note".into(), json!({"S": "a dispute"}));
        let mut paid = noted.clone();
        paid.insert("status".into(), json!({"S": "PAID"}));
        charge_write(&mut usage, &key, None, Some(&placed), 1.0);
        assert_eq!(
            usage["GSI3 ORDERS#2026-12-05#01"].wcu, 1.0,
            "keys and status: under 1 KB"
        );
        charge_write(&mut usage, &key, Some(&placed), Some(&noted), 1.0);
        assert_eq!(
            usage["GSI3 ORDERS#2026-12-05#01"].wcu, 1.0,
            "an attribute it does not hold"
        );
        charge_write(&mut usage, &key, Some(&noted), Some(&paid), 1.0);
        assert_eq!(usage["GSI3 ORDERS#2026-12-05#01"].wcu, 2.0, "its status changed");
    }

    #[test]
    fn reads_round_up_per_four_kb_and_halve_when_eventually_consistent() {
        let mut usage = Usage::new();
        charge_read(&mut usage, "table P".into(), 5000, true);
        charge_read(&mut usage, "table P".into(), 10, false);
        assert_eq!(usage["table P"].rcu, 2.5);
    }
}
