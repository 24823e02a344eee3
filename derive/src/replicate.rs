//! `#[derive(Replicate)]`: the words, the layout and the inverse, from the field specs.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Error, Fields};

use crate::attrs::{self, Coded, Prim, Role};

pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let Data::Struct(data) = &input.data else {
        return Err(Error::new_spanned(input, "Replicate is for structs"));
    };
    let Fields::Named(named) = &data.fields else {
        return Err(Error::new_spanned(input, "Replicate needs named fields"));
    };
    let mut kind = None;
    let mut skipped = Vec::new();
    let mut coded: Vec<Coded> = Vec::new();
    for field in &named.named {
        match attrs::parse(field)? {
            Role::Kind if kind.is_some() => {
                return Err(Error::new_spanned(field, "only one field is the kind"));
            }
            Role::Kind => kind = Some((field.ident.clone(), field.ty.clone())),
            Role::Skip => skipped.push(field.ident.clone()),
            Role::Coded(c) => coded.push(c),
        }
    }
    if coded.is_empty() {
        return Err(Error::new_spanned(
            input,
            "Replicate needs a replicated field",
        ));
    }
    let groups = groups(&coded)?;
    let motion = motion(&coded)?;

    let name = &input.ident;
    let n = coded.len();
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let shared = quote!(::snapwire_shared::snapshot::replicate);

    let field_layouts = coded.iter().map(|c| {
        let name = c.ident.to_string();
        let (width, chunk, signed) = (c.width, c.chunk, c.prim.is_signed());
        quote! {
            #shared::FieldLayout { name: #name, width: #width, chunk: #chunk, signed: #signed }
        }
    });
    let group_pairs = groups.iter().map(|(s, e)| quote!((#s, #e)));
    let motion_pairs = motion.iter().map(|(p, v)| quote!((#p, #v)));
    let (kind_bits, kind_of, kind_from) = match &kind {
        Some((ident, ty)) => (
            quote!(<#ty as ::snapwire_shared::snapshot::ReplicateKind>::BITS),
            quote!(::snapwire_shared::snapshot::ReplicateKind::to_bits(self.#ident)),
            quote!(#ident: <#ty as ::snapwire_shared::snapshot::ReplicateKind>::from_bits(kind)?,),
        ),
        None => (quote!(0), quote!(0), quote!()),
    };
    // A kind-less state has one kind, 0; anything else from a peer is refused.
    let kind_check = if kind.is_none() {
        quote!(if kind != 0 {
            return ::core::option::Option::None;
        })
    } else {
        quote!()
    };
    // The kind and skipped fields stay as they are (`..*self`, when there are any).
    let keep_rest = if kind.is_some() || !skipped.is_empty() {
        quote!(..*self)
    } else {
        quote!()
    };
    let to_words = coded.iter().map(|c| to_word(c, &shared));
    let from_words: Vec<_> = coded
        .iter()
        .enumerate()
        .map(|(i, c)| from_word(i, c, &shared))
        .collect();
    let defaults = skipped
        .iter()
        .map(|ident| quote!(#ident: ::core::default::Default::default(),));

    Ok(quote! {
        impl #impl_generics #shared::Replicate for #name #ty_generics #where_clause {
            type Words = [u32; #n];

            const LAYOUT: #shared::Layout = #shared::Layout {
                kind_bits: #kind_bits,
                fields: &[#(#field_layouts),*],
                groups: &[#(#group_pairs),*],
                motion: &[#(#motion_pairs),*],
            };

            #[inline]
            fn kind(&self) -> u32 {
                #kind_of
            }

            #[inline]
            fn words(&self) -> [u32; #n] {
                [#(#to_words),*]
            }

            #[inline]
            fn with_words(&self, words: &[u32; #n]) -> Self {
                Self {
                    #(#from_words)*
                    #keep_rest
                }
            }

            #[inline]
            fn from_words(kind: u32, words: &[u32; #n]) -> ::core::option::Option<Self> {
                #kind_check
                ::core::option::Option::Some(Self {
                    #kind_from
                    #(#from_words)*
                    #(#defaults)*
                })
            }
        }
    })
}

/// Change-mask groups: runs of fields with the same group name; a field without one is alone.
fn groups(coded: &[Coded]) -> syn::Result<Vec<(usize, usize)>> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut closed: Vec<&str> = Vec::new();
    for (i, c) in coded.iter().enumerate() {
        let same =
            i > 0 && matches!((&coded[i - 1].group, &c.group), (Some(a), Some(b)) if a.0 == b.0);
        if same {
            if let Some(last) = out.last_mut() {
                if last.1 - last.0 == 32 {
                    let span = c
                        .group
                        .as_ref()
                        .map_or_else(proc_macro2::Span::call_site, |g| g.1);
                    return Err(Error::new(span, "a group holds at most 32 fields"));
                }
                last.1 = i + 1;
            }
            continue;
        }
        if let Some((g, span)) = &c.group {
            if closed.contains(&g.as_str()) {
                return Err(Error::new(
                    *span,
                    format!("the fields of group \"{g}\" must be adjacent"),
                ));
            }
            closed.push(g);
        }
        out.push((i, i + 1));
    }
    Ok(out)
}

/// Dead-reckoned pairs (position index, velocity index).
fn motion(coded: &[Coded]) -> syn::Result<Vec<(usize, usize)>> {
    let mut out = Vec::new();
    for (p, c) in coded.iter().enumerate() {
        let Some(lit) = &c.velocity else { continue };
        let name = lit.value();
        let v = coded
            .iter()
            .position(|f| f.ident == name)
            .ok_or_else(|| Error::new(lit.span(), format!("no replicated field `{name}`")))?;
        if v == p {
            return Err(Error::new(lit.span(), "a field is not its own velocity"));
        }
        if coded[v].velocity.is_some() {
            return Err(Error::new(
                lit.span(),
                "a velocity cannot itself be dead-reckoned",
            ));
        }
        out.push((p, v));
    }
    Ok(out)
}

/// The expression for a field's canonical word.
fn to_word(c: &Coded, shared: &TokenStream) -> TokenStream {
    let ident = &c.ident;
    let width = c.width;
    match (c.prim, c.scale) {
        (Prim::Bool, _) => quote!(u32::from(self.#ident)),
        (Prim::F32 | Prim::F64, Some(scale)) => {
            quote!(#shared::quantize_float(f64::from(self.#ident), #scale, #width))
        }
        (Prim::I8 | Prim::I16 | Prim::I32, _) => {
            quote!(#shared::mask(i32::from(self.#ident) as u32, #width))
        }
        _ => quote!(#shared::mask(u32::from(self.#ident), #width)),
    }
}

/// The struct field initialiser that reads a field back from `words[i]`.
fn from_word(i: usize, c: &Coded, shared: &TokenStream) -> TokenStream {
    let ident = &c.ident;
    let width = c.width;
    let word = quote!(words[#i]);
    let value = match (c.prim, c.scale) {
        (Prim::Bool, _) => quote!(#word & 1 != 0),
        (Prim::F32, Some(scale)) => quote!(#shared::dequantize_float(#word, #scale, #width) as f32),
        (Prim::F64, Some(scale)) => quote!(#shared::dequantize_float(#word, #scale, #width)),
        (Prim::I8, _) => quote!(#shared::sign_extend(#word, #width) as i8),
        (Prim::I16, _) => quote!(#shared::sign_extend(#word, #width) as i16),
        (Prim::I32, _) => quote!(#shared::sign_extend(#word, #width)),
        (Prim::U8, _) => quote!(#shared::mask(#word, #width) as u8),
        (Prim::U16, _) => quote!(#shared::mask(#word, #width) as u16),
        _ => quote!(#shared::mask(#word, #width)),
    };
    quote!(#ident: #value,)
}
