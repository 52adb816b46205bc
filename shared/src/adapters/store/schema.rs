//! The table's definition: the one source for the local emulator, the test
//! tables, and the check against `template.yaml`.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};

use crate::foundation::error::Error;

pub const PARTITION_KEY: &str = "PK";
pub const SORT_KEY: &str = "SK";
/// Epoch seconds after which DynamoDB may delete the item.
pub const TTL_ATTRIBUTE: &str = "expires_at_epoch";

/// An overloaded global secondary index (string keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gsi {
    pub name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: &'static str,
    /// The attributes it holds besides the keys; empty: all of them.
    pub projected: &'static [&'static str],
}

/// Catalogue, a user's orders, a product's reviews.
pub const GSI1: Gsi = Gsi {
    name: "GSI1",
    partition_key: "GSI1PK",
    sort_key: "GSI1SK",
    projected: &[],
};

/// Catalogue by category, orders awaiting payment, a user's reviews.
pub const GSI2: Gsi = Gsi {
    name: "GSI2",
    partition_key: "GSI2PK",
    sort_key: "GSI2SK",
    projected: &[],
};

/// The back office's: every order by day (over shards), every customer
/// (over shards). Keys and what a search filters on only: an order's
/// writes other than its status leave it alone, and no password hash is
/// copied into it.
pub const GSI3: Gsi = Gsi {
    name: "GSI3",
    partition_key: "GSI3PK",
    sort_key: "GSI3SK",
    projected: &["status", "market"],
};

pub const GSIS: [Gsi; 3] = [GSI1, GSI2, GSI3];

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, Error> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(Error::internal)
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, Error> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(Error::internal)
}

/// Creates the table (on-demand, with its GSIs, TTL and stream) named
/// `name`.
pub async fn create_table(client: &Client, name: &str) -> Result<(), Error> {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PARTITION_KEY, KeyType::Hash)?)
        .key_schema(key(SORT_KEY, KeyType::Range)?)
        .attribute_definitions(string_attribute(PARTITION_KEY)?)
        .attribute_definitions(string_attribute(SORT_KEY)?)
        // The notifier's outbox (decision 69): every committed write, with
        // the item before and after.
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .map_err(Error::internal)?,
        );
    for gsi in GSIS {
        request = request
            .attribute_definitions(string_attribute(gsi.partition_key)?)
            .attribute_definitions(string_attribute(gsi.sort_key)?)
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(gsi.name)
                    .key_schema(key(gsi.partition_key, KeyType::Hash)?)
                    .key_schema(key(gsi.sort_key, KeyType::Range)?)
                    .projection(if gsi.projected.is_empty() {
                        Projection::builder().projection_type(ProjectionType::All).build()
                    } else {
                        Projection::builder()
                            .projection_type(ProjectionType::Include)
                            .set_non_key_attributes(Some(
                                gsi.projected.iter().map(|a| (*a).to_owned()).collect(),
                            ))
                            .build()
                    })
                    .build()
                    .map_err(Error::internal)?,
            );
    }
    request.send().await?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL_ATTRIBUTE)
                .enabled(true)
                .build()
                .map_err(Error::internal)?,
        )
        .send()
        .await?;
    Ok(())
}

pub async fn delete_table(client: &Client, name: &str) -> Result<(), Error> {
    client.delete_table().table_name(name).send().await?;
    Ok(())
}
