// Included into each backend module (see backend.rs).

pub(crate) async fn load_local_authorities(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    authorities: &[crate::LocalAuthority],
) -> Result<(), crate::StorageError> {
    let mut tx = pool.begin().await?;
    for chunk in authorities.chunks(rows_per_statement(4)) {
        let mut insert = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO local_authorities (code, name, team_email, team_telephone) ",
        );
        insert.push_values(chunk, |mut row, la| {
            row.push_bind(la.code.as_str())
                .push_bind(la.name.as_str())
                .push_bind(la.team_email.as_str())
                .push_bind(la.team_telephone.as_str());
        });
        insert.push(" ON CONFLICT (code) DO NOTHING");
        insert.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn load_catalogue(
    pool: &sqlx::Pool<Db>,
    _permit: &contactpoint_domain::Permit,
    catalogue: &crate::Catalogue,
) -> Result<crate::CatalogueIds, crate::StorageError> {
    use contactpoint_domain::Address;
    let mut tx = pool.begin().await?;
    let ids = crate::CatalogueIds {
        first_organisation: allocate_ids(&mut tx, "organisations", catalogue.organisations.len()).await?,
        first_service: allocate_ids(&mut tx, "services", catalogue.service_count()).await?,
        first_practitioner: allocate_ids(&mut tx, "practitioners", catalogue.practitioner_count()).await?,
    };
    let line2 = |a: &Option<Address>| a.as_ref().and_then(|a| a.line2.clone());

    let organisations: Vec<_> = catalogue.organisations.iter().enumerate().collect();
    for chunk in organisations.chunks(rows_per_statement(10)) {
        let mut insert = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO organisations (id, kind, name, local_authority, address_line1, address_line2, town, postcode, telephone, email) ",
        );
        insert.push_values(chunk, |mut row, (i, o)| {
            row.push_bind(ids.first_organisation + *i as i64)
                .push_bind(o.kind.code())
                .push_bind(o.name.as_str())
                .push_bind(o.local_authority.as_str())
                .push_bind(o.address.as_ref().map(|a| a.line1.clone()))
                .push_bind(line2(&o.address))
                .push_bind(o.address.as_ref().map(|a| a.town.clone()))
                .push_bind(o.address.as_ref().map(|a| a.postcode.to_string()))
                .push_bind(o.telephone.as_ref().map(|t| t.as_str().to_owned()))
                .push_bind(o.email.as_ref().map(|e| e.as_str().to_owned()));
        });
        insert.build().execute(&mut *tx).await?;
    }

    let mut services = Vec::with_capacity(catalogue.service_count());
    let mut practitioners = Vec::with_capacity(catalogue.practitioner_count());
    for (oi, organisation) in catalogue.organisations.iter().enumerate() {
        for service in &organisation.services {
            let service_id = ids.first_service + services.len() as i64;
            services.push((ids.first_organisation + oi as i64, service_id, service));
            for p in &service.practitioners {
                practitioners.push((ids.first_practitioner + practitioners.len() as i64, service_id, p));
            }
        }
    }
    for chunk in services.chunks(rows_per_statement(12)) {
        let mut insert = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO services (id, organisation_id, name, category, reference, sensitive, address_line1, address_line2, town, postcode, telephone, email) ",
        );
        insert.push_values(chunk, |mut row, (organisation_id, id, s)| {
            row.push_bind(*id)
                .push_bind(*organisation_id)
                .push_bind(s.name.as_str())
                .push_bind(s.category.code())
                .push_bind(s.reference.as_deref())
                .push_bind(s.category.is_sensitive())
                .push_bind(s.address.as_ref().map(|a| a.line1.clone()))
                .push_bind(line2(&s.address))
                .push_bind(s.address.as_ref().map(|a| a.town.clone()))
                .push_bind(s.address.as_ref().map(|a| a.postcode.to_string()))
                .push_bind(s.telephone.as_ref().map(|t| t.as_str().to_owned()))
                .push_bind(s.email.as_ref().map(|e| e.as_str().to_owned()));
        });
        insert.build().execute(&mut *tx).await?;
    }
    for chunk in practitioners.chunks(rows_per_statement(6)) {
        let mut insert = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO practitioners (id, service_id, given_name, family_name, telephone, email) ",
        );
        insert.push_values(chunk, |mut row, (id, service_id, p)| {
            row.push_bind(*id)
                .push_bind(*service_id)
                .push_bind(p.given_name.as_str())
                .push_bind(p.family_name.as_str())
                .push_bind(p.telephone.as_ref().map(|t| t.as_str().to_owned()))
                .push_bind(p.email.as_ref().map(|e| e.as_str().to_owned()));
        });
        insert.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(ids)
}
