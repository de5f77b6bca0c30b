//! Personal emails at the speed of shared ones: a reader's own email is *spliced* from parts
//! rendered once, instead of rendered for them alone.
//!
//! - The **catalog** (once per edition): every paper rendered by the `paper` partial, as a
//!   section shows it and as the "For you" block shows it (its "why" line a value), CSS inlined
//!   in place, then cut out.
//! - A **skeleton** (once per topics and format): the digest template rendered with markers
//!   ([`marks`]) where readers differ — each number and string that depends on the reader is a
//!   value; a conditional on one renders both branches with its lines *guarded*; a section's
//!   papers (and the block's) are one *group* line template that takes each paper's part.
//! - Per reader, [`Splicer::assemble`] walks the skeleton: it keeps the lines whose guards the
//!   reader's [`Plan`] meets, repeats group templates for the reader's papers, and fills values.
//!   The caller gets fixed pieces (the same for every reader, to encode once) and the few
//!   lines filled for this reader.
//!
//! The reference is [`Renderer::render_personal`] (one full render). A splice must give its
//! bytes exactly: [`Splicer::new`] checks that on fixtures, and when templates do something the
//! skeleton cannot follow, personal emails are rendered one by one instead.

mod helpers;
mod line;
mod marks;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;

use handlebars::Handlebars;
use serde_json::{Value as Json, json};

use self::line::{Group, Key, Seg};
use super::model::{self, EditionInfo, Personal};
use super::personal::{Plan, fit};
use super::{Person, RenderError, Renderer, VariantSpec};
use crate::config::DigestSettings;
use crate::digest::personal::Ranking;
use crate::digest::{Digest, DigestView, Keyword, ViewSection};

pub(crate) use marks::VALUE as VALUE_PREFIX;

/// The `{{wrap}}` of a text that holds a per-reader value: wrapped when the value is known.
pub(crate) fn wrap_later(text: &str, width: usize, indent: &str, first: &str) -> String {
    format!(
        "{}{width}_{}_{}_{text}{}",
        marks::WRAP,
        marks::hex(indent),
        marks::hex(first),
        marks::WRAP_END
    )
}

/// One line of a skeleton or a paper's part.
#[derive(Debug, Clone)]
enum Op {
    /// Fixed lines (an index into the owner's `fixed`).
    Fixed(usize),
    /// A line filled per reader (values, per-person slots), `\n`-terminated.
    Fill(Vec<Seg>),
    /// The current paper's part.
    Chunk,
}

/// Lines with the same guards and group.
#[derive(Debug, Clone)]
struct Run {
    /// (key, must be set).
    guards: Vec<(Key, bool)>,
    group: Option<Group>,
    ops: Vec<Op>,
}

/// A rendered part (text or HTML) as runs.
#[derive(Debug, Clone, Default)]
struct Part {
    runs: Vec<Run>,
}

/// The digest template rendered once for readers of some topics and format.
#[derive(Debug)]
pub struct Skeleton {
    text: Part,
    html: Option<Part>,
    /// The skeleton's sections (the topics' sections, muted or not), by name.
    sections: Vec<String>,
    /// The fixed lines, `\n`-terminated.
    pub fixed: Vec<String>,
}

/// Every paper's part, as a section and as the block show it.
#[derive(Debug)]
pub struct Catalog {
    /// The ops of each (paper, in the block, HTML), at [`Catalog::at`].
    chunks: Vec<Vec<Op>>,
    /// The fixed lines, `\n`-terminated.
    pub fixed: Vec<String>,
}

impl Catalog {
    fn at(paper: usize, block: bool, html: bool) -> Option<usize> {
        paper
            .checked_mul(4)?
            .checked_add(usize::from(block) * 2 + usize::from(html))
    }

    fn chunk(&self, paper: usize, block: bool, html: bool) -> &[Op] {
        Self::at(paper, block, html)
            .and_then(|at| self.chunks.get(at))
            .map_or(&[], Vec::as_slice)
    }

    fn insert(&mut self, paper: usize, block: bool, html: bool, ops: Vec<Op>) {
        let Some(at) = Self::at(paper, block, html) else {
            return;
        };
        if self.chunks.len() <= at {
            self.chunks.resize_with(at + 1, Vec::new);
        }
        self.chunks[at] = ops;
    }
}

/// A piece of an assembled part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// A fixed line of the skeleton (`catalog` false) or the catalog, by index: the same bytes
    /// for every reader.
    Fixed { catalog: bool, index: usize },
    /// A line for this reader only, `\n`-terminated.
    Own(&'a str),
}

/// What a reader's plan depends on besides the edition: their topics, cap and format, their
/// ranking, and their mutes.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    pub spec: &'a VariantSpec,
    pub ranking: &'a Ranking,
    pub mute: &'a [std::sync::Arc<Keyword>],
}

/// The skeleton and catalog registries (see the module docs).
pub struct Splicer {
    html: Handlebars<'static>,
    text: Handlebars<'static>,
    catalog_html: Handlebars<'static>,
    catalog_text: Handlebars<'static>,
    /// Whether splices give the reference's bytes with these templates.
    pub usable: bool,
}

impl std::fmt::Debug for Splicer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Splicer {{ usable: {} }}", self.usable)
    }
}

/// The registry with the skeleton's helpers and a `paper` partial that is only a marker line.
fn skeleton_registry(base: &Handlebars<'static>) -> Result<Handlebars<'static>, RenderError> {
    let mut r = base.clone();
    r.register_helper("if", Box::new(helpers::If { positive: true }));
    r.register_helper("unless", Box::new(helpers::If { positive: false }));
    r.register_helper("each", Box::new(helpers::Each));
    r.register_partial("paper", format!("{}\n", marks::CHUNK))
        .map_err(|e| template_error(&e))?;
    Ok(r)
}

/// The registry whose `paper` partial is the real one between catalog markers.
fn catalog_registry(
    base: &Handlebars<'static>,
    paper: &str,
) -> Result<Handlebars<'static>, RenderError> {
    let mut r = base.clone();
    r.register_partial("pw_paper", paper)
        .map_err(|e| template_error(&e))?;
    let wrapper = format!(
        "{}{{{{#if why}}}}b{{{{else}}}}s{{{{/if}}}}{{{{id}}}}_\n{{{{> pw_paper}}}}{}\n",
        marks::BEGIN,
        marks::END
    );
    r.register_partial("paper", wrapper)
        .map_err(|e| template_error(&e))?;
    Ok(r)
}

fn template_error(e: &handlebars::TemplateError) -> RenderError {
    RenderError::Template {
        location: "partials/paper".into(),
        message: format!("template does not compile: {}", e.reason()),
    }
}

impl Splicer {
    /// The registries for `renderer`, and whether splices match its rendering (checked on
    /// fixtures).
    pub fn new(renderer: &Renderer) -> Result<Self, RenderError> {
        let mut s = Self {
            html: skeleton_registry(&renderer.html)?,
            text: skeleton_registry(&renderer.text)?,
            catalog_html: catalog_registry(&renderer.html, &renderer.paper_partials.0)?,
            catalog_text: catalog_registry(&renderer.text, &renderer.paper_partials.1)?,
            usable: true,
        };
        s.usable = tests_on_fixtures::splices_match(&s, renderer);
        if !s.usable {
            tracing::info!(
                "the templates do something a splice cannot follow: personal emails are rendered one by one"
            );
        }
        Ok(s)
    }

    /// Every paper of the digest's sections rendered once, as a section and as the block show
    /// it.
    pub fn catalog(
        &self,
        renderer: &Renderer,
        digest: &Digest,
        edition: &EditionInfo,
        settings: &DigestSettings,
    ) -> Result<Catalog, RenderError> {
        let all: Vec<usize> = digest
            .sections
            .iter()
            .flat_map(|s| s.papers.clone())
            .collect();
        let view = DigestView {
            sections: vec![ViewSection {
                name: "Catalog".into(),
                is_catch_all: false,
                papers: all.clone(),
                left_out: 0,
            }],
            shown: all.len(),
            left_out: 0,
            other_topics: 0,
        };
        let block: Vec<(usize, String)> = all.iter().map(|&i| (i, "x".to_owned())).collect();
        let personal = Personal {
            for_you: &block,
            total: None,
        };
        let left = super::LeftOut::default();
        let model = model::build_personal(digest, &view, edition, settings, &[], &left, &personal);
        let mut json = serde_json::to_value(&model).map_err(|e| RenderError::Css(e.to_string()))?;
        for p in json["for_you"].as_array_mut().into_iter().flatten() {
            p["why"] = json!(marks::value("WHY"));
        }
        let (text, html) = render_json(
            renderer,
            &self.catalog_text,
            &self.catalog_html,
            &json,
            false,
        )?;
        let ids: HashMap<&str, usize> = all
            .iter()
            .map(|&i| (digest.papers[i].id.as_str(), i))
            .collect();
        let mut catalog = Catalog {
            chunks: Vec::new(),
            fixed: Vec::new(),
        };
        for (part, is_html) in [(text, false), (html.unwrap_or_default(), true)] {
            cut_chunks(&part, is_html, &ids, &mut catalog);
        }
        Ok(catalog)
    }

    /// The skeleton of readers of `spec`'s topics and format.
    pub fn skeleton(
        &self,
        renderer: &Renderer,
        digest: &Digest,
        spec: &VariantSpec,
        edition: &EditionInfo,
        settings: &DigestSettings,
    ) -> Result<Skeleton, RenderError> {
        let sections: Vec<ViewSection> = digest
            .sections
            .iter()
            .filter(|s| spec.topics.is_empty() || spec.topics.contains(&s.name))
            .map(|s| ViewSection {
                name: s.name.clone(),
                is_catch_all: s.is_catch_all,
                papers: s.papers[..1].to_vec(),
                left_out: 1,
            })
            .collect();
        let view = DigestView {
            sections: sections.clone(),
            shown: 2,
            left_out: 1,
            other_topics: 1,
        };
        let first = digest.sections.first().map_or(0, |s| s.papers[0]);
        let block = [(first, "x".to_owned())];
        let personal = Personal {
            for_you: &block,
            total: None,
        };
        let left = super::LeftOut::default();
        let model = model::build_personal(
            digest,
            &view,
            edition,
            settings,
            &spec.topics,
            &left,
            &personal,
        );
        let mut json = serde_json::to_value(&model).map_err(|e| RenderError::Css(e.to_string()))?;
        mark_values(&mut json);
        let (text, html) = render_json(renderer, &self.text, &self.html, &json, spec.text_only)?;
        let mut fixed = Vec::new();
        let text = compile(&text, &mut fixed);
        let html = html.map(|h| compile(&h, &mut fixed));
        Ok(Skeleton {
            text,
            html,
            sections: sections.into_iter().map(|s| s.name).collect(),
            fixed,
        })
    }

    /// One reader's plan: at most their cap, and what fits the HTML budget, sized from the
    /// skeleton (the same sizes the reference measures). The HTML part walked for the last
    /// sizing is kept, so that [`Splicer::assemble`] need not walk it again.
    pub fn plan(
        &self,
        skeleton: &Skeleton,
        catalog: &Catalog,
        digest: &Digest,
        settings: &DigestSettings,
        reader: &Reader<'_>,
    ) -> Planned {
        let Reader {
            spec,
            ranking,
            mute,
        } = *reader;
        let mut trace = Trace {
            pieces: Vec::with_capacity(512),
            own: String::with_capacity(4096),
        };
        let mut said = None;
        let result: Result<Plan, RenderError> =
            fit(digest, spec, settings, ranking, mute, |plan| {
                Ok(match &skeleton.html {
                    Some(html) => {
                        trace.clear();
                        let says = Said::of(plan);
                        let values = Values::new(skeleton, plan, &says);
                        walk(catalog, html, &values, None, true, &mut |p| {
                            trace.record(p);
                        });
                        said = Some(says);
                        trace.size(skeleton, catalog)
                    }
                    None => 0,
                })
            });
        let plan = result.unwrap_or_else(|_| unreachable!("sizing a skeleton cannot fail"));
        Planned {
            said: said.unwrap_or_else(|| Said::of(&plan)),
            plan,
            html: skeleton.html.is_some().then_some(trace),
        }
    }

    /// One reader's part (`html` or text) as pieces, in order, to `visit`.
    pub fn assemble(
        skeleton: &Skeleton,
        catalog: &Catalog,
        planned: &Planned,
        person: &Person<'_>,
        html: bool,
        visit: &mut dyn FnMut(Piece<'_>),
    ) {
        if html {
            if let Some(trace) = &planned.html {
                trace.replay(person, visit);
            }
        } else {
            let values = Values::new(skeleton, &planned.plan, &planned.said);
            walk(catalog, &skeleton.text, &values, Some(person), false, visit);
        }
    }
}

/// A reader's plan, and their HTML part as the sizing walked it (per-person slots unfilled).
#[derive(Debug)]
pub struct Planned {
    pub plan: Plan,
    html: Option<Trace>,
    /// What the plan says, as the last sizing computed it.
    said: Said,
}

/// A walked part kept as pieces: fixed lines by index, own lines in one buffer.
#[derive(Debug, Default)]
struct Trace {
    pieces: Vec<Traced>,
    own: String,
}

#[derive(Debug, Clone)]
enum Traced {
    Fixed {
        catalog: bool,
        index: usize,
    },
    /// A `\n`-terminated line in `own`, and whether it has per-person slots to fill.
    Own {
        at: std::ops::Range<usize>,
        slots: bool,
    },
}

impl Trace {
    fn clear(&mut self) {
        self.pieces.clear();
        self.own.clear();
    }

    fn record(&mut self, piece: Piece<'_>) {
        self.pieces.push(match piece {
            Piece::Fixed { catalog, index } => Traced::Fixed { catalog, index },
            Piece::Own(line) => {
                let start = self.own.len();
                self.own.push_str(line);
                Traced::Own {
                    at: start..self.own.len(),
                    slots: super::has_slot(line),
                }
            }
        });
    }

    /// The part's size in bytes, slots unfilled (as the reference measures).
    fn size(&self, skeleton: &Skeleton, catalog: &Catalog) -> usize {
        let fixed: usize = self
            .pieces
            .iter()
            .map(|p| match p {
                Traced::Fixed {
                    catalog: true,
                    index,
                } => catalog.fixed[*index].len(),
                Traced::Fixed {
                    catalog: false,
                    index,
                } => skeleton.fixed[*index].len(),
                Traced::Own { .. } => 0,
            })
            .sum();
        fixed + self.own.len()
    }

    /// The pieces again, with `person`'s slots filled — what a walk with them gives: a line is
    /// filled, trimmed at the end, and left out when nothing is left of it (HTML).
    fn replay(&self, person: &Person<'_>, visit: &mut dyn FnMut(Piece<'_>)) {
        let mut filled = String::new();
        for piece in &self.pieces {
            match piece {
                Traced::Fixed { catalog, index } => visit(Piece::Fixed {
                    catalog: *catalog,
                    index: *index,
                }),
                Traced::Own { at, slots: false } => visit(Piece::Own(&self.own[at.clone()])),
                Traced::Own { at, slots: true } => {
                    filled.clear();
                    super::fill_slots_into(&self.own[at.clone()], person, true, &mut filled);
                    let end = filled.trim_end().len();
                    if end == 0 {
                        continue;
                    }
                    filled.truncate(end);
                    filled.push('\n');
                    visit(Piece::Own(&filled));
                }
            }
        }
    }
}

/// The skeleton's model: every per-reader field a value marker, every list of papers a group.
fn mark_values(json: &mut Json) {
    let v = |k: &str| json!(marks::value(k));
    json["preheader"] = v("PRE");
    json["contents"] = v("CONTENTS");
    json["notes"] = json!([marks::value("NOTES")]);
    json["subscriber"]["topics"] = v("TOPICS");
    for (field, key) in [
        ("shown", "SHOWN"),
        ("one", "ONE"),
        ("total", "TOTAL"),
        ("left_out", "LEFTOUT"),
        ("over_cap", "OVERCAP"),
        ("over_size", "OVERSIZE"),
        ("other_topics", "OTHER"),
        ("unmatched", "UNMATCHED"),
        ("left_out_total", "LOT"),
    ] {
        json["count"][field] = v(key);
    }
    json["for_you"] = json!([{ (marks::ITEM_FIELD): "B" }]);
    for (i, s) in json["sections"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .enumerate()
    {
        s[marks::ITEM_FIELD] = json!(format!("SEC{i}"));
        s["papers"] = json!([{ (marks::ITEM_FIELD): format!("S{i}") }]);
        s["left_out"] = v(&format!("L{i}"));
        s["total"] = v(&format!("T{i}"));
    }
}

/// Renders `json` with the given registries: the text part normalized, the HTML part CSS
/// inlined and normalized.
fn render_json(
    renderer: &Renderer,
    text_reg: &Handlebars<'static>,
    html_reg: &Handlebars<'static>,
    json: &Json,
    text_only: bool,
) -> Result<(String, Option<String>), RenderError> {
    let fail = |name: &str, e: &handlebars::RenderError| RenderError::Template {
        location: name.to_owned(),
        message: e.to_string(),
    };
    let text = text_reg
        .render("digest", json)
        .map_err(|e| fail("digest.txt.hbs", &e))?;
    let text = super::normalize_text(&text);
    let html = if text_only {
        None
    } else {
        let raw = html_reg
            .render("digest", json)
            .map_err(|e| fail("digest.html.hbs", &e))?;
        let inlined = renderer
            .css
            .inline(&raw)
            .map_err(|e| RenderError::Css(e.to_string()))?;
        Some(super::normalize_html(&inlined))
    };
    Ok((text, html))
}

/// The papers' parts between the catalog's markers.
fn cut_chunks(part: &str, html: bool, ids: &HashMap<&str, usize>, catalog: &mut Catalog) {
    let mut current: Option<(usize, bool, Vec<String>)> = None;
    for line in part.split_inclusive('\n') {
        let bare = line.trim_end_matches('\n');
        if let Some(tag) = bare
            .strip_prefix(marks::BEGIN)
            .and_then(|t| t.strip_suffix('_'))
        {
            let (kind, id) = tag.split_at(1.min(tag.len()));
            if let Some(&paper) = ids.get(id) {
                current = Some((paper, kind == "b", Vec::new()));
            }
            continue;
        }
        if bare == marks::END {
            if let Some((paper, block, lines)) = current.take() {
                let ops = ops_of(lines.iter().map(String::as_str), &mut catalog.fixed);
                catalog.insert(paper, block, html, ops);
            }
            continue;
        }
        if let Some((_, _, lines)) = &mut current {
            lines.push(line.to_owned());
        }
    }
}

/// Lines as ops: runs of fixed lines joined, lines with slots to fill.
fn ops_of<'a>(lines: impl Iterator<Item = &'a str>, fixed: &mut Vec<String>) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut run = String::new();
    let mut flush = |run: &mut String, ops: &mut Vec<Op>| {
        if !run.is_empty() {
            fixed.push(std::mem::take(run));
            ops.push(Op::Fixed(fixed.len() - 1));
        }
    };
    for line in lines {
        let bare = line.trim_end_matches('\n');
        if bare == marks::CHUNK {
            flush(&mut run, &mut ops);
            ops.push(Op::Chunk);
        } else if super::has_slot(bare) {
            flush(&mut run, &mut ops);
            ops.push(Op::Fill(line::compile(line)));
        } else {
            run.push_str(line);
        }
    }
    flush(&mut run, &mut ops);
    ops
}

/// Lines with their guards and group, before they become a [`Run`].
type Lines = (Vec<(String, bool)>, Option<String>, Vec<String>);

/// A rendered skeleton part as runs of lines with the same guards and group.
fn compile(part: &str, fixed: &mut Vec<String>) -> Part {
    let mut runs: Vec<Lines> = Vec::new();
    for line in part.split_inclusive('\n') {
        let (guards, group, body) = strip_tags(line);
        match runs.last_mut() {
            Some((g, gr, lines)) if *g == guards && *gr == group => lines.push(body.to_owned()),
            _ => runs.push((guards, group, vec![body.to_owned()])),
        }
    }
    Part {
        runs: runs
            .into_iter()
            .map(|(guards, group, lines)| Run {
                guards: guards
                    .iter()
                    .map(|(key, set)| (Key::parse(key), *set))
                    .collect(),
                group: group.as_deref().map(Group::parse),
                ops: ops_of(lines.iter().map(String::as_str), fixed),
            })
            .collect(),
    }
}

/// A line's guards and group, and the rest of it.
fn strip_tags(line: &str) -> (Vec<(String, bool)>, Option<String>, &str) {
    let mut guards = Vec::new();
    let mut group = None;
    let mut rest = line;
    loop {
        let (tag, set) = if let Some(r) = rest.strip_prefix(marks::SET) {
            (r, Some(true))
        } else if let Some(r) = rest.strip_prefix(marks::UNSET) {
            (r, Some(false))
        } else if let Some(r) = rest.strip_prefix(marks::GROUP) {
            (r, None)
        } else {
            return (guards, group, rest);
        };
        let Some((key, after)) = marks::split_key(tag) else {
            return (guards, group, rest);
        };
        match set {
            Some(set) => guards.push((key.to_owned(), set)),
            None => group = Some(key.to_owned()),
        }
        rest = after;
    }
}

/// The strings a reader's plan says (computed once per plan).
#[derive(Debug)]
struct Said {
    preheader: String,
    contents: String,
    notes: String,
    topics: String,
}

impl Said {
    fn of(plan: &Plan) -> Self {
        Self {
            preheader: model::preheader(&plan.view, plan.block.len()),
            contents: model::contents(&plan.view, plan.block.len()),
            notes: plan.left.sentence().unwrap_or_default(),
            topics: plan.topics.join(", "),
        }
    }
}

/// A reader's values, by key.
struct Values<'a> {
    plan: &'a Plan,
    /// Skeleton section → the plan's section, when visible.
    sections: Vec<Option<&'a ViewSection>>,
    said: &'a Said,
}

/// A value as a template prints it.
enum Value<'a> {
    Str(&'a str),
    Number(usize),
}

impl<'a> Values<'a> {
    fn new(skeleton: &Skeleton, plan: &'a Plan, said: &'a Said) -> Self {
        let sections = skeleton
            .sections
            .iter()
            .map(|name| plan.view.sections.iter().find(|s| &s.name == name))
            .collect();
        Self {
            plan,
            sections,
            said,
        }
    }

    fn value(&self, key: Key) -> Value<'_> {
        let p = self.plan;
        let section = |i: usize, n: fn(&ViewSection) -> usize| match self.sections.get(i) {
            Some(s) => Value::Number(s.map_or(0, n)),
            None => Value::Str(""),
        };
        Value::Number(match key {
            Key::Pre => return Value::Str(&self.said.preheader),
            Key::Contents => return Value::Str(&self.said.contents),
            Key::Notes => return Value::Str(&self.said.notes),
            Key::Topics => return Value::Str(&self.said.topics),
            Key::One => return Value::Str(if p.view.shown == 1 { "true" } else { "false" }),
            Key::Shown => p.view.shown,
            Key::Total => p.total,
            Key::LeftOut => p.view.left_out,
            Key::OverCap => p.left.over_cap,
            Key::OverSize => p.left.over_size,
            Key::Other => p.view.other_topics,
            Key::Unmatched => p.left.no_section,
            Key::LeftOutTotal => p.left.total(),
            Key::SectionLeft(i) => return section(i, |s| s.left_out),
            Key::SectionTotal(i) => return section(i, |s| s.left_out + s.papers.len()),
            Key::HasBlock
            | Key::AnySection
            | Key::Why
            | Key::Section(_)
            | Key::SectionHas(_)
            | Key::Unknown => return Value::Str(""),
        })
    }

    /// Whether the value is set (as Handlebars' `if` sees it).
    fn is_set(&self, key: Key) -> bool {
        match key {
            Key::HasBlock => !self.plan.block.is_empty(),
            Key::AnySection => self.sections.iter().any(Option::is_some),
            Key::One => self.plan.view.shown == 1,
            Key::Section(i) => matches!(self.sections.get(i), Some(Some(_))),
            Key::SectionHas(i) => {
                matches!(self.sections.get(i), Some(Some(s)) if !s.papers.is_empty())
            }
            _ => match self.value(key) {
                Value::Str(v) => !v.is_empty() && v != "0",
                Value::Number(n) => n != 0,
            },
        }
    }
}

/// Walks one part for a reader: kept runs, groups repeated per paper, lines filled. Without a
/// `person`, per-person slots stay as they are (for sizing, as the reference measures).
fn walk(
    catalog: &Catalog,
    part: &Part,
    values: &Values<'_>,
    person: Option<&Person<'_>>,
    html: bool,
    visit: &mut dyn FnMut(Piece<'_>),
) {
    let plan = values.plan;
    let (mut line, mut filled) = (String::new(), String::new());
    let mut emit_fill = |segs: &[Seg], why: Option<&str>, visit: &mut dyn FnMut(Piece<'_>)| {
        line.clear();
        fill(segs, values, why, html, &mut line);
        let done = match person {
            Some(p) if super::has_slot(&line) => {
                filled.clear();
                super::fill_slots_into(&line, p, html, &mut filled);
                &mut filled
            }
            _ => &mut line,
        };
        let end = done.trim_end().len();
        if html && end == 0 {
            return;
        }
        done.truncate(end);
        done.push('\n');
        visit(Piece::Own(done));
    };
    let mut paper_ops = |run: &Run, paper: usize, why: Option<&str>| {
        for op in &run.ops {
            match op {
                Op::Fixed(index) => visit(Piece::Fixed {
                    catalog: false,
                    index: *index,
                }),
                Op::Fill(segs) => emit_fill(segs, None, visit),
                Op::Chunk => {
                    let in_block = run.group == Some(Group::Block);
                    for op in catalog.chunk(paper, in_block, html) {
                        match op {
                            Op::Fixed(index) => visit(Piece::Fixed {
                                catalog: true,
                                index: *index,
                            }),
                            Op::Fill(segs) => emit_fill(segs, why, visit),
                            Op::Chunk => {}
                        }
                    }
                }
            }
        }
    };
    for run in &part.runs {
        if !run.guards.iter().all(|&(k, set)| values.is_set(k) == set) {
            continue;
        }
        match run.group {
            None => paper_ops(run, usize::MAX, None),
            Some(Group::Block) => {
                for (i, why) in &plan.block {
                    paper_ops(run, *i, Some(why));
                }
            }
            Some(Group::Section(g)) => {
                if let Some(Some(s)) = values.sections.get(g) {
                    for &i in &s.papers {
                        paper_ops(run, i, None);
                    }
                }
            }
            Some(Group::Unknown) => {}
        }
    }
}

/// Fills a line's segments for a reader into `out` (values HTML-escaped in the HTML part).
fn fill(segs: &[Seg], values: &Values<'_>, why: Option<&str>, html: bool, out: &mut String) {
    for seg in segs {
        match seg {
            Seg::Text(text) => out.push_str(text),
            Seg::Value(Key::Why) => {
                let why = why.unwrap_or_default();
                let why = match super::has_slot(why) {
                    true => Cow::Owned(model::defuse(why.to_owned())),
                    false => Cow::Borrowed(why),
                };
                push_text(&why, html, out);
            }
            Seg::Value(key) => match values.value(*key) {
                Value::Str(s) => push_text(s, html, out),
                Value::Number(n) => out.push_str(itoa::Buffer::new().format(n)),
            },
            Seg::If { key, set, unset } => {
                let branch = if values.is_set(*key) { set } else { unset };
                fill(branch, values, why, html, out);
            }
            Seg::Wrap {
                width,
                indent,
                first,
                text,
            } => {
                let mut filled = String::new();
                fill(text, values, why, false, &mut filled);
                out.push_str(&super::wrap_text(&filled, *width, indent, first));
            }
        }
    }
}

fn push_text(s: &str, html: bool, out: &mut String) {
    if html {
        escape_text(s, out);
    } else {
        out.push_str(s);
    }
}

/// Text as the CSS inliner writes a text node (`&`, `<`, `>` and no-break spaces escaped),
/// appended to `out`.
fn escape_text(s: &str, out: &mut String) {
    let mut rest = s;
    // The characters to escape: `&`, `<`, `>`, and U+00A0 (its UTF-8 bytes start with 0xC2).
    while let Some(at) = rest
        .bytes()
        .position(|b| matches!(b, b'&' | b'<' | b'>' | 0xc2))
    {
        out.push_str(&rest[..at]);
        let c = rest[at..].chars().next().unwrap_or_default();
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\u{a0}' => out.push_str("&nbsp;"),
            c => out.push(c),
        }
        rest = &rest[at + c.len_utf8()..];
    }
    out.push_str(rest);
}

mod tests_on_fixtures;
