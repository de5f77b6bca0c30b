//! The skeleton's Handlebars helpers: `if`, `unless` and `each` that, on a per-reader value,
//! render every branch and tag its lines instead of choosing one, so that the choice can be made
//! per reader on the rendered (and CSS-inlined) text. On anything else they are Handlebars' own.

use handlebars::{
    BlockContext, Context, Handlebars, Helper, HelperDef, HelperResult, JsonTruthy, JsonValue,
    Output, RenderContext, RenderErrorReason, Renderable, StringOutput, Template,
};

use super::marks;

/// The per-reader value a helper parameter stands for, as its key: a value marker string, a
/// group of skeleton papers (whether the group has any), the sections (whether any is visible),
/// or a list of value markers (whether the value is set).
pub(super) fn value_key(v: &JsonValue) -> Option<String> {
    match v {
        JsonValue::String(s) => marks::value_key(s).map(str::to_owned),
        JsonValue::Array(items) => match items.first()? {
            JsonValue::Object(o) => {
                let tag = o.get(marks::ITEM_FIELD)?.as_str()?;
                Some(match tag.strip_prefix("SEC") {
                    Some(_) => marks::ANY_SECTION.to_owned(),
                    None => marks::has_key(tag),
                })
            }
            JsonValue::String(s) => marks::value_key(s).map(str::to_owned),
            _ => None,
        },
        _ => None,
    }
}

/// `if` / `unless`.
pub(super) struct If {
    pub(super) positive: bool,
}

impl HelperDef for If {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let param = h
            .param(0)
            .ok_or(RenderErrorReason::ParamNotFoundForIndex("if", 0))?;
        let Some(key) = value_key(param.value()) else {
            // Handlebars' own `if` / `unless`.
            let zero = h
                .hash_get("includeZero")
                .and_then(|v| v.value().as_bool())
                .unwrap_or(false);
            let chosen = if param.value().is_truthy(zero) == self.positive {
                h.template()
            } else {
                h.inverse()
            };
            return match chosen {
                Some(t) => t.render(r, ctx, rc, out),
                None => Ok(()),
            };
        };
        let yes = render(h.template(), r, ctx, rc)?;
        let no = render(h.inverse(), r, ctx, rc)?;
        let (when_set, when_unset) = if self.positive { (yes, no) } else { (no, yes) };
        out.write(&tag_branches(&key, &when_set, &when_unset))?;
        Ok(())
    }
}

fn render<'reg: 'rc, 'rc>(
    t: Option<&'rc Template>,
    r: &'reg Handlebars<'reg>,
    ctx: &'rc Context,
    rc: &mut RenderContext<'reg, 'rc>,
) -> Result<String, handlebars::RenderError> {
    let mut s = StringOutput::new();
    if let Some(t) = t {
        t.render(r, ctx, rc, &mut s)?;
    }
    Ok(s.into_string().unwrap_or_default())
}

/// Both branches of a conditional on `key`: inline when neither has a line break, else every
/// line of each guarded. Anything else cannot be chosen per line, and poisons the skeleton.
fn tag_branches(key: &str, when_set: &str, when_unset: &str) -> String {
    if !when_set.contains('\n') && !when_unset.contains('\n') {
        return marks::inline_if(key, when_set, when_unset);
    }
    match (
        tag_lines(when_set, &marks::guard(key, true)),
        tag_lines(when_unset, &marks::guard(key, false)),
    ) {
        (Some(a), Some(b)) => a + &b,
        _ => marks::POISON.to_owned(),
    }
}

/// Every line of `s` (which must end with a line break, or be empty) prefixed with `tag`.
fn tag_lines(s: &str, tag: &str) -> Option<String> {
    if s.is_empty() {
        return Some(String::new());
    }
    if !s.ends_with('\n') {
        return None;
    }
    Some(
        s.split_inclusive('\n')
            .map(|l| format!("{tag}{l}"))
            .collect(),
    )
}

/// `each`.
pub(super) struct Each;

impl HelperDef for Each {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let param = h
            .param(0)
            .ok_or(RenderErrorReason::ParamNotFoundForIndex("each", 0))?;
        let path = param.context_path().cloned();
        let (items, keys): (Vec<&JsonValue>, Option<Vec<&String>>) = match param.value() {
            JsonValue::Array(a) => (a.iter().collect(), None),
            JsonValue::Object(o) => (o.values().collect(), Some(o.keys().collect())),
            _ => (Vec::new(), None),
        };
        let each_item = |i: usize, rc: &mut RenderContext<'reg, 'rc>| {
            let mut block = BlockContext::new();
            let step = keys
                .as_ref()
                .map_or_else(|| i.to_string(), |k| k[i].clone());
            match &path {
                Some(p) => {
                    let mut p = p.clone();
                    p.push(step);
                    *block.base_path_mut() = p;
                }
                None => block.set_base_value(items[i].clone()),
            }
            block.set_local_var("first", JsonValue::Bool(i == 0));
            block.set_local_var("last", JsonValue::Bool(i + 1 == items.len()));
            block.set_local_var("index", JsonValue::from(i));
            if let Some(k) = &keys {
                block.set_local_var("key", JsonValue::from(k[i].as_str()));
            }
            rc.push_block(block);
            let body = render(h.template(), r, ctx, rc);
            rc.pop_block();
            body
        };
        let Some(key) = value_key(param.value()) else {
            // Handlebars' own `each` (block parameters aside, which no built-in template uses).
            if items.is_empty() {
                return match h.inverse() {
                    Some(t) => t.render(r, ctx, rc, out),
                    None => Ok(()),
                };
            }
            for i in 0..items.len() {
                out.write(&each_item(i, rc)?)?;
            }
            return Ok(());
        };
        let tag = |i: usize| -> Option<String> {
            let o = items[i].as_object()?;
            o.get(marks::ITEM_FIELD)?.as_str().map(str::to_owned)
        };
        let mut text = String::new();
        match tag(0) {
            // The sections: each rendered, its lines guarded by its being visible.
            Some(t) if t.starts_with("SEC") => {
                for i in 0..items.len() {
                    let body = each_item(i, rc)?;
                    let guard = marks::guard(&tag(i).unwrap_or_default(), true);
                    text += &tag_lines(&body, &guard).unwrap_or_else(|| marks::POISON.into());
                }
            }
            // A group of papers: its one item rendered as the template of every paper.
            Some(group) => {
                let body = each_item(0, rc)?;
                text += &tag_lines(&body, &marks::group(&group))
                    .unwrap_or_else(|| marks::POISON.into());
            }
            // A list of values (`notes`): at most one, there when set.
            None => {
                let body = each_item(0, rc)?;
                text += &tag_branches(&key, &body, "");
            }
        }
        out.write(&text)?;
        Ok(())
    }
}
