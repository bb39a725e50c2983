//! `contactpoint admin`: setting up a deployment from the command line, before anyone can
//! sign in to do it on the pages.

use anyhow::{bail, Context, Result};
use contactpoint_auth::{check_new_pin, new_token, SecretHasher, TotpSecret};
use contactpoint_domain::{
    AccessRoute, Accreditation, AuditEvent, Clock, Duty, EmailAddress, FamilyName, GivenName,
    LocalAuthorityCode, OrganisationKind, Outcome, Permit, Role, SystemClock, SystemTask,
    Telephone, Username, Vetting,
};
use contactpoint_storage::{Catalogue, LocalAuthority, NewOrganisation, NewUser, Store};
use rand::Rng;

#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Create a national administrator (the first account of a deployment), with their own
    /// accredited organisation. Prints a first password, PIN and security-token key once;
    /// at first sign-in they must register a security key.
    CreateNationalAdministrator(CreateAdministratorArgs),
}

#[derive(Debug, clap::Args)]
pub struct CreateAdministratorArgs {
    /// sqlite://PATH or postgres://USER@HOST:PORT/DB
    #[arg(long, env = "CONTACTPOINT_DATABASE_URL")]
    pub database_url: String,
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub given_name: String,
    #[arg(long)]
    pub family_name: String,
    /// The local authority the national team's organisation sits in (code, e.g. E06000055).
    #[arg(long)]
    pub local_authority: String,
    /// Name of that local authority, used if it is not yet known to the database.
    #[arg(long, default_value = "National ContactPoint")]
    pub local_authority_name: String,
    /// Date of the administrator's enhanced criminal records check, YYYY-MM-DD.
    #[arg(long)]
    pub criminal_records_checked_on: chrono::NaiveDate,
    /// Date they completed ContactPoint training, YYYY-MM-DD.
    #[arg(long)]
    pub training_completed_on: chrono::NaiveDate,
}

pub async fn run(command: AdminCommand) -> Result<()> {
    match command {
        AdminCommand::CreateNationalAdministrator(args) => {
            create_national_administrator(args).await
        }
    }
}

async fn create_national_administrator(args: CreateAdministratorArgs) -> Result<()> {
    let username = Username::parse(&args.username)?;
    let given = GivenName::parse_field("given_name", &args.given_name)?;
    let family = FamilyName::parse_field("family_name", &args.family_name)?;
    let la = LocalAuthorityCode::parse(&args.local_authority)?;
    let store = Store::connect(&args.database_url).await?;
    store.migrate().await?;
    let permit = Permit::system_bypass(SystemTask::Bootstrap);
    let now = SystemClock.now();
    let authority = LocalAuthority {
        code: la.clone(),
        name: args.local_authority_name.clone(),
        team_email: EmailAddress::parse("contactpoint@national.example.org")?,
        team_telephone: Telephone::parse("01632 960000")?,
    };
    store.load_local_authorities(&permit, &[authority]).await?;
    let organisation_name = "National ContactPoint Administration";
    let existing = store
        .organisations_in_authority(&permit, &la)
        .await?
        .into_iter()
        .find(|o| o.name == organisation_name);
    let organisation_id = match existing {
        Some(o) => o.id,
        None => {
            let catalogue = Catalogue {
                organisations: vec![NewOrganisation {
                    kind: OrganisationKind::LocalAuthorityChildrensServices,
                    name: organisation_name.into(),
                    local_authority: la.clone(),
                    address: None,
                    telephone: None,
                    email: None,
                    services: vec![],
                }],
            };
            store
                .load_catalogue(&permit, &catalogue)
                .await?
                .first_organisation
        }
    };
    let accredit = AuditEvent::new(
        now,
        AccessRoute::System,
        "accreditation_changed",
        Outcome::Success,
    )
    .about("organisation", organisation_id)
    .in_authority(&la)
    .with("to", "accredited")
    .with("reason", "deployment set-up");
    store
        .set_accreditation(
            &permit,
            organisation_id,
            Accreditation::Accredited,
            true,
            false,
            &accredit,
        )
        .await?;

    let words = [
        "harbour", "lantern", "meadow", "orchard", "pebble", "quarry", "saddle", "thistle",
        "willow", "beacon", "copper", "falcon",
    ];
    let mut rng = rand::rng();
    let password = (0..5)
        .map(|_| words[rng.random_range(0..words.len())])
        .collect::<Vec<_>>()
        .join("-")
        + &new_token()[..4];
    let pin = loop {
        let pin = format!("{:06}", rng.random_range(0..1_000_000));
        if check_new_pin(&pin).is_ok() {
            break pin;
        }
    };
    let totp = TotpSecret::generate();
    let hasher = SecretHasher::default();
    let user = NewUser {
        username: username.clone(),
        organisation_id,
        given_name: given.to_string(),
        family_name: family.to_string(),
        email: None,
        role: Role::NationalAdministrator,
        duties: Vec::<Duty>::new(),
        shield_override: false,
        vetting: Vetting {
            criminal_records_checked_on: Some(args.criminal_records_checked_on),
            training_completed_on: Some(args.training_completed_on),
            agreement_accepted_on: Some(now.date_naive()),
        },
        password_hash: hasher.hash(&password),
        pin_hash: hasher.hash(&pin),
        totp_secret: Some(totp.to_base32()),
        demo: false,
    };
    if let Some(lapse) = user.vetting.lapse_on(now.date_naive()) {
        bail!(
            "the administrator could not sign in: {}",
            lapse.explanation()
        );
    }
    let audit = AuditEvent::new(now, AccessRoute::System, "user_created", Outcome::Success)
        .in_authority(&la)
        .with("username", username.as_str())
        .with("role", "national_administrator")
        .with("reason", "deployment set-up");
    store
        .create_user(&permit, &user, now, &audit)
        .await
        .context("creating the administrator (is the user name taken?)")?;
    println!("National administrator {username} created. Hand these over securely; they are not shown again.");
    println!("  first password: {password}");
    println!("  PIN: {pin}");
    println!("  security-token key (base32): {}", totp.to_base32());
    println!("  {}", totp.otpauth_uri(username.as_str()));
    println!("At first sign-in (with the one-time code) they register a security key, then sign in with it.");
    Ok(())
}
