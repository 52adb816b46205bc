//! Product items: the catalogue, stock and rating totals.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{KeysAndAttributes, ReturnValue};

use super::{GSI1, GSI2, Item, PageQuery, Store, is_conditional_failure, item, key, keys, n, s};
use crate::foundation::clock::Timestamp;
use crate::foundation::cursor::Page;
use crate::foundation::error::{Error, Shortage};
use crate::foundation::input::Update;
use crate::foundation::secret::Secret;
use crate::model::products::{Category, Product, ProductId, ProductPatch, ProductRecord};

// Deleted products keep their item (orders name them) with `deleted_at` set
// and no index keys, so they drop out of the listings.

fn product(item: Item) -> Result<Option<Product>, Error> {
    let stored: ProductRecord = serde_dynamo::from_item(item)?;
    Ok(stored.listed())
}

impl Store {
    pub async fn put_product(&self, product: &ProductRecord) -> Result<(), Error> {
        let mut item = item(keys::product(&product.id), product)?;
        let listed = keys::by_time(product.created_at, &product.id);
        item.insert(GSI1.partition_key.into(), s(keys::CATALOG));
        item.insert(GSI1.sort_key.into(), s(listed.clone()));
        item.insert(GSI2.partition_key.into(), s(keys::category(&product.category)));
        item.insert(GSI2.sort_key.into(), s(listed));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await?;
        Ok(())
    }

    /// A product for sale.
    pub async fn get_product(&self, id: &ProductId) -> Result<Option<Product>, Error> {
        Ok(self
            .get_as::<ProductRecord, _>(keys::product(id))
            .await?
            .and_then(ProductRecord::listed))
    }

    /// Products as stored (deleted ones included), by id, in one consistent
    /// `BatchGetItem` (plus retries of any unprocessed keys).
    pub async fn products_by_id(
        &self,
        ids: &[ProductId],
    ) -> Result<HashMap<ProductId, ProductRecord>, Error> {
        let mut found = HashMap::new();
        let mut pending: Vec<Item> = ids.iter().map(|id| key(keys::product(id))).collect();
        for attempt in 0..5 {
            if pending.is_empty() {
                break;
            }
            if attempt > 0 {
                crate::foundation::retry::backoff(attempt).await;
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(Error::internal)?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await?;
            for item in output
                .responses
                .unwrap_or_default()
                .remove(&self.table)
                .unwrap_or_default()
            {
                let stored: ProductRecord = serde_dynamo::from_item(item)?;
                found.insert(stored.id.clone(), stored);
            }
            pending = output
                .unprocessed_keys
                .unwrap_or_default()
                .remove(&self.table)
                .map(|unprocessed| unprocessed.keys)
                .unwrap_or_default();
        }
        if pending.is_empty() {
            Ok(found)
        } else {
            Err(Error::internal(
                "BatchGetItem left keys unprocessed after retries",
            ))
        }
    }

    pub async fn list_products(
        &self,
        secret: &Secret,
        category: Option<&Category>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Product>, Error> {
        let query = match category {
            None => PageQuery {
                gsi: &GSI1,
                partition: keys::CATALOG.to_owned(),
                sort_prefix: None,
                scope: "products".to_owned(),
                limit,
                cursor,
            },
            Some(category) => PageQuery {
                gsi: &GSI2,
                partition: keys::category(category),
                sort_prefix: None,
                scope: format!("products:{}", category.as_str()),
                limit,
                cursor,
            },
        };
        let (items, next_cursor) = self.query_page(secret, query).await?;
        let items = items
            .into_iter()
            .map(product)
            .filter_map(Result::transpose)
            .collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor })
    }

    /// Applies a patch; `stock_delta` is an atomic add that may not take the
    /// stock below zero (`OUT_OF_STOCK`).
    pub async fn update_product(
        &self,
        id: &ProductId,
        patch: &ProductPatch,
        now: Timestamp,
    ) -> Result<Product, Error> {
        let mut set = vec!["updated_at = :now"];
        let mut condition = "attribute_exists(PK) AND attribute_not_exists(deleted_at)".to_owned();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::product(id))))
            .expression_attribute_values(":now", s(now.to_string()));
        if let Update::Set(name) = &patch.name {
            set.push("#name = :name");
            request = request
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":name", s(name));
        }
        if let Update::Set(description) = &patch.description {
            set.push("description = :description");
            request = request.expression_attribute_values(":description", s(description));
        }
        if let Update::Set(category) = &patch.category {
            set.push("category = :category, #gsi2pk = :gsi2pk");
            request = request
                .expression_attribute_names("#gsi2pk", GSI2.partition_key)
                .expression_attribute_values(":category", s(category.as_str()))
                .expression_attribute_values(":gsi2pk", s(keys::category(category)));
        }
        if let Update::Set(price) = &patch.price {
            set.push("price = :price");
            request = request.expression_attribute_values(":price", n(price.minor()));
        }
        let mut expression = format!("SET {}", set.join(", "));
        if patch.stock_delta != 0 {
            expression.push_str(" ADD stock :delta");
            request = request.expression_attribute_values(":delta", n(patch.stock_delta));
            if patch.stock_delta < 0 {
                condition.push_str(" AND stock >= :needed");
                request = request.expression_attribute_values(":needed", n(-patch.stock_delta));
            }
        }
        let result = request
            .update_expression(expression)
            .condition_expression(condition)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => product(output.attributes.unwrap_or_default())?.ok_or(Error::NotFound),
            Err(err) if is_conditional_failure(&err) => {
                // Not for sale, or not enough stock for the write-off?
                let current = self.get_product(id).await?.ok_or(Error::NotFound)?;
                Err(Error::OutOfStock(vec![Shortage {
                    product_id: id.clone(),
                    requested: u32::try_from(-patch.stock_delta).unwrap_or(u32::MAX),
                    available: current.stock,
                }]))
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Takes a product off sale: out of the listings, unavailable to new
    /// orders, still there for the orders that hold it.
    pub async fn delete_product(&self, id: &ProductId, now: Timestamp) -> Result<(), Error> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::product(id))))
            .update_expression("SET deleted_at = :now, updated_at = :now REMOVE #g1pk, #g1sk, #g2pk, #g2sk")
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(deleted_at)")
            .expression_attribute_names("#g1pk", GSI1.partition_key)
            .expression_attribute_names("#g1sk", GSI1.sort_key)
            .expression_attribute_names("#g2pk", GSI2.partition_key)
            .expression_attribute_names("#g2sk", GSI2.sort_key)
            .expression_attribute_values(":now", s(now.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_conditional_failure(&err) => Err(Error::NotFound),
            Err(err) => Err(err.into()),
        }
    }
}
