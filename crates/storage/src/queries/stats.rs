// Included into each backend module (see backend.rs).

pub(crate) async fn stats(
    pool: &sqlx::Pool<Db>,
) -> Result<Vec<crate::LocalAuthorityStats>, crate::StorageError> {
    use std::collections::HashMap;
    let mut tx = pool.begin().await?;
    let authorities: Vec<(String, String)> =
        sqlx::query_as("SELECT code, name FROM local_authorities ORDER BY name")
            .fetch_all(&mut *tx)
            .await?;
    let children: HashMap<String, (i64, i64)> = sqlx::query_as::<_, (String, i64, i64)>(
        "SELECT local_authority, COUNT(*), SUM(CASE WHEN shielded THEN 1 ELSE 0 END) \
         FROM children GROUP BY local_authority",
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|(la, all, shielded)| (la, (all, shielded)))
    .collect();
    let services: HashMap<String, i64> = sqlx::query_as(
        "SELECT o.local_authority, COUNT(*) FROM services s \
         JOIN organisations o ON o.id = s.organisation_id GROUP BY o.local_authority",
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let involvements: HashMap<String, i64> = sqlx::query_as(
        "SELECT c.local_authority, COUNT(*) FROM involvements i \
         JOIN children c ON c.id = i.child_id GROUP BY c.local_authority",
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    tx.commit().await?;
    Ok(authorities
        .into_iter()
        .map(|(code, name)| {
            let (children, shielded) = children.get(&code).copied().unwrap_or_default();
            crate::LocalAuthorityStats {
                services: services.get(&code).copied().unwrap_or_default(),
                involvements: involvements.get(&code).copied().unwrap_or_default(),
                code,
                name,
                children,
                shielded,
            }
        })
        .collect())
}
