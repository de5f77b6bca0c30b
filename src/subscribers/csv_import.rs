//! The subscriber list in and out as text: CSV for `import` and `export --csv`, and the plain
//! table `subscribers list` prints.
//!
//! The columns are `email,name,topics` with a header row (and optionally `format`,
//! `max_papers` and `paused`, which `export --csv` writes so that an export re-imports whole); several
//! topics share one cell, separated by `;`, `|` or `,`. An import is all-or-nothing, so every bad row is reported with its
//! line before anything is written.

use std::collections::HashMap;
use std::path::Path;

use super::parse::check_topic;
use super::{NewSubscriber, Subscriber, SubscriberEmail};
use crate::diag::{Location, Problem, Problems};
use crate::digest::personal::Profile as PersonalProfile;

const COLUMNS: &[&str] = &[
    "email",
    "name",
    "topics",
    "format",
    "max_papers",
    "paused",
    "interests",
    "authors",
    "like",
    "mute",
    "for_you",
];

/// One checked row of an import, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub subscriber: NewSubscriber,
    pub location: Location,
}

/// Parses and checks an import file: a header naming `email` (and optionally `name`,
/// `topics`), then one row per person. Every problem is reported with its line.
pub fn parse_import_csv(
    text: &str,
    path: &Path,
    sections: &[&str],
) -> Result<Vec<ImportRow>, Problems> {
    let (rows, problems) = read_import_rows(text, path, sections);
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(Problems(problems))
    }
}

/// The good rows and the problems of the bad ones.
pub(super) fn read_import_rows(
    text: &str,
    path: &Path,
    sections: &[&str],
) -> (Vec<ImportRow>, Vec<Problem>) {
    let at_line = |line: usize| Location {
        path: path.to_owned(),
        line,
        col: 1,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut problems = Vec::new();
    let columns = match reader.headers() {
        Ok(h) => Columns::read(h, &mut |m| problems.push(Problem::new(at_line(1), m))),
        Err(e) => {
            let problem = Problem::new(at_line(1), format!("cannot read the header: {e}"));
            return (Vec::new(), vec![problem]);
        }
    };
    let Some(columns) = columns else {
        return (Vec::new(), problems);
    };
    let mut rows = Vec::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_of(text, p));
                problems.push(Problem::new(at_line(line), format!("unreadable row: {e}")));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| line_of(text, p));
        let location = at_line(line);
        let mut bad = |m: String| problems.push(Problem::new(location.clone(), m));
        let Some(subscriber) = columns.row(&record, sections, &mut bad) else {
            continue;
        };
        match first_line.get(&subscriber.email.key()) {
            Some(first) => bad(format!(
                "{} is listed twice (first on line {first})",
                subscriber.email
            )),
            None => {
                first_line.insert(subscriber.email.key(), line);
                rows.push(ImportRow {
                    subscriber,
                    location,
                });
            }
        }
    }
    (rows, problems)
}

/// The line a record starts on. The csv reader's own line count is off by one for every CRLF
/// before the record (it ends a record at the `\r` and counts the line at the `\n`, which it
/// then reads as the start of the next record), so the line comes from the byte offset instead,
/// skipping the line ends the record starts with.
fn line_of(text: &str, position: &csv::Position) -> usize {
    let start = usize::try_from(position.byte())
        .unwrap_or(usize::MAX)
        .min(text.len());
    let skipped = text[start..]
        .find(|c| c != '\r' && c != '\n')
        .map_or(text.len(), |i| start + i);
    crate::diag::line_col(text, skipped).0
}

/// Where each known column is in the file's header.
struct Columns {
    count: usize,
    email: usize,
    name: Option<usize>,
    topics: Option<usize>,
    format: Option<usize>,
    max_papers: Option<usize>,
    paused: Option<usize>,
    /// `interests`, `authors`, `like`, `mute`, `for_you`.
    personal: [Option<usize>; 5],
}

impl Columns {
    /// Reads the header row, reporting unknown and repeated columns; `None` without an
    /// `email` column.
    fn read(header: &csv::StringRecord, bad: &mut dyn FnMut(String)) -> Option<Self> {
        let names: Vec<String> = header.iter().map(|c| c.trim().to_lowercase()).collect();
        for (i, name) in names.iter().enumerate() {
            if !COLUMNS.contains(&name.as_str()) {
                bad(format!(
                    "unknown column `{name}` (the columns are: {})",
                    COLUMNS.join(", ")
                ));
            } else if names[..i].contains(name) {
                bad(format!("column `{name}` appears twice"));
            }
        }
        let column = |wanted: &str| names.iter().position(|n| n == wanted);
        let Some(email) = column("email") else {
            bad("the header row must name an `email` column (columns: email,name,topics)".into());
            return None;
        };
        Some(Self {
            count: names.len(),
            email,
            name: column("name"),
            topics: column("topics"),
            format: column("format"),
            max_papers: column("max_papers"),
            paused: column("paused"),
            personal: super::personal::KEYS.map(column),
        })
    }

    /// One row as a new subscriber, or `None` after reporting what is wrong with it.
    fn row(
        &self,
        record: &csv::StringRecord,
        sections: &[&str],
        bad: &mut dyn FnMut(String),
    ) -> Option<NewSubscriber> {
        if record.len() > self.count {
            bad(format!(
                "{} fields, but the header names {}",
                record.len(),
                self.count
            ));
            return None;
        }
        let mut ok = true;
        let mut bad = |m: String| {
            ok = false;
            bad(m);
        };
        let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("").trim();
        let email = match cell(Some(self.email)) {
            "" => {
                bad("the email cell is empty".into());
                None
            }
            raw => SubscriberEmail::parse(raw)
                .map_err(|e| bad(e.to_string()))
                .ok(),
        };
        let mut topics = Vec::new();
        for topic in split_topics(cell(self.topics), sections) {
            match check_topic(topic, sections) {
                Ok(known) => topics.push(known.to_owned()),
                Err(message) => bad(message),
            }
        }
        let name = Some(cell(self.name))
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        if let Some(Err(message)) = name.as_deref().map(super::check_name) {
            bad(message);
        }
        let paused = match cell(self.paused) {
            "" | "false" | "no" => false,
            "true" | "yes" => true,
            raw => {
                bad(format!("paused `{raw}` is not true or false"));
                false
            }
        };
        let format = match cell(self.format) {
            "" => None,
            raw => raw
                .parse::<super::MailFormat>()
                .map_err(|e| bad(e.to_string()))
                .ok(),
        };
        let max_papers = match cell(self.max_papers) {
            "" => None,
            raw => raw
                .parse::<super::counts::MaxPapers>()
                .map_err(&mut bad)
                .ok(),
        };
        let profile = self.profile(record, &mut bad);
        let email = email.filter(|_| ok)?;
        Some(NewSubscriber {
            name,
            topics,
            format,
            max_papers,
            paused,
            profile,
            ..NewSubscriber::new(email)
        })
    }

    /// The personal cells (entries split by [`super::personal::split`]), each problem reported.
    fn profile(&self, record: &csv::StringRecord, bad: &mut dyn FnMut(String)) -> PersonalProfile {
        use super::personal as p;
        let cell = |i: usize| {
            self.personal[i]
                .and_then(|c| record.get(c))
                .unwrap_or("")
                .trim()
        };
        let mut items = |i: usize, parse: &dyn Fn(&str) -> Result<_, String>| {
            p::list(&p::split(p::Field::Interests, cell(i)), parse).unwrap_or_else(|m| {
                bad(m);
                Vec::new()
            })
        };
        let interests = items(0, &|r| p::keyword("interests", r));
        let mute = items(3, &|r| p::keyword("mute", r));
        let authors =
            p::list(&p::split(p::Field::Authors, cell(1)), p::author).unwrap_or_else(|m| {
                bad(m);
                Vec::new()
            });
        let like = p::list(&p::split(p::Field::Like, cell(2)), p::like).unwrap_or_else(|m| {
            bad(m);
            Vec::new()
        });
        let for_you = match cell(4) {
            "" => None,
            raw => raw
                .parse::<super::counts::ForYou>()
                .map(super::counts::ForYou::get)
                .map_err(&mut *bad)
                .ok(),
        };
        PersonalProfile {
            interests,
            authors,
            like,
            mute,
            for_you,
        }
    }
}

/// The topics in one cell, separated by `;`, `|` or `,` (as `subscribers add --topics "A,B"`
/// takes them). A piece between `;` or `|` that is a section's whole name stays whole, so that a
/// section whose name has a comma can still be named (separate it from others with `;`).
fn split_topics<'c>(cell: &'c str, sections: &[&str]) -> Vec<&'c str> {
    let mut topics = Vec::new();
    for piece in cell.split([';', '|']).map(str::trim) {
        if piece.contains(',') && check_topic(piece, sections).is_err() {
            topics.extend(piece.split(',').map(str::trim));
        } else {
            topics.push(piece);
        }
    }
    topics.retain(|t| !t.is_empty());
    topics
}

/// The list as an importable CSV (`email,name,topics,format,max_papers,paused`, then the
/// personal columns `interests,authors,like,mute,for_you`), leaving out addresses that
/// unsubscribed or bounced so that re-importing the export cannot bring them back.
pub fn export_csv(subscribers: &[Subscriber]) -> String {
    // Neither those who unsubscribed nor dead addresses: an import elsewhere would bring them
    // back.
    let exported: Vec<&Subscriber> = subscribers
        .iter()
        .filter(|s| s.unsubscribed_at.is_none() && s.bounced_at.is_none())
        .collect();
    // The personal columns only when someone has personal fields: a list without them
    // exports as it always did.
    let personal = exported.iter().any(|s| !s.profile.is_empty());
    let columns = if personal { COLUMNS.len() } else { 6 };
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut write = |fields: &[&str]| {
        writer
            .write_record(&fields[..columns])
            .expect("writing CSV into memory cannot fail");
    };
    write(COLUMNS);
    for s in exported {
        let [interests, authors, like, mute, for_you] = super::personal::csv_cells(&s.profile);
        write(&[
            s.email.as_str(),
            s.name.as_deref().unwrap_or(""),
            &s.topics.join("; "),
            s.format.as_str(),
            &s.max_papers.map(|n| n.to_string()).unwrap_or_default(),
            if s.paused { "true" } else { "false" },
            &interests,
            &authors,
            &like,
            &mute,
            &for_you,
        ]);
    }
    let bytes = writer
        .into_inner()
        .expect("flushing CSV into memory cannot fail");
    String::from_utf8(bytes).expect("CSV of UTF-8 strings is UTF-8")
}

/// A plain-text table: address, name, status, topics.
pub fn table(list: &[Subscriber]) -> String {
    let rows: Vec<[String; 4]> = list
        .iter()
        .map(|s| {
            let status = match (s.unsubscribed_at, s.bounced_at, s.paused) {
                (Some(at), _, _) => format!("unsubscribed {}", at.format("%Y-%m-%d")),
                (None, Some(at), _) => format!("bounced {}", at.format("%Y-%m-%d")),
                (None, None, true) => "paused".to_owned(),
                (None, None, false) => "active".to_owned(),
            };
            let topics = if s.topics.is_empty() {
                "(all)".to_owned()
            } else {
                s.topics.join(", ")
            };
            [
                s.email.to_string(),
                s.name.clone().unwrap_or_default(),
                status,
                topics,
            ]
        })
        .collect();
    let header = ["EMAIL", "NAME", "STATUS", "TOPICS"].map(str::to_owned);
    let mut widths = [0usize; 3];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let line = format!(
            "{:w0$}  {:w1$}  {:w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        text.push_str(line.trim_end());
        text.push('\n');
    }
    let active = list.iter().filter(|s| s.is_active()).count();
    text.push_str(&format!(
        "{} {}, {active} getting mail\n",
        list.len(),
        if list.len() == 1 {
            "subscriber"
        } else {
            "subscribers"
        }
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECTIONS: &[&str] = &["Federated Learning", "Pruning & Compression"];

    #[test]
    fn rows_with_quotes_and_topic_lists() {
        let text = "email,name,topics\n\
                    ada@example.org,\"Lovelace, Ada\",Federated Learning; Pruning & Compression\n\
                    grace@example.org,,Federated Learning|Pruning & Compression\n\
                    alan@example.org\n";
        let rows = parse_import_csv(text, Path::new("in.csv"), SECTIONS).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].subscriber.name.as_deref(), Some("Lovelace, Ada"));
        assert_eq!(rows[0].subscriber.topics, SECTIONS);
        assert_eq!(rows[1].subscriber.topics, SECTIONS);
        assert_eq!(rows[1].subscriber.name, None);
        assert_eq!(rows[2].location.line, 4);
    }

    #[test]
    fn topics_are_separated_by_semicolons_bars_or_commas() {
        let sections = &["Federated Learning", "Graphs", "Losses, Optimization"][..];
        let text = "email,topics\n\
                    a@example.org,\"Federated Learning, Graphs\"\n\
                    b@example.org,Federated Learning;Graphs\n\
                    c@example.org,Graphs | Federated Learning\n\
                    d@example.org,\"Losses, Optimization; Graphs\"\n\
                    e@example.org,\"Losses, Optimization\"\n";
        let rows = parse_import_csv(text, Path::new("in.csv"), sections).unwrap();
        let topics: Vec<Vec<String>> = rows.into_iter().map(|r| r.subscriber.topics).collect();
        assert_eq!(topics[0], ["Federated Learning", "Graphs"]);
        assert_eq!(topics[1], ["Federated Learning", "Graphs"]);
        assert_eq!(topics[2], ["Graphs", "Federated Learning"]);
        assert_eq!(topics[3], ["Losses, Optimization", "Graphs"]);
        assert_eq!(topics[4], ["Losses, Optimization"]);
        let problems = parse_import_csv(
            "email,topics\nx@example.org,\"Graphs, Knitting\"\n",
            Path::new("in.csv"),
            sections,
        )
        .unwrap_err();
        assert!(
            problems
                .to_string()
                .starts_with("in.csv:2:1: unknown topic `Knitting`"),
            "{problems}"
        );
    }

    #[test]
    fn lines_are_right_with_crlf_line_ends() {
        let text = "email,name,topics\r\n\
                    ok@example.org,Ok,\r\n\
                    bob@example,Bob,\r\n\
                    \r\n\
                    \"multi\r\nline\",Y,\r\n\
                    z@example.org,Z,Knitting\r\n";
        let problems = parse_import_csv(text, Path::new("in.csv"), SECTIONS).unwrap_err();
        let lines: Vec<usize> = problems.0.iter().map(|p| p.location.line).collect();
        assert_eq!(lines, [3, 5, 7], "{problems}");
        let lf = text.replace("\r\n", "\n");
        let problems = parse_import_csv(&lf, Path::new("in.csv"), SECTIONS).unwrap_err();
        let lf_lines: Vec<usize> = problems.0.iter().map(|p| p.location.line).collect();
        assert_eq!(lf_lines, lines);
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let text = "email,name,topics\n\
                    ok@example.org,Ok,\n\
                    not-an-address,X,\n\
                    \"multi\nline@example.org\",Y,\n\
                    OK@example.org,Dup,\n\
                    z@example.org,Z,Knitting\n\
                    ,Nobody,\n";
        let problems = parse_import_csv(text, Path::new("in.csv"), SECTIONS).unwrap_err();
        let lines: Vec<usize> = problems.0.iter().map(|p| p.location.line).collect();
        assert_eq!(lines, [3, 4, 6, 7, 8], "{problems}");
        assert!(
            problems
                .to_string()
                .contains("in.csv:6:1: OK@example.org is listed twice (first on line 2)")
        );
    }

    #[test]
    fn the_header_must_name_known_columns() {
        let problems =
            parse_import_csv("mail,name\nx@y.org,X\n", Path::new("in.csv"), SECTIONS).unwrap_err();
        assert!(problems.to_string().contains("unknown column `mail`"));
        assert!(problems.to_string().contains("must name an `email` column"));
    }

    #[test]
    fn export_round_trips_through_import() {
        let text = "email,name,topics,format,max_papers,paused,interests,authors,like,mute,for_you\n\
                    ada@example.org,\"Lovelace, Ada\",Federated Learning,text,5,false,speculative decoding; KV cache*,\"Dao, Tri; Yann LeCun\",2411.01234,benchmark*,3\n\
                    bob@example.org,,,html,,true,,,,,\n";
        let rows = parse_import_csv(text, Path::new("in.csv"), SECTIONS).unwrap();
        let subscribers: Vec<Subscriber> = rows
            .into_iter()
            .map(|r| Subscriber {
                email: r.subscriber.email,
                name: r.subscriber.name,
                topics: r.subscriber.topics.into(),
                format: r.subscriber.format.unwrap_or_default(),
                max_papers: r.subscriber.max_papers.map(|n| n.get()),
                paused: r.subscriber.paused,
                since: None,
                unsubscribed_at: None,
                bounced_at: None,
                profile: r.subscriber.profile.into(),
            })
            .collect();
        assert_eq!(export_csv(&subscribers), text);
    }
}
