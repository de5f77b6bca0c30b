//! The text of the papers readers liked (`like = [...]`), which their "For you" ranking
//! compares the day's papers with.
//!
//! A liked paper is looked for, in order, in today's papers, in the frozen paper lists of
//! earlier editions, in the state directory's cache of arXiv answers, and last on the arXiv API
//! (batched, 3 s apart), whose answers join the cache. An id arXiv answered without is
//! reported (`paperwire check` lists them) and left out of the ranking, and asked again after
//! a week. Nothing here ever fails a send: an API that cannot be reached, keeps failing or
//! answers with something that is not its feed is a warning with the reason, nothing is cached
//! for the ids it held, and they are asked again next time.

use std::collections::BTreeSet;

use crate::config::Settings;
use crate::paper::{Paper, PaperId};
use crate::source::HttpOptions;
use crate::state::StateDir;
use crate::subscribers::Subscriber;

/// How long an id arXiv did not know stays unknown before it is asked again.
const ASK_AGAIN_AFTER_DAYS: i64 = 7;

/// HTTP settings for looking liked papers up: one retry and short timeouts, since a reader's
/// likes are worth a few seconds of a send at most (an id not found now is asked again next
/// time).
pub fn lookup_options() -> HttpOptions {
    HttpOptions {
        retries: 1,
        timeout: std::time::Duration::from_secs(20),
        connect_timeout: std::time::Duration::from_secs(5),
        retry_after_max: std::time::Duration::from_secs(10),
        ..HttpOptions::default()
    }
}

/// Whether to ask the arXiv API for what the state directory does not have.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// Only earlier editions and the cache (preview: changes nothing, asks no one).
    Offline,
    /// Ask the API; `save` writes its answers to the cache.
    Online { opts: HttpOptions, save: bool },
}

/// The liked papers found, and what was not.
#[derive(Debug, Clone, Default)]
pub struct Liked {
    pub papers: Vec<Paper>,
    /// Ids no paper list or cache has and arXiv answered without (now or within a week).
    pub unresolved: Vec<PaperId>,
    /// Ids not found that arXiv could not be asked about (see `warnings` for why); asked again
    /// next time.
    pub unasked: Vec<PaperId>,
    /// What went wrong on the way (an unreachable API, a cache that cannot be written).
    pub warnings: Vec<String>,
}

/// Every id liked by a subscriber who gets mail.
pub fn wanted(subscribers: &[Subscriber]) -> BTreeSet<PaperId> {
    subscribers
        .iter()
        .filter(|s| s.is_active())
        .flat_map(|s| s.profile.like.iter().cloned())
        .collect()
}

/// Finds the papers with the `wanted` ids (see the module's docs).
/// `today` is the day's paper list (a liked paper may be in it).
pub async fn resolve(
    settings: &Settings,
    wanted: &BTreeSet<PaperId>,
    today: &[Paper],
    lookup: &Lookup,
) -> Liked {
    let mut liked = Liked::default();
    if wanted.is_empty() {
        return liked;
    }
    let state = StateDir::new(&settings.state_dir);
    let mut found = state.papers_from_editions(wanted);
    for p in today {
        if wanted.contains(&p.id) {
            found.insert(p.id.clone(), p.clone());
        }
    }
    let cache_file = state.liked_cache();
    let mut cache = cache_file.read();
    for p in &cache.papers {
        if wanted.contains(&p.id) && !found.contains_key(&p.id) {
            found.insert(p.id.clone(), p.clone());
        }
    }
    let now = chrono::Utc::now();
    let recently_unknown = |id: &PaperId| {
        cache
            .unknown
            .get(id)
            .is_some_and(|at| (now - *at).num_days() < ASK_AGAIN_AFTER_DAYS)
    };
    let ask: Vec<PaperId> = wanted
        .iter()
        .filter(|id| !found.contains_key(*id) && !recently_unknown(id))
        .cloned()
        .collect();
    if let (Lookup::Online { opts, save }, false) = (lookup, ask.is_empty()) {
        let answer = crate::source::lookup_ids(&settings.for_you.arxiv_api, &ask, opts).await;
        for id in &answer.unknown {
            cache.unknown.insert(id.clone(), now);
        }
        for p in answer.found {
            cache.unknown.remove(&p.id);
            found.insert(p.id.clone(), p.clone());
            cache.papers.retain(|c| c.id != p.id);
            cache.papers.push(p);
        }
        if *save && let Err(e) = cache_file.write(&cache) {
            liked.warnings.push(crate::exit::describe(&e));
        }
        if let Some(e) = &answer.trouble {
            liked.warnings.push(format!(
                "liked papers: could not look up {} id(s) on arXiv ({}); they are left out of this ranking and asked again next time",
                answer.unasked.len(),
                crate::exit::describe(e)
            ));
        }
        liked.unasked = answer.unasked;
    }
    liked.unresolved = wanted
        .iter()
        .filter(|id| !found.contains_key(*id) && !liked.unasked.contains(id))
        .cloned()
        .collect();
    liked.papers = found.into_values().collect();
    liked.papers.sort_by(|a, b| a.id.cmp(&b.id));
    liked
}
