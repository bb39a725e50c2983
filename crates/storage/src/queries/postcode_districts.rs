// Included into each backend module (see backend.rs).

pub(crate) async fn load_postcode_districts(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    districts: &[(String, contactpoint_domain::LocalAuthorityCode)],
) -> Result<(), crate::StorageError> {
    let mut tx = pool.begin().await?;
    for chunk in districts.chunks(rows_per_statement(2)) {
        let mut insert =
            sqlx::QueryBuilder::<Db>::new("INSERT INTO postcode_districts (district, local_authority) ");
        insert.push_values(chunk, |mut row, (district, la)| {
            row.push_bind(crate::store::district_key(district)).push_bind(la.as_str());
        });
        insert.push(" ON CONFLICT (district) DO NOTHING");
        insert.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn local_authority_of_district(
    pool: &sqlx::Pool<Db>,
    district: &str,
) -> Result<Option<contactpoint_domain::LocalAuthorityCode>, crate::StorageError> {
    let code: Option<String> =
        sqlx::query_scalar("SELECT local_authority FROM postcode_districts WHERE district = $1")
            .bind(crate::store::district_key(district))
            .fetch_optional(pool)
            .await?;
    code.map(|c| {
        contactpoint_domain::LocalAuthorityCode::parse(&c)
            .map_err(crate::StorageError::corrupt("postcode_districts"))
    })
    .transpose()
}
