//! Business metrics as CloudWatch's embedded metric format (EMF): each is
//! one JSON line on stdout, which Lambda sends to the function's log group
//! and CloudWatch turns into a metric in the `Shop` namespace. No API call,
//! nothing to wait for, nothing to fail.

use serde_json::{Map, Value, json};

use crate::foundation::clock::Timestamp;

/// The namespace of every business metric.
pub const NAMESPACE: &str = "Shop";

/// Counts `value` of `name` (`OrdersPlaced`, ...).
pub fn count(name: &'static str, value: u64) {
    if value > 0 {
        println!("{}", line(name, value, None, Timestamp::now()));
    }
}

/// Counts `value` of `name` under one dimension (`Outcome` = `paid`, ...).
pub fn count_by(name: &'static str, dimension: (&'static str, &str), value: u64) {
    if value > 0 {
        println!("{}", line(name, value, Some(dimension), Timestamp::now()));
    }
}

/// The EMF line of one count.
pub fn line(name: &str, value: u64, dimension: Option<(&str, &str)>, at: Timestamp) -> Value {
    let dimensions: Vec<&str> = dimension.iter().map(|(key, _)| *key).collect();
    let mut record = Map::new();
    record.insert(
        "_aws".into(),
        json!({
            "Timestamp": at.unix() * 1000,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimensions],
                "Metrics": [{"Name": name, "Unit": "Count"}],
            }],
        }),
    );
    record.insert(name.into(), json!(value));
    if let Some((key, label)) = dimension {
        record.insert(key.into(), json!(label));
    }
    Value::Object(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_an_emf_line_cloudwatch_reads_as_a_metric() {
        let at = Timestamp::from_unix(1_700_000_000);
        let plain = line("OrdersPlaced", 1, None, at);
        assert_eq!(plain["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        let directive = &plain["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Shop");
        assert_eq!(directive["Dimensions"], json!([[]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "OrdersPlaced", "Unit": "Count"}])
        );
        assert_eq!(plain["OrdersPlaced"], 1);

        let by = line("WebhookEvents", 2, Some(("Outcome", "paid")), at);
        assert_eq!(
            by["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Outcome"]])
        );
        assert_eq!(by["WebhookEvents"], 2);
        assert_eq!(by["Outcome"], "paid");
    }
}
