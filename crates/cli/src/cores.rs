//! How many cores a command runs on. A command on the embedded database keeps to one.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every statement to it,
//! and every row back, across threads. On a virtual machine, waking a thread that sleeps on
//! another core costs tens of microseconds, more than most of these statements take, and
//! SQLite lets one connection write at a time, so a second core buys little. Kept to one
//! core (measured on the 2-core machine, docs/BENCHMARKS.md) an import placed 1.7 times as
//! many records a second and audited views went from about 850 to 1,500 a second, with
//! searches no slower. PostgreSQL does its work in its own processes, and every core is
//! used.

/// Starts the threads a bulk load scores its batches ahead on (`rayon`'s, one a core) while
/// the process may still use every core, so that they keep every core when the command then
/// keeps to one: the database's statements stay on one core, and scoring, which hands
/// nothing between threads but a whole batch, uses them all. False when they were already
/// started.
pub fn start_scoring_threads() -> bool {
    rayon::ThreadPoolBuilder::new()
        .thread_name(|index| format!("scoring-{index}"))
        .build_global()
        .is_ok()
}

/// Whether a command on `database_url` keeps to one core: on SQLite, unless asked to use
/// them all. A command without a database gains nothing from it.
pub fn keeps_to_one_core(database_url: Option<&str>, all_cores: bool) -> bool {
    !all_cores && database_url.is_some_and(|url| url.starts_with("sqlite:"))
}

/// Keeps the calling thread, and every thread it starts from now on, to the core it is
/// running on (the first core it may use if that cannot be read). Call it before any other
/// thread starts. Returns the core, or `None` when there was no choice to make or the
/// system refused.
pub fn keep_to_one_core() -> Option<usize> {
    let cores = core_affinity::get_core_ids()?;
    if cores.len() < 2 {
        return None;
    }
    let here = current_cpu().and_then(|cpu| cores.iter().find(|core| core.id == cpu));
    let core = *here.unwrap_or(&cores[0]);
    core_affinity::set_for_current(core).then_some(core.id)
}

/// The core this thread last ran on (Linux: field 39 of /proc/thread-self/stat). Two
/// embedded-database commands started together then tend to land on different cores.
fn current_cpu() -> Option<usize> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(39 - 3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_commands_on_the_embedded_database_keep_to_one_core() {
        assert!(keeps_to_one_core(Some("sqlite:///tmp/a.sqlite3"), false));
        assert!(!keeps_to_one_core(Some("sqlite:///tmp/a.sqlite3"), true));
        assert!(!keeps_to_one_core(
            Some("postgres://postgres@127.0.0.1:5432/test"),
            false
        ));
        assert!(!keeps_to_one_core(None, false));
    }

    #[test]
    fn a_thread_kept_to_one_core_and_the_threads_it_starts_see_one_core() {
        let available = core_affinity::get_core_ids().expect("the cores this process may use");
        let (kept, seen_by_child) = std::thread::spawn(move || {
            let kept = keep_to_one_core();
            let child = std::thread::spawn(|| core_affinity::get_core_ids().map(|c| c.len()));
            (kept, child.join().expect("the child thread"))
        })
        .join()
        .expect("the pinned thread");
        if available.len() < 2 {
            assert_eq!(kept, None, "one core leaves nothing to choose");
        } else {
            let kept = kept.expect("a core was chosen");
            assert!(available.iter().any(|core| core.id == kept));
            assert_eq!(seen_by_child, Some(1));
        }
    }

    #[test]
    fn the_scoring_threads_started_before_a_command_keeps_to_one_core_keep_every_core() {
        let available = core_affinity::get_core_ids().expect("the cores this process may use");
        let seen_by_scoring = std::thread::spawn(move || {
            start_scoring_threads();
            keep_to_one_core();
            let here = core_affinity::get_core_ids().map(|c| c.len());
            let scoring = rayon::broadcast(|_| core_affinity::get_core_ids().map(|c| c.len()));
            (here, scoring)
        })
        .join()
        .expect("the pinned thread");
        let (here, scoring) = seen_by_scoring;
        if available.len() >= 2 {
            assert_eq!(here, Some(1), "the command keeps to one core");
        }
        // One a core, unless RAYON_NUM_THREADS says otherwise; each may use every core.
        assert!(!scoring.is_empty());
        assert!(
            scoring.iter().all(|seen| *seen == Some(available.len())),
            "{scoring:?} of {} cores",
            available.len()
        );
    }

    #[test]
    fn the_current_core_is_one_this_process_may_use() {
        let available = core_affinity::get_core_ids().expect("the cores this process may use");
        let cpu = current_cpu().expect("Linux says which core a thread ran on");
        assert!(available.iter().any(|core| core.id == cpu), "core {cpu}");
    }
}
