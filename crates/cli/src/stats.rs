use crate::DatabaseArgs;
use anyhow::Result;
use contactpoint_storage::Store;

pub async fn run(args: DatabaseArgs) -> Result<()> {
    let store = Store::connect(&args.database_url).await?;
    let rows = store.stats().await?;
    println!(
        "{:<10} {:<36} {:>10} {:>9} {:>9} {:>13}",
        "code", "local authority", "children", "shielded", "services", "involvements"
    );
    let mut totals = (0, 0, 0, 0);
    for r in &rows {
        println!(
            "{:<10} {:<36} {:>10} {:>9} {:>9} {:>13}",
            r.code, r.name, r.children, r.shielded, r.services, r.involvements
        );
        totals = (
            totals.0 + r.children,
            totals.1 + r.shielded,
            totals.2 + r.services,
            totals.3 + r.involvements,
        );
    }
    println!(
        "{:<10} {:<36} {:>10} {:>9} {:>9} {:>13}",
        "",
        format!("all {} local authorities", rows.len()),
        totals.0,
        totals.1,
        totals.2,
        totals.3
    );
    Ok(())
}
