//! Derives for snapwire's replication: a game declares its entity state as a plain struct and
//! gets the delta codec's view of it, field by field.
//!
//! - [`Replicate`] (`replicate.rs`): a struct's fields as 32-bit words plus their wire layout
//!   (widths, varint chunks, change-mask groups, dead-reckoned pairs). The codec in
//!   `snapwire_shared::snapshot` does the encoding; this crate only describes the struct to it.
//! - [`ReplicateKind`] (`kind.rs`): a fieldless enum as an entity kind.
//! - `attrs.rs`: parsing `#[replicate(...)]` into field specs, with errors that point at the
//!   attribute.
//!
//! Generated code names `::snapwire_shared`, so the shared crate itself says
//! `extern crate self as snapwire_shared`.

mod attrs;
mod kind;
mod replicate;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Implements `snapwire_shared::snapshot::Replicate` for a struct with named fields.
///
/// Field attributes (all optional; fields are coded in declaration order):
///
/// - `#[replicate(kind)]`: the entity's kind, a type implementing `ReplicateKind`; at most one.
/// - `#[replicate(skip)]`: not replicated; a client sees `Default::default()`.
/// - `bits = N`: width on the wire (1..=32, at most the type's width; default the type's width,
///   32 for floats). The value must fit: a signed field in `-(2^(N-1))..2^(N-1)`, unsigned in
///   `0..2^N`.
/// - `scale = S`: required on `f32`/`f64` fields: the wire carries `round(value * S)` as an
///   integer of `bits` width.
/// - `chunk = N`: the residual's varint chunk (1..=16, default 4): small for fields that move a
///   little, large for fields that jump.
/// - `group = "name"`: adjacent fields with the same group share one "changed" bit in the change
///   mask (then a bit each); a field without a group has its own bit. Fields that change
///   together (motion) or rarely (health, score) belong in a group.
/// - `velocity = "field"`: dead reckoning: this field is predicted as its baseline value plus
///   the named field's baseline value times the ticks since the baseline, so constant motion
///   costs no bits.
#[proc_macro_derive(Replicate, attributes(replicate))]
pub fn derive_replicate(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    replicate::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Implements `snapwire_shared::snapshot::ReplicateKind` for a fieldless enum: its
/// discriminants (non-negative integer literals, or implicit) are the wire values, and the width
/// is what the largest needs.
#[proc_macro_derive(ReplicateKind)]
pub fn derive_replicate_kind(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    kind::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
