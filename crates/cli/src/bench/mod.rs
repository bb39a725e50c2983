//! `contactpoint bench`: measurements of the real system on a generated nation. Requests go
//! through the real router (session check, policy, search, scoring and the audit write in
//! the read's transaction), in process, with a bearer token from `POST /api/sessions`.

mod candidates;
mod queries;
mod report;
mod setup;
mod supply;

use anyhow::{bail, Context, Result};
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use chrono::{DateTime, NaiveDate, Utc};
use contactpoint_domain::search::SearchCriteria;
use contactpoint_domain::Clock;
use contactpoint_web::{router, AppState, WebSettings};
use http_body_util::BodyExt;
use indicatif::{ProgressBar, ProgressStyle};
use queries::BenchQuery;
use rand::SeedableRng;
use report::{Pass, Report, SearchReply, Timed};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Search for known children with realistic mistakes through the real API, then open
    /// them: latency at concurrency 1 and N, audited views a second, and search quality.
    /// Generates the nation into the database first, or reuses it when it already holds
    /// that many children. Adds a practitioner and a case-management client each run.
    Search(SearchArgs),
    /// The initial load of the four national suppliers' files for a generated nation into an
    /// empty database: records a second end to end, peak memory, and accuracy against the
    /// truth file (pairwise precision, recall and F1, children split or merged wrongly).
    Supply(supply::SupplyArgs),
}

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// How many children the nation has (generated when the database is empty).
    #[arg(long, default_value_t = 1_000_000)]
    pub children: u64,
    /// How many searches to run, each for a different child.
    #[arg(long, default_value_t = 2_000)]
    pub queries: usize,
    /// The nation's seed; the same seed draws the same children and the same searches.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The date the nation is drawn at and the searches are made on, YYYY-MM-DD.
    #[arg(long, default_value = "2026-11-23")]
    pub as_of: NaiveDate,
    /// sqlite://PATH or postgres://USER@HOST:PORT/DB; the schema is brought up to date first.
    #[arg(long, env = "CONTACTPOINT_DATABASE_URL")]
    pub database_url: String,
    /// How many searches (and views) run at once in the concurrent passes.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also list this many searches that did not rank their child first, with why.
    #[arg(long, default_value_t = 0)]
    pub show_misses: usize,
    /// Also show the children each search's keys reach, and what further keys would reach
    /// (the nation is always drawn again in memory to judge the searches: about as long as
    /// generating it, without the database).
    #[arg(long)]
    pub count_candidates: bool,
}

pub async fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Search(args) => search(args).await,
        BenchCommand::Supply(args) => supply::run(args).await,
    }
}

/// The benchmark's time: the nation's moment (noon on `--as-of`) plus the time the run has
/// taken. Sessions are touched and entries stamped as on a live server, while every date
/// is the one the nation was drawn for.
#[derive(Debug, Clone)]
struct RunningClock {
    start: DateTime<Utc>,
    started: Instant,
}

impl Clock for RunningClock {
    fn now(&self) -> DateTime<Utc> {
        self.start + chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default()
    }
}

/// The router, driven in process as a server would drive it.
#[derive(Clone)]
struct Client {
    router: axum::Router,
    token: Arc<str>,
}

impl Client {
    async fn send(
        router: &axum::Router,
        mut request: Request<Body>,
    ) -> Result<(StatusCode, Bytes)> {
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        let response = router.clone().oneshot(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    async fn search(&self, query: &BenchQuery) -> Result<Timed<SearchReply>> {
        let request = Request::get(query.path())
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .body(Body::empty())?;
        let started = Instant::now();
        let (status, body) = Self::send(&self.router, request).await?;
        let latency = started.elapsed();
        Ok(Timed {
            latency,
            value: SearchReply::read(status, &body),
        })
    }

    async fn view(&self, contactpoint_id: &str) -> Result<Timed<StatusCode>> {
        let request = Request::post(format!("/api/children/{contactpoint_id}/view"))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"reason":"coordinating_support"}"#))?;
        let started = Instant::now();
        let (status, _) = Self::send(&self.router, request).await?;
        Ok(Timed {
            latency: started.elapsed(),
            value: status,
        })
    }
}

fn progress(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{elapsed_precise}} [{{bar:40}}] {{human_pos}}/{{human_len}} {what} ({{per_sec}})"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

/// Runs `work` over `items` with `concurrency` tasks taking the next item in turn; returns
/// the results in the items' order and the wall time.
async fn run_concurrently<T, R, F, Fut>(
    items: Arc<Vec<T>>,
    concurrency: usize,
    bar: &ProgressBar,
    work: F,
) -> Result<(Vec<R>, Duration)>
where
    T: Send + Sync + 'static,
    R: Send + 'static,
    F: Fn(Arc<Vec<T>>, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Result<R>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (items, next, work, bar) = (items.clone(), next.clone(), work.clone(), bar.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= items.len() {
                    break;
                }
                done.push((i, work(items.clone(), i).await?));
                bar.inc(1);
            }
            Ok::<_, anyhow::Error>(done)
        }));
    }
    let mut all = Vec::with_capacity(items.len());
    for task in tasks {
        all.extend(task.await??);
    }
    let wall = started.elapsed();
    all.sort_by_key(|(i, _)| *i);
    Ok((all.into_iter().map(|(_, r)| r).collect(), wall))
}

async fn search(args: SearchArgs) -> Result<()> {
    if args.queries == 0 {
        bail!("--queries must be at least 1");
    }
    let generate = crate::generate::GenerateArgs {
        children: args.children,
        seed: args.seed,
        database_url: args.database_url.clone(),
        local_authorities: Vec::new(),
        as_of: Some(args.as_of),
    };
    let (store, spec, prepared) = setup::prepare_nation(&generate).await?;
    let clock = RunningClock {
        start: spec.as_of,
        started: Instant::now(),
    };
    let today = clock.today();

    let sampling = Instant::now();
    let targets = setup::sample_targets(&store, &spec, args.queries, args.seed).await?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(args.seed.wrapping_add(0xBE4C));
    let queries: Vec<BenchQuery> = targets
        .iter()
        .map(|record| queries::make_query(record, today, &mut rng))
        .collect();
    if let Some(q) = queries.iter().find(|q| !q.is_proportionate(today)) {
        bail!("a generated search is not proportionate: {}", q.describe());
    }
    eprintln!(
        "Sampled {} children and made their searches in {:.1} s.",
        targets.len(),
        sampling.elapsed().as_secs_f64()
    );

    // The matching crate's query for each search, with the spellings the directory holds, as
    // the server makes it: what the report judges reach and scores by.
    let mut spelt = Vec::with_capacity(queries.len());
    for query in &queries {
        spelt.push(match SearchCriteria::parse(&query.form(), today) {
            Ok(criteria) => Some(contactpoint_web::search::spelt_query(&store, &criteria).await?),
            Err(_) => None,
        });
    }
    let spelt = Arc::new(spelt);

    let account = setup::create_account(&store, &spec, clock.now()).await?;
    let state = AppState::new(
        store.clone(),
        Arc::new(clock.clone()),
        WebSettings::default(),
    );
    let app = router(state);
    let sign_in = Request::post("/api/sessions")
        .header(header::CONTENT_TYPE, "application/json")
        .header(
            header::AUTHORIZATION,
            format!(
                "Basic {}",
                data_encoding::BASE64
                    .encode(format!("{}:{}", account.client_id, account.client_secret).as_bytes())
            ),
        )
        .body(Body::from(
            serde_json::json!({
                "username": account.username,
                "password": account.password,
                "pin": account.pin,
                "otp": account.totp.code_at(clock.now()),
            })
            .to_string(),
        ))?;
    let (status, body) = Client::send(&app, sign_in).await?;
    if status != StatusCode::CREATED {
        bail!(
            "signing in over the API failed ({status}): {}",
            String::from_utf8_lossy(&body)
        );
    }
    let token: String = serde_json::from_slice::<serde_json::Value>(&body)?["token"]
        .as_str()
        .context("the session has no token")?
        .to_owned();
    let client = Client {
        router: app,
        token: token.into(),
    };

    let queries = Arc::new(queries);
    // Warm-up, not measured: the first searches after start pay for cold caches.
    let warm_up = queries.len().min(100);
    for query in queries.iter().take(warm_up) {
        client.search(query).await?;
    }

    let bar = progress(queries.len(), "searches, one at a time");
    let started = Instant::now();
    let mut sequential = Vec::with_capacity(queries.len());
    for query in queries.iter() {
        sequential.push(client.search(query).await?);
        bar.inc(1);
    }
    let sequential_wall = started.elapsed();
    bar.finish_and_clear();

    let bar = progress(
        queries.len(),
        &format!("searches, {} at a time", args.concurrency),
    );
    let searcher = client.clone();
    let (concurrent, concurrent_wall) =
        run_concurrently(queries.clone(), args.concurrency, &bar, move |qs, i| {
            let client = searcher.clone();
            async move { client.search(&qs[i]).await }
        })
        .await?;
    bar.finish_and_clear();

    let ids: Arc<Vec<String>> = Arc::new(queries.iter().map(|q| q.target.clone()).collect());
    let mut view_passes = Vec::new();
    for concurrency in [1, args.concurrency] {
        let bar = progress(ids.len(), &format!("views, {concurrency} at a time"));
        let viewer = client.clone();
        let (views, wall) = run_concurrently(ids.clone(), concurrency, &bar, move |ids, i| {
            let client = viewer.clone();
            async move { client.view(&ids[i]).await }
        })
        .await?;
        bar.finish_and_clear();
        view_passes.push((concurrency, views, wall));
    }

    // The nation drawn again in memory: which children each search's keys reach, and
    // whether another child fits a search as well as its own child (then no search could
    // single it out; the report says so apart).
    let started = Instant::now();
    let counted = {
        let (spec, queries, spelt, targets) = (
            spec.clone(),
            queries.clone(),
            spelt.clone(),
            targets.clone(),
        );
        tokio::task::spawn_blocking(move || {
            candidates::count(&spec, &queries, &spelt, &targets, today)
        })
        .await?
    };
    eprintln!(
        "Drew the nation again and counted the candidates of every search in {:.1} s.",
        started.elapsed().as_secs_f64()
    );
    let candidates = Some(counted);
    let report = Report::new(
        &args,
        store.backend().name(),
        &prepared,
        &targets,
        &queries,
        &spelt,
        today,
        vec![
            Pass::new(1, sequential, sequential_wall),
            Pass::new(args.concurrency, concurrent, concurrent_wall),
        ],
        view_passes,
        candidates,
    );
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.json())?);
    } else {
        print!("{}", report.text(args.show_misses));
    }
    store.close().await;
    Ok(())
}
