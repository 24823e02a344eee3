//! `#[derive(ReplicateKind)]` on a fieldless enum.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Error, Expr, ExprLit, Fields, Lit};

pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let Data::Enum(data) = &input.data else {
        return Err(Error::new_spanned(
            input,
            "ReplicateKind is for fieldless enums",
        ));
    };
    if data.variants.is_empty() {
        return Err(Error::new_spanned(input, "an entity kind needs a variant"));
    }
    let name = &input.ident;
    let mut variants = Vec::new();
    let mut next: u64 = 0;
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            return Err(Error::new_spanned(
                variant,
                "ReplicateKind variants carry no fields",
            ));
        }
        let value = match &variant.discriminant {
            None => next,
            Some((
                _,
                Expr::Lit(ExprLit {
                    lit: Lit::Int(int), ..
                }),
            )) => int.base10_parse::<u64>()?,
            Some((_, expr)) => {
                return Err(Error::new_spanned(
                    expr,
                    "a kind's discriminant is a non-negative integer literal",
                ));
            }
        };
        if value > u64::from(u16::MAX) {
            return Err(Error::new_spanned(variant, "kinds above 65535 do not fit"));
        }
        variants.push((&variant.ident, value as u32));
        next = value + 1;
    }
    let largest = variants.iter().map(|v| v.1).max().unwrap_or(0);
    let bits = 32 - largest.leading_zeros();
    let idents: Vec<_> = variants.iter().map(|v| v.0).collect();
    let values: Vec<_> = variants.iter().map(|v| v.1).collect();
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics ::snapwire_shared::snapshot::ReplicateKind for #name #ty_generics #where_clause {
            const BITS: u32 = #bits;
            fn to_bits(self) -> u32 {
                match self {
                    #( #name::#idents => #values, )*
                }
            }
            fn from_bits(bits: u32) -> ::core::option::Option<Self> {
                match bits {
                    #( #values => ::core::option::Option::Some(#name::#idents), )*
                    _ => ::core::option::Option::None,
                }
            }
        }
    })
}
