//! The text of the papers readers liked (`like = [...]`), which their "For you" ranking
//! compares the day's papers with.
//!
//! A liked paper is looked for, in order, in the frozen paper lists of earlier editions, in the
//! state directory's cache of arXiv answers, and last on the arXiv API (batched, 3 s apart),
//! whose answers join the cache. An id none of them knows is reported (`paperwire check` lists
//! them) and left out of the ranking; nothing here ever fails a send: an unreachable API is a
//! warning, and the ids are asked again next time.

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
    /// Ids no earlier edition, cache or API answer has.
    pub unresolved: Vec<PaperId>,
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
pub async fn resolve(settings: &Settings, wanted: &BTreeSet<PaperId>, lookup: &Lookup) -> Liked {
    let mut liked = Liked::default();
    if wanted.is_empty() {
        return liked;
    }
    let state = StateDir::new(&settings.state_dir);
    let mut found = state.papers_from_editions(wanted);
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
        match crate::source::lookup_ids(&settings.for_you.arxiv_api, &ask, opts).await {
            Ok(answer) => {
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
            }
            Err(e) => liked.warnings.push(format!(
                "liked papers: could not look up {} id(s) on arXiv ({}); they are left out of this ranking",
                ask.len(),
                crate::exit::describe(&e)
            )),
        }
    }
    liked.unresolved = wanted
        .iter()
        .filter(|id| !found.contains_key(*id))
        .cloned()
        .collect();
    liked.papers = found.into_values().collect();
    liked.papers.sort_by(|a, b| a.id.cmp(&b.id));
    liked
}
