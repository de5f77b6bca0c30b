//! How an error reaches the person at the terminal: one line `paperwire: error: context: cause`
//! for most, and for a list of problems in an input (a config, a subscriber list, a CSV, a paper
//! list) the problems one per line, each with its `file:line:col`, then how many — the same
//! shape `paperwire check` prints, so a config with three problems reads the same everywhere.

use paperwire::config::ConfigError;
use paperwire::diag::Problems;
use paperwire::pipeline::RunError;
use paperwire::source::SourceError;
use paperwire::state::StateError;
use paperwire::subscribers::SubscriberError;

/// The error as it is printed on stderr (without the final newline).
pub fn render(err: &anyhow::Error) -> String {
    let mut head: Vec<String> = Vec::new();
    for cause in err.chain() {
        if let Some(list) = problems_of(cause).filter(|p| p.0.len() > 1) {
            let mut out = String::new();
            if !head.is_empty() {
                out.push_str(&format!("paperwire: error: {}\n", head.join(": ")));
            }
            for p in &list.0 {
                out.push_str(&format!("{p}\n"));
            }
            out.push_str(&format!("paperwire: {}", problems_found(list.0.len())));
            return out;
        }
        head.push(cause.to_string());
    }
    format!("paperwire: error: {}", head.join(": "))
}

/// "1 problem found", "3 problems found".
pub fn problems_found(n: usize) -> String {
    format!("{n} problem{} found", if n == 1 { "" } else { "s" })
}

/// The list of problems an error is, when it is one.
fn problems_of<'e>(err: &'e (dyn std::error::Error + 'static)) -> Option<&'e Problems> {
    if let Some(p) = err.downcast_ref::<Problems>() {
        return Some(p);
    }
    if let Some(e) = err.downcast_ref::<ConfigError>() {
        return config(e);
    }
    if let Some(e) = err.downcast_ref::<SubscriberError>() {
        return subscribers(e);
    }
    if let Some(e) = err.downcast_ref::<SourceError>() {
        return source(e);
    }
    if let Some(StateError::Papers(e)) = err.downcast_ref::<StateError>() {
        return source(e);
    }
    match err.downcast_ref::<RunError>()? {
        RunError::Config(e) => config(e),
        RunError::Subscribers(e) => subscribers(e),
        RunError::Source(e) | RunError::State(StateError::Papers(e)) => source(e),
        _ => None,
    }
}

fn config(e: &ConfigError) -> Option<&Problems> {
    match e {
        ConfigError::Invalid(p) => Some(p),
        _ => None,
    }
}

fn subscribers(e: &SubscriberError) -> Option<&Problems> {
    match e {
        SubscriberError::Invalid(p) => Some(p),
        _ => None,
    }
}

fn source(e: &SourceError) -> Option<&Problems> {
    match e {
        SourceError::Malformed(p) => Some(p),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use paperwire::diag::{Location, Problem};

    use super::*;

    fn problems(n: usize) -> Problems {
        Problems(
            (1..=n)
                .map(|i| {
                    Problem::new(
                        Location {
                            path: Path::new("paperwire.toml").to_owned(),
                            line: i,
                            col: 1,
                        },
                        format!("problem {i}"),
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn one_problem_is_one_line() {
        let err = anyhow::Error::from(ConfigError::Invalid(problems(1)));
        insta::assert_snapshot!(render(&err), @"paperwire: error: paperwire.toml:1:1: problem 1");
    }

    #[test]
    fn several_problems_are_listed_and_counted_like_check_does() {
        let err = anyhow::Error::from(RunError::Config(ConfigError::Invalid(problems(2))));
        insta::assert_snapshot!(render(&err), @r"
        paperwire.toml:1:1: problem 1
        paperwire.toml:2:1: problem 2
        paperwire: 2 problems found
        ");
        let err = anyhow::Error::from(SubscriberError::Invalid(problems(3)))
            .context("nothing was imported from people.csv");
        insta::assert_snapshot!(render(&err), @r"
        paperwire: error: nothing was imported from people.csv
        paperwire.toml:1:1: problem 1
        paperwire.toml:2:1: problem 2
        paperwire.toml:3:1: problem 3
        paperwire: 3 problems found
        ");
    }

    #[test]
    fn other_errors_print_their_chain_on_one_line() {
        let err = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::NotFound))
            .context("cannot read x.json");
        assert_eq!(
            render(&err),
            "paperwire: error: cannot read x.json: entity not found"
        );
    }
}
