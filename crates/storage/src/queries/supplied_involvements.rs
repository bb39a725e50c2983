// Included into each backend module (see backend.rs).

#[derive(sqlx::FromRow)]
struct InvolvedChildRow {
    id: i64,
    date_of_birth: chrono::NaiveDate,
}

#[derive(sqlx::FromRow)]
struct ReferencedService {
    id: i64,
    name: String,
    category: String,
}

/// The child a supplied involvement names, with its date of birth (for the consent rule).
async fn involved_child(
    tx: &mut sqlx::Transaction<'_, Db>,
    source: &contactpoint_domain::SourceCode,
    child: &crate::supply::InvolvedChild,
) -> Result<Option<InvolvedChildRow>, crate::StorageError> {
    // A retired record leads to the survivor of its merge.
    let sql = match child {
        crate::supply::InvolvedChild::SourceRecord(_) => {
            "SELECT COALESCE(s.id, c.id) AS id, COALESCE(s.date_of_birth, c.date_of_birth) AS date_of_birth \
             FROM supplied_records r JOIN children c ON c.id = r.child_id LEFT JOIN children s ON s.id = c.merged_into \
             WHERE r.source = $1 AND r.source_record_id = $2"
        }
        crate::supply::InvolvedChild::ContactPoint(_) => {
            "SELECT COALESCE(s.id, c.id) AS id, COALESCE(s.date_of_birth, c.date_of_birth) AS date_of_birth \
             FROM children c LEFT JOIN children s ON s.id = c.merged_into \
             WHERE $1 = $1 AND c.contactpoint_id = $2"
        }
    };
    let key = match child {
        crate::supply::InvolvedChild::SourceRecord(id) => id.clone(),
        crate::supply::InvolvedChild::ContactPoint(id) => id.as_digits(),
    };
    Ok(sqlx::query_as(sql).bind(source.as_str()).bind(key).fetch_optional(&mut **tx).await?)
}

/// Checks a supplied involvement against the directory and makes it an involvement.
async fn resolve_involvement(
    tx: &mut sqlx::Transaction<'_, Db>,
    source: &contactpoint_domain::SourceCode,
    record: &crate::supply::IncomingInvolvement,
    supplied_at: chrono::DateTime<chrono::Utc>,
) -> Result<Result<(i64, contactpoint_domain::Involvement), contactpoint_domain::FieldError>, crate::StorageError> {
    use contactpoint_domain::{FieldError, Involvement, PractitionerRef, Provenance, ServiceCategory, ServiceRef};
    let Some(child) = involved_child(tx, source, &record.child).await? else {
        return Ok(Err(match &record.child {
            crate::supply::InvolvedChild::SourceRecord(_) => FieldError::new(
                "child_source_record_id",
                "a child record this source supplied that was linked or created (not rejected, and not waiting in the exceptions queue)",
            ),
            crate::supply::InvolvedChild::ContactPoint(_) => {
                FieldError::new("contactpoint_id", "the ContactPoint ID of a child in the directory")
            }
        }));
    };
    let service: Option<ReferencedService> =
        sqlx::query_as("SELECT id, name, category FROM services WHERE reference = $1")
            .bind(&record.service_reference)
            .fetch_optional(&mut **tx)
            .await?;
    let Some(service) = service else {
        return Ok(Err(FieldError::new("service_reference", "the reference of a service in the directory")));
    };
    let category = ServiceCategory::parse(&service.category).map_err(crate::StorageError::corrupt("services"))?;
    let practitioner = match &record.practitioner {
        None => None,
        Some((given, family)) => {
            let id: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM practitioners WHERE service_id = $1 AND given_name = $2 AND family_name = $3 ORDER BY id LIMIT 1",
            )
            .bind(service.id)
            .bind(given.as_str())
            .bind(family.as_str())
            .fetch_optional(&mut **tx)
            .await?;
            match id {
                Some(id) => Some(PractitionerRef {
                    id,
                    given_name: given.clone(),
                    family_name: family.clone(),
                    telephone: None,
                    email: None,
                }),
                None => {
                    return Ok(Err(FieldError::new(
                        "practitioner_given_name",
                        "a practitioner of that service known to the directory (or no practitioner)",
                    )))
                }
            }
        }
    };
    let involvement = Involvement {
        service: ServiceRef {
            id: service.id,
            name: service.name,
            organisation_name: String::new(),
            category,
            address: None,
            telephone: None,
            email: None,
        },
        practitioner,
        started_on: record.started_on,
        ended_on: record.ended_on,
        lead_professional: record.lead_professional,
        caf_completed_on: record.caf_completed_on,
        sensitive_basis: record.sensitive_basis.clone(),
        provenance: Provenance::new(source.clone(), supplied_at),
    };
    Ok(involvement.check(child.date_of_birth).map(|()| (child.id, involvement)))
}

async fn write_involvement(
    tx: &mut sqlx::Transaction<'_, Db>,
    existing: Option<i64>,
    child_id: i64,
    inv: &contactpoint_domain::Involvement,
) -> Result<i64, crate::StorageError> {
    use contactpoint_domain::SensitiveBasis;
    let (given_by, given_on, reference) = match &inv.sensitive_basis {
        Some(SensitiveBasis::Consent { given_by, given_on }) => (Some(given_by.code()), Some(*given_on), None),
        Some(SensitiveBasis::ChildProtection { reference }) => (None, None, Some(reference.clone())),
        None => (None, None, None),
    };
    let (id, sql) = match existing {
        Some(id) => (
            id,
            "UPDATE involvements SET child_id = $2, service_id = $3, practitioner_id = $4, started_on = $5, ended_on = $6, \
             lead_professional = $7, caf_completed_on = $8, sensitive_basis = $9, consent_given_by = $10, \
             consent_given_on = $11, child_protection_reference = $12, source = $13, supplied_at = $14 WHERE id = $1",
        ),
        None => (
            allocate_ids(tx, "involvements", 1).await?,
            "INSERT INTO involvements (id, child_id, service_id, practitioner_id, started_on, ended_on, lead_professional, \
             caf_completed_on, sensitive_basis, consent_given_by, consent_given_on, child_protection_reference, source, \
             supplied_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        ),
    };
    sqlx::query(sql)
        .bind(id)
        .bind(child_id)
        .bind(inv.service.id)
        .bind(inv.practitioner.as_ref().map(|p| p.id))
        .bind(inv.started_on)
        .bind(inv.ended_on)
        .bind(inv.lead_professional)
        .bind(inv.caf_completed_on)
        .bind(inv.sensitive_basis.as_ref().map(|b| b.code()))
        .bind(given_by)
        .bind(given_on)
        .bind(reference)
        .bind(inv.provenance.source.as_str())
        .bind(inv.provenance.supplied_at)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// Imports one batch of supplied involvements in one transaction with its audit entry.
pub(crate) async fn import_involvement_batch(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    batch: &crate::supply::InvolvementBatch<'_>,
    audit: &crate::supply::InvolvementAudit<'_>,
) -> Result<crate::supply::InvolvementSummary, crate::StorageError> {
    let mut summary = crate::supply::InvolvementSummary::default();
    let mut tx = begin_read_then_write(pool).await?;
    for (index, record) in batch.records.iter().enumerate() {
        let before: Option<(String, String, Option<i64>)> = sqlx::query_as(
            "SELECT digest, status, involvement_id FROM supplied_involvements WHERE source = $1 AND source_record_id = $2",
        )
        .bind(batch.source.as_str())
        .bind(&record.source_record_id)
        .fetch_optional(&mut **tx)
        .await?;
        if before.as_ref().is_some_and(|(digest, status, _)| *digest == record.digest && status == "applied") {
            summary.unchanged += 1;
            continue;
        }
        let existing = before.and_then(|(_, _, id)| id);
        let involvement_id = match resolve_involvement(&mut tx, batch.source, record, batch.supplied_at).await? {
            Ok((child_id, involvement)) => {
                let id = write_involvement(&mut tx, existing, child_id, &involvement).await?;
                if existing.is_some() {
                    summary.updated += 1;
                } else {
                    summary.started += 1;
                }
                Some(id)
            }
            Err(problem) => {
                summary.rejected.push((index, problem));
                // An involvement applied before stays as it was, under its old digest, so
                // the refused new version is tried again next time.
                if existing.is_some() {
                    continue;
                }
                None
            }
        };
        sqlx::query(
            "INSERT INTO supplied_involvements (source, source_record_id, digest, status, involvement_id, supplied_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (source, source_record_id) DO UPDATE SET \
             digest = excluded.digest, status = excluded.status, involvement_id = excluded.involvement_id, \
             supplied_at = excluded.supplied_at",
        )
        .bind(batch.source.as_str())
        .bind(&record.source_record_id)
        .bind(&record.digest)
        .bind(if involvement_id.is_some() { "applied" } else { "rejected" })
        .bind(involvement_id)
        .bind(batch.supplied_at)
        .execute(&mut **tx)
        .await?;
    }
    if let Some(event) = audit(&summary) {
        append_audit(&mut tx, &event).await?;
    }
    tx.commit().await?;
    Ok(summary)
}
