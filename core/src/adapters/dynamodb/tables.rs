//! The read model's tables, built from `core/migrations/dynamodb/*.json` so
//! the JSON files stay the one definition.

use super::sdk_err;
use crate::{Error, Result};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde_json::Value;

/// `CreateTable` requests of the status and details tables.
pub(crate) const TABLES: &[&str] = &[
    include_str!("../../../migrations/dynamodb/order_status.json"),
    include_str!("../../../migrations/dynamodb/order_details.json"),
];

fn bad(what: impl std::fmt::Display) -> Error {
    Error::io(format!("dynamodb table definition: {what}"))
}

fn build_err(e: aws_sdk_dynamodb::error::BuildError) -> Error {
    Error::io_with("dynamodb table definition", e)
}

fn str_of<'a>(v: &'a Value, key: &str) -> Result<&'a str> {
    v[key].as_str().ok_or_else(|| bad(format!("missing {key}")))
}

fn key_schema(v: &Value) -> Result<Vec<KeySchemaElement>> {
    v.as_array()
        .ok_or_else(|| bad("KeySchema is not a list"))?
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(str_of(k, "AttributeName")?)
                .key_type(KeyType::from(str_of(k, "KeyType")?))
                .build()
                .map_err(build_err)
        })
        .collect()
}

/// Creates `name` (renamed from the JSON's table name) unless it exists, and
/// switches TTL on `expiresAt`.
pub(crate) async fn create(client: &Client, def: &str, name: &str) -> Result<()> {
    let v: Value =
        serde_json::from_str(def).map_err(|e| Error::io_with("dynamodb table definition", e))?;
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(
            v["BillingMode"].as_str().unwrap_or("PAY_PER_REQUEST"),
        ))
        .set_key_schema(Some(key_schema(&v["KeySchema"])?));
    for a in v["AttributeDefinitions"].as_array().into_iter().flatten() {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(str_of(a, "AttributeName")?)
                .attribute_type(ScalarAttributeType::from(str_of(a, "AttributeType")?))
                .build()
                .map_err(build_err)?,
        );
    }
    for g in v["GlobalSecondaryIndexes"].as_array().into_iter().flatten() {
        let projection = g["Projection"]["ProjectionType"].as_str().unwrap_or("ALL");
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(str_of(g, "IndexName")?)
                .set_key_schema(Some(key_schema(&g["KeySchema"])?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(projection))
                        .build(),
                )
                .build()
                .map_err(build_err)?,
        );
    }
    match req.send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(aws_sdk_dynamodb::operation::create_table::CreateTableError::is_resource_in_use_exception) => {}
        Err(e) => return Err(sdk_err("create table", e)),
    }
    let ttl = client
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .map_err(|e| sdk_err("describe TTL", e))?;
    let on = ttl
        .time_to_live_description()
        .and_then(|d| d.attribute_name())
        .is_some_and(|a| a == "expiresAt");
    if !on {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name("expiresAt")
                    .build()
                    .map_err(build_err)?,
            )
            .send()
            .await
            .map_err(|e| sdk_err("enable TTL", e))?;
    }
    Ok(())
}
