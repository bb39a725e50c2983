//! Importing a supplier's involvement files: each row names a child (a record the same
//! source supplied, or a ContactPoint ID), a service by its reference and perhaps a
//! practitioner; it starts or updates that involvement. Batched, idempotent and audited as
//! child files are.

use crate::import::{ImportError, ImportSettings};
use chrono::{DateTime, Utc};
use contactpoint_domain::{AuditEvent, Outcome, Permit, SensitiveBasis};
use contactpoint_storage::supply::{
    IncomingInvolvement, InvolvedChild, InvolvementBatch, InvolvementSummary,
};
use contactpoint_storage::Store;
use contactpoint_supply::{
    read_involvements, ChildReference, Format, Rejected, SuppliedInvolvement,
};
use sha2::{Digest, Sha256};
use std::io::Read;

/// What importing one involvement file did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvolvementReport {
    pub rows: u64,
    pub batches: u64,
    pub started: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Rows refused by the file's checks or by the directory (an unknown child, service or
    /// practitioner; a sensitive service without a valid basis).
    pub rejected: Vec<Rejected>,
}

/// SHA-256 of an involvement's values, written out field by field so the digest never
/// depends on how a type happens to print itself.
fn digest(record: &SuppliedInvolvement) -> String {
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let child = match &record.child {
        ChildReference::SourceRecord(id) => format!("record:{id}"),
        ChildReference::ContactPoint(id) => format!("contactpoint:{}", id.as_digits()),
    };
    let practitioner = record
        .practitioner
        .as_ref()
        .map(|(g, f)| format!("{} {}", g.as_str(), f.as_str()))
        .unwrap_or_default();
    let basis = match &record.sensitive_basis {
        None => String::new(),
        Some(SensitiveBasis::Consent { given_by, given_on }) => {
            format!("consent:{}:{given_on}", given_by.code())
        }
        Some(SensitiveBasis::ChildProtection { reference }) => {
            format!("child_protection:{reference}")
        }
    };
    let fields = [
        record.source_record_id.clone(),
        child,
        record.service_reference.clone(),
        practitioner,
        record.started_on.to_string(),
        date(record.ended_on),
        record.lead_professional.to_string(),
        date(record.caf_completed_on),
        basis,
    ];
    let mut hash = Sha256::new();
    for field in fields {
        hash.update(field.as_bytes());
        hash.update([0x1e]);
    }
    data_encoding::HEXLOWER.encode(&hash.finalize())
}

fn incoming(record: &SuppliedInvolvement) -> IncomingInvolvement {
    IncomingInvolvement {
        source_record_id: record.source_record_id.clone(),
        digest: digest(record),
        child: match &record.child {
            ChildReference::SourceRecord(id) => InvolvedChild::SourceRecord(id.clone()),
            ChildReference::ContactPoint(id) => InvolvedChild::ContactPoint(*id),
        },
        service_reference: record.service_reference.clone(),
        practitioner: record.practitioner.clone(),
        started_on: record.started_on,
        ended_on: record.ended_on,
        lead_professional: record.lead_professional,
        caf_completed_on: record.caf_completed_on,
        sensitive_basis: record.sensitive_basis.clone(),
    }
}

/// Imports one involvement file.
#[allow(clippy::too_many_arguments)]
pub async fn import_involvements(
    store: &Store,
    permit: &Permit,
    settings: &ImportSettings,
    name: &str,
    input: impl Read + Send,
    format: Format,
    now: DateTime<Utc>,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<InvolvementReport, ImportError> {
    let mut rows = read_involvements(input, format, now.date_naive())?;
    let mut report = InvolvementReport::default();
    loop {
        let mut records = Vec::with_capacity(settings.batch_size);
        let mut lines = (None, 0);
        for row in rows.by_ref() {
            report.rows += 1;
            let line = match &row {
                Ok(r) => r.line,
                Err(r) => r.line,
            };
            lines.0.get_or_insert(line);
            lines.1 = line;
            match row {
                Ok(record) => records.push(record),
                Err(rejection) => report.rejected.push(rejection),
            }
            if records.len() >= settings.batch_size {
                break;
            }
        }
        let Some(first_line) = lines.0 else { break };
        let batch = InvolvementBatch {
            source: &settings.source,
            records: records.iter().map(incoming).collect(),
            supplied_at: now,
        };
        let audit = |summary: &InvolvementSummary| {
            summary.changed_anything().then(|| {
                let mut event = AuditEvent::new(
                    now,
                    settings.route,
                    "supply_involvements_imported",
                    Outcome::Success,
                )
                .with("source", settings.source.as_str())
                .with("file", name)
                .with("lines", format!("{first_line}-{}", lines.1))
                .with("started", summary.started)
                .with("updated", summary.updated)
                .with("rejected", summary.rejected.len())
                .with("unchanged", summary.unchanged);
                if let Some(account) = settings.supplier_account_id {
                    event = event.with("supplier_account", account);
                }
                event
            })
        };
        let summary = store
            .import_involvement_batch(permit, &batch, &audit)
            .await?;
        report.started += summary.started;
        report.updated += summary.updated;
        report.unchanged += summary.unchanged;
        for (index, problem) in summary.rejected {
            let record = &records[index];
            report.rejected.push(Rejected {
                line: record.line,
                source_record_id: Some(record.source_record_id.clone()),
                field: problem.field,
                reason: format!("expected {}", problem.expected),
            });
        }
        report.batches += 1;
        progress(report.rows);
    }
    report.rejected.sort_by_key(|r| r.line);
    Ok(report)
}
