//! Messages for readers with personal fields (a "For you" block, mutes): each reader's ranking,
//! then their email spliced from parts shared by the whole send — the catalog of papers and a
//! skeleton per topics and format, whose fixed lines are quoted-printable encoded once — so
//! that only the reader's own lines are encoded per message. When the templates cannot be
//! spliced, each email is rendered whole (the reference, slower).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::message::{self, BuildError, MessageMeta};
use super::{DeliverError, Prepared};
use crate::edition::EditionId;
use crate::render::{Catalog, Person, Piece, Reader, Skeleton, Splicer, VariantSpec};
use crate::subscribers::Subscriber;

/// A skeleton or the catalog with its fixed lines encoded.
struct Encoded<T> {
    parts: Arc<T>,
    fixed: Vec<Box<[u8]>>,
}

fn encode(fixed: &[String]) -> Vec<Box<[u8]>> {
    fixed.iter().map(|f| super::qp::encode(f).into()).collect()
}

/// Encoded skeletons by their topics.
type Skeletons = HashMap<Vec<String>, Arc<Encoded<Skeleton>>>;

/// What personal messages of one send share.
#[derive(Default)]
pub(super) struct Shared {
    splicer: OnceLock<Option<Splicer>>,
    catalog: OnceLock<Option<Encoded<Catalog>>>,
    /// By format (HTML, text only), then by topics.
    skeletons: Mutex<[Skeletons; 2]>,
}

/// The splicer when splices are usable with these templates.
fn splicer<'a>(prepared: &Prepared, shared: &'a Shared) -> Option<&'a Splicer> {
    shared
        .splicer
        .get_or_init(|| Splicer::new(&prepared.renderer).ok().filter(|s| s.usable))
        .as_ref()
}

/// The message for a reader with personal fields.
pub(super) fn build(
    prepared: &Prepared,
    shared: &Shared,
    spec: &VariantSpec,
    s: &Subscriber,
    person: &Person<'_>,
    meta: &MessageMeta<'_>,
    edition: &EditionId,
) -> Result<Vec<u8>, DeliverError> {
    let settings = &prepared.settings;
    let limit = spec.cap.min(settings.digest.max_papers);
    let ranking = prepared.index.rank(&prepared.digest, &s.profile, limit);
    let spliced = splicer(prepared, shared).and_then(|splicer| {
        let catalog = shared.catalog.get_or_init(|| {
            let c = splicer
                .catalog(
                    &prepared.renderer,
                    &prepared.digest,
                    &prepared.edition,
                    &settings.digest,
                )
                .ok()?;
            Some(Encoded {
                fixed: encode(&c.fixed),
                parts: Arc::new(c),
            })
        });
        Some((splicer, catalog.as_ref()?))
    });
    let Some((splicer, catalog)) = spliced else {
        let rendered = prepared.renderer.render_personal(
            &prepared.digest,
            spec,
            &prepared.edition,
            &settings.digest,
            &ranking,
            &s.profile.mute,
        )?;
        let variant = message::EncodedVariant::new(&rendered);
        return Ok(variant.build(settings, edition, s, person, meta)?);
    };
    let skeleton = skeleton(prepared, shared, splicer, spec)?;
    let reader = Reader {
        spec,
        ranking: &ranking,
        mute: &s.profile.mute,
    };
    let planned = splicer.plan(
        &skeleton.parts,
        &catalog.parts,
        &prepared.digest,
        &settings.digest,
        &reader,
    );
    let write = |html: bool, out: &mut Vec<u8>| {
        let mut own = String::with_capacity(4096);
        Splicer::assemble(
            &skeleton.parts,
            &catalog.parts,
            &planned,
            person,
            html,
            &mut |p| match p {
                Piece::Own(line) => own.push_str(line),
                Piece::Fixed { catalog: c, index } => {
                    if !own.is_empty() {
                        super::qp::encode_into(&own, out);
                        own.clear();
                    }
                    let fixed = if c { &catalog.fixed } else { &skeleton.fixed };
                    out.extend_from_slice(&fixed[index]);
                }
            },
        );
        if !own.is_empty() {
            super::qp::encode_into(&own, out);
        }
    };
    let bytes: Result<Vec<u8>, BuildError> = message::assemble(
        settings,
        edition,
        s,
        meta,
        64 * 1024,
        &mut |out| write(false, out),
        (!spec.text_only)
            .then_some(&mut |out: &mut Vec<u8>| write(true, out))
            .map(|f| f as &mut dyn FnMut(&mut Vec<u8>)),
    );
    Ok(bytes?)
}

/// The skeleton of `spec`'s topics and format, rendered and encoded on first use (outside the
/// cache's lock, so that workers build in parallel).
fn skeleton(
    prepared: &Prepared,
    shared: &Shared,
    splicer: &Splicer,
    spec: &VariantSpec,
) -> Result<Arc<Encoded<Skeleton>>, DeliverError> {
    let format = usize::from(spec.text_only);
    if let Some(s) = super::lock(&shared.skeletons)[format].get(spec.topics.as_slice()) {
        return Ok(Arc::clone(s));
    }
    let skeleton = splicer.skeleton(
        &prepared.renderer,
        &prepared.digest,
        spec,
        &prepared.edition,
        &prepared.settings.digest,
    )?;
    let encoded = Arc::new(Encoded {
        fixed: encode(&skeleton.fixed),
        parts: Arc::new(skeleton),
    });
    super::lock(&shared.skeletons)[format].insert(spec.topics.clone(), Arc::clone(&encoded));
    Ok(encoded)
}
