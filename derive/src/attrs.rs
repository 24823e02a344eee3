//! `#[replicate(...)]` on a field, parsed into what the generator needs. Every mistake is a
//! compile error at the attribute or field it is about.

use proc_macro2::Span;
use syn::{Error, Field, Ident, LitFloat, LitInt, LitStr, Type};

/// What a field is to the codec.
pub enum Role {
    Kind,
    Skip,
    Coded(Coded),
}

/// A field on the wire.
pub struct Coded {
    pub ident: Ident,
    pub prim: Prim,
    pub width: u32,
    pub chunk: u32,
    pub scale: Option<f64>,
    pub group: Option<(String, Span)>,
    pub velocity: Option<LitStr>,
}

/// The field types a derive can code.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Prim {
    U8,
    U16,
    U32,
    I8,
    I16,
    I32,
    Bool,
    F32,
    F64,
}

impl Prim {
    fn of(ty: &Type) -> Option<Prim> {
        let Type::Path(path) = ty else { return None };
        let last = path.path.segments.last()?;
        Some(match last.ident.to_string().as_str() {
            "u8" => Prim::U8,
            "u16" => Prim::U16,
            "u32" => Prim::U32,
            "i8" => Prim::I8,
            "i16" => Prim::I16,
            "i32" => Prim::I32,
            "bool" => Prim::Bool,
            "f32" => Prim::F32,
            "f64" => Prim::F64,
            _ => return None,
        })
    }

    /// The most bits the type can put on the wire.
    fn max_width(self) -> u32 {
        match self {
            Prim::Bool => 1,
            Prim::U8 | Prim::I8 => 8,
            Prim::U16 | Prim::I16 => 16,
            Prim::U32 | Prim::I32 | Prim::F32 | Prim::F64 => 32,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, Prim::F32 | Prim::F64)
    }

    pub fn is_signed(self) -> bool {
        matches!(
            self,
            Prim::I8 | Prim::I16 | Prim::I32 | Prim::F32 | Prim::F64
        )
    }
}

/// Reads a field's `#[replicate(...)]` attributes.
pub fn parse(field: &Field) -> syn::Result<Role> {
    let mut kind = false;
    let mut skip = false;
    let mut bits: Option<(u32, Span)> = None;
    let mut chunk: Option<u32> = None;
    let mut scale: Option<(f64, Span)> = None;
    let mut group = None;
    let mut velocity = None;
    for attr in field
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("replicate"))
    {
        attr.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(Ident::to_string);
            match key.as_deref() {
                Some("kind") => kind = true,
                Some("skip") => skip = true,
                Some("bits") => {
                    let lit: LitInt = meta.value()?.parse()?;
                    bits = Some((lit.base10_parse()?, lit.span()));
                }
                Some("chunk") => {
                    let lit: LitInt = meta.value()?.parse()?;
                    let n: u32 = lit.base10_parse()?;
                    if !(1..=16).contains(&n) {
                        return Err(Error::new(lit.span(), "chunk is 1..=16"));
                    }
                    chunk = Some(n);
                }
                Some("scale") => {
                    let value = meta.value()?;
                    let (s, span) = if value.peek(LitFloat) {
                        let lit: LitFloat = value.parse()?;
                        (lit.base10_parse::<f64>()?, lit.span())
                    } else {
                        let lit: LitInt = value.parse()?;
                        (lit.base10_parse::<f64>()?, lit.span())
                    };
                    if !(s.is_finite() && s > 0.0) {
                        return Err(Error::new(span, "scale is a positive number"));
                    }
                    scale = Some((s, span));
                }
                Some("group") => {
                    let lit: LitStr = meta.value()?.parse()?;
                    group = Some((lit.value(), lit.span()));
                }
                Some("velocity") => velocity = Some(meta.value()?.parse::<LitStr>()?),
                _ => {
                    return Err(
                        meta.error("expected kind, skip, bits, chunk, scale, group or velocity")
                    );
                }
            }
            Ok(())
        })?;
    }
    let Some(ident) = field.ident.clone() else {
        return Err(Error::new_spanned(field, "Replicate needs named fields"));
    };
    if kind || skip {
        let extra = bits.is_some()
            || chunk.is_some()
            || scale.is_some()
            || group.is_some()
            || velocity.is_some();
        if extra || (kind && skip) {
            return Err(Error::new_spanned(
                field,
                "a kind or skipped field takes no other replicate options",
            ));
        }
        return Ok(if kind { Role::Kind } else { Role::Skip });
    }
    let prim = Prim::of(&field.ty).ok_or_else(|| {
        Error::new_spanned(
            &field.ty,
            "replicated fields are u8/u16/u32/i8/i16/i32/bool, or f32/f64 with `scale`; \
             mark others #[replicate(skip)]",
        )
    })?;
    let width = match bits {
        None => prim.max_width(),
        Some((n, span)) if n == 0 || n > prim.max_width() => {
            return Err(Error::new(
                span,
                format!("bits is 1..={} for this type", prim.max_width()),
            ));
        }
        Some((n, _)) => n,
    };
    let scale = match (prim.is_float(), scale) {
        (true, Some((s, _))) => Some(s),
        (true, None) => {
            return Err(Error::new_spanned(
                &field.ty,
                "a float field needs `scale` (the wire carries round(value * scale))",
            ));
        }
        (false, Some((_, span))) => return Err(Error::new(span, "scale is for float fields")),
        (false, None) => None,
    };
    Ok(Role::Coded(Coded {
        ident,
        prim,
        width,
        chunk: chunk.unwrap_or(4),
        scale,
        group,
        velocity,
    }))
}
