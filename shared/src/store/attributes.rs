//! Attribute values, and reading them back from items: the vocabulary every
//! aggregate's mapping uses. A stored item that does not have the shape this code
//! writes is an [`ItemError`] naming the attribute, never a panic.

use crate::keys;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::str::FromStr;
use thiserror::Error;
use time::OffsetDateTime;

pub type Item = HashMap<String, AttributeValue>;

/// A stored item that does not have the shape this code writes. Never a client's
/// fault: it surfaces as an internal error naming the attribute.
#[derive(Debug, Error)]
#[error("stored item attribute {attribute:?} is missing or malformed")]
pub struct ItemError {
    pub attribute: String,
}

pub(crate) fn bad(attribute: &str) -> ItemError {
    ItemError { attribute: attribute.to_owned() }
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn epoch(at: OffsetDateTime) -> AttributeValue {
    n(at.unix_timestamp())
}

pub(crate) fn get_s<'i>(item: &'i Item, name: &str) -> Result<&'i str, ItemError> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str).ok_or_else(|| bad(name))
}

pub(crate) fn get_n<T: FromStr>(item: &Item, name: &str) -> Result<T, ItemError> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).ok_or_else(|| bad(name))
}

pub(crate) fn get_time(item: &Item, name: &str) -> Result<OffsetDateTime, ItemError> {
    OffsetDateTime::from_unix_timestamp(get_n(item, name)?).map_err(|_| bad(name))
}

pub(crate) fn parse_attr<T>(item: &Item, name: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, ItemError> {
    parse(get_s(item, name)?).ok_or_else(|| bad(name))
}

pub fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([(keys::PK.to_owned(), s(pk)), (keys::SK.to_owned(), s(sk))])
}

pub fn sort_key(item: &Item) -> Option<&str> {
    item.get(keys::SK).and_then(|v| v.as_s().ok()).map(String::as_str)
}
