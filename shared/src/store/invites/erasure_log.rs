//! The erasure log: every erasure request, kept longer than the table's
//! point-in-time recovery reaches back, so that after a restore (which brings the
//! erased names back) each request since the restore point is carried out again
//! (`handlers::erase_guest::carry_out`, `ota-admin erase --again-since`). It keeps the
//! keyed hashes of the number, never the number.

use super::*;

/// One erasure request, as the erasure log keeps it: the keyed hashes of the number
/// (one per key then kept; never the number), where (one intercom, or the fleet),
/// and by whom. Kept as long as the table's point-in-time recovery reaches back, so
/// that after a restore every erasure made since the restore point can be made again
/// (`ota-admin erase --again-since`): the restored table has the names back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureRequest {
    pub lookups: Vec<String>,
    pub intercom: Option<IntercomId>,
    pub by: String,
    pub at: OffsetDateTime,
}

/// DynamoDB's longest point-in-time recovery window, and a day.
const ERASURE_LOG_RETENTION: time::Duration = time::Duration::days(36);

impl Store {
    /// Writes the request to the erasure log, before its codes are erased (an erasure
    /// cut short is made again from the log too).
    pub async fn log_erasure(&self, request: &ErasureRequest) -> Result<(), StoreError> {
        let mut item = key(keys::ERASURE_LOG_PK.to_owned(), keys::erasure_log_sk(request.at, &request.lookups));
        item.extend([
            (names::LOOKUPS.to_owned(), AttributeValue::Ss(request.lookups.clone())),
            (names::CREATED_BY.to_owned(), s(&request.by)),
            (names::CREATED_AT.to_owned(), epoch(request.at)),
            (keys::PURGE_AT.to_owned(), epoch(request.at + ERASURE_LOG_RETENTION)),
        ]);
        if let Some(intercom) = &request.intercom {
            item.insert(names::INTERCOM_ID.to_owned(), s(intercom.as_str()));
        }
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(request_failed)?;
        Ok(())
    }

    /// The erasure requests logged since `since`, oldest first.
    pub async fn erasures_since(&self, since: OffsetDateTime) -> Result<Vec<ErasureRequest>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk >= :since")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", s(keys::ERASURE_LOG_PK))
            .expression_attribute_values(":since", s(keys::erasure_log_from(since)));
        self.query_all(query)
            .await?
            .iter()
            .map(|item| {
                Ok(ErasureRequest {
                    lookups: item
                        .get(names::LOOKUPS)
                        .and_then(|v| v.as_ss().ok())
                        .cloned()
                        .ok_or_else(|| bad(names::LOOKUPS))?,
                    intercom: get_optional(item, names::INTERCOM_ID, |i, n| {
                        get_s(i, n).and_then(|raw| IntercomId::parse(raw).ok_or_else(|| bad(n)))
                    })?,
                    by: get_s(item, names::CREATED_BY)?.to_owned(),
                    at: get_time(item, names::CREATED_AT)?,
                })
            })
            .collect()
    }
}
