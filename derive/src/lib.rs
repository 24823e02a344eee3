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

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    /// The error a derive gives for `input`, or panics if it expands.
    fn error(input: syn::DeriveInput) -> String {
        match crate::replicate::expand(&input) {
            Ok(_) => panic!("expanded"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn mistakes_are_compile_errors_that_name_the_problem() {
        let cases: [(syn::DeriveInput, &str); 9] = [
            (
                parse_quote! { struct S { #[replicate(bits = 40)] x: i32 } },
                "bits is 1..=32",
            ),
            (
                parse_quote! { struct S { #[replicate(bits = 9)] x: u8 } },
                "bits is 1..=8",
            ),
            (parse_quote! { struct S { x: f32 } }, "needs `scale`"),
            (
                parse_quote! { struct S { #[replicate(scale = 10)] x: i32 } },
                "scale is for float fields",
            ),
            (
                parse_quote! { struct S { #[replicate(velocity = "v")] x: i32 } },
                "no replicated field `v`",
            ),
            (
                parse_quote! { struct S { #[replicate(group = "a")] x: i32, y: i32, #[replicate(group = "a")] z: i32 } },
                "must be adjacent",
            ),
            (
                parse_quote! { struct S { #[replicate(chunk = 0)] x: i32 } },
                "chunk is 1..=16",
            ),
            (
                parse_quote! { struct S { #[replicate(wibble)] x: i32 } },
                "expected kind, skip, bits",
            ),
            (parse_quote! { struct S { x: String } }, "mark others"),
        ];
        for (input, expected) in cases {
            let got = error(input);
            assert!(got.contains(expected), "{got:?} lacks {expected:?}");
        }
    }

    #[test]
    fn a_valid_state_expands_to_its_layout() {
        let input: syn::DeriveInput = parse_quote! {
            struct S {
                #[replicate(group = "m", velocity = "vx")] x: i32,
                #[replicate(group = "m", bits = 10)] vx: i16,
                flag: bool,
                #[replicate(skip)] cache: Vec<u8>,
            }
        };
        let code = crate::replicate::expand(&input)
            .expect("expands")
            .to_string();
        assert!(code.contains("type Words = [u32 ; 3usize]"), "{code}");
        assert!(
            code.contains("groups : & [(0usize , 2usize) , (2usize , 3usize)]"),
            "{code}"
        );
        assert!(code.contains("motion : & [(0usize , 1usize)]"), "{code}");
    }

    #[test]
    fn kinds_need_unit_variants_and_small_discriminants() {
        let input: syn::DeriveInput = parse_quote! { enum K { A, B(u8) } };
        let err = crate::kind::expand(&input)
            .map(|_| ())
            .expect_err("an error")
            .to_string();
        assert!(err.contains("carry no fields"), "{err}");
        let input: syn::DeriveInput = parse_quote! { enum K { A = 70000 } };
        let err = crate::kind::expand(&input)
            .map(|_| ())
            .expect_err("an error")
            .to_string();
        assert!(err.contains("do not fit"), "{err}");
    }
}
