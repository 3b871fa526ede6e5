//! AMF0 values (Adobe AMF0 specification), encode and decode.
//!
//! In scope: every AMF0 marker a peer may send, including reference, date,
//! XML document, typed object and the AVM+ switch to an AMF3 value
//! ([`super::amf3`]); nesting limited by [`MAX_DEPTH`].
//!
//! Interop: strings that are not UTF-8 (some encoders put Latin-1 in
//! metadata) decode lossily instead of failing the whole message.

use std::fmt;

use super::amf3::{self, Amf3Error, Amf3Value};
use super::reader::{Incomplete, Reader};

/// How deep objects and arrays may nest before decoding fails.
pub const MAX_DEPTH: usize = 64;

mod marker {
    pub(super) const NUMBER: u8 = 0x00;
    pub(super) const BOOLEAN: u8 = 0x01;
    pub(super) const STRING: u8 = 0x02;
    pub(super) const OBJECT: u8 = 0x03;
    pub(super) const MOVIECLIP: u8 = 0x04;
    pub(super) const NULL: u8 = 0x05;
    pub(super) const UNDEFINED: u8 = 0x06;
    pub(super) const REFERENCE: u8 = 0x07;
    pub(super) const ECMA_ARRAY: u8 = 0x08;
    pub(super) const OBJECT_END: u8 = 0x09;
    pub(super) const STRICT_ARRAY: u8 = 0x0A;
    pub(super) const DATE: u8 = 0x0B;
    pub(super) const LONG_STRING: u8 = 0x0C;
    pub(super) const UNSUPPORTED: u8 = 0x0D;
    pub(super) const RECORDSET: u8 = 0x0E;
    pub(super) const XML_DOCUMENT: u8 = 0x0F;
    pub(super) const TYPED_OBJECT: u8 = 0x10;
    pub(super) const AVMPLUS: u8 = 0x11;
}

/// Named properties of an object, ECMA array or typed object, in wire order.
pub type Properties = Vec<(String, Amf0Value)>;

/// One AMF0 value (AMF0 §2).
#[derive(Debug, Clone, PartialEq)]
pub enum Amf0Value {
    /// §2.2 number marker.
    Number(f64),
    /// §2.3 boolean marker.
    Boolean(bool),
    /// §2.4 string marker (up to 65535 bytes).
    String(String),
    /// §2.5 anonymous object.
    Object(Properties),
    /// §2.7 null.
    Null,
    /// §2.8 undefined.
    Undefined,
    /// §2.9 reference to an earlier complex value, by index.
    Reference(u16),
    /// §2.10 ECMA (associative) array; the count on the wire is only a hint.
    EcmaArray(Properties),
    /// §2.12 strict (dense) array.
    StrictArray(Vec<Amf0Value>),
    /// §2.13 date: milliseconds since the epoch and a time zone (reserved, 0).
    Date {
        /// Milliseconds since 1970-01-01 UTC.
        millis: f64,
        /// Time zone offset in minutes; the spec says senders write 0.
        timezone: i16,
    },
    /// §2.14 long string (more than 65535 bytes allowed).
    LongString(String),
    /// §2.15 unsupported marker.
    Unsupported,
    /// §2.17 XML document (a long string).
    XmlDocument(String),
    /// §2.18 typed object: a class name and properties.
    TypedObject {
        /// The registered class name.
        class_name: String,
        /// The object's properties.
        properties: Properties,
    },
    /// §3.1 AVM+ switch marker followed by one AMF3 value.
    Avmplus(Amf3Value),
}

impl Amf0Value {
    /// What kind of value this is, for error messages that must not
    /// repeat a peer's (possibly huge) value.
    pub fn kind(&self) -> &'static str {
        match self {
            Amf0Value::Number(_) => "a number",
            Amf0Value::Boolean(_) => "a boolean",
            Amf0Value::String(_) | Amf0Value::LongString(_) => "a string",
            Amf0Value::Object(_) => "an object",
            Amf0Value::Null => "null",
            Amf0Value::Undefined => "undefined",
            Amf0Value::Reference(_) => "a reference",
            Amf0Value::EcmaArray(_) => "an ecma array",
            Amf0Value::StrictArray(_) => "a strict array",
            Amf0Value::Date { .. } => "a date",
            Amf0Value::Unsupported => "unsupported",
            Amf0Value::XmlDocument(_) => "an xml document",
            Amf0Value::TypedObject { .. } => "a typed object",
            Amf0Value::Avmplus(_) => "an amf3 value",
        }
    }

    /// The text of a string or long string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Amf0Value::String(s) | Amf0Value::LongString(s) => Some(s),
            _ => None,
        }
    }

    /// The value of a number.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Amf0Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The properties of an object, ECMA array or typed object.
    pub fn properties(&self) -> Option<&Properties> {
        match self {
            Amf0Value::Object(p) | Amf0Value::EcmaArray(p) => Some(p),
            Amf0Value::TypedObject { properties, .. } => Some(properties),
            _ => None,
        }
    }

    /// The first property called `name`, if this value has properties.
    pub fn property(&self, name: &str) -> Option<&Amf0Value> {
        self.properties()?.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Builds an object from `(name, value)` pairs.
    pub fn object<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Amf0Value)>) -> Amf0Value {
        Amf0Value::Object(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A string value.
    pub fn string(s: impl Into<String>) -> Amf0Value {
        Amf0Value::String(s.into())
    }

    /// The same value with every AVM+ switched AMF3 value inside it turned
    /// into its AMF0 equivalent, so readers meet one kind of value: integers
    /// and doubles become numbers, arrays strict or ECMA arrays, objects
    /// objects (typed when they have a class name), vectors strict arrays.
    /// Byte arrays, dictionaries and references have no AMF0 form and stay.
    pub fn without_avmplus(self) -> Amf0Value {
        let props = |p: Properties| p.into_iter().map(|(k, v)| (k, v.without_avmplus())).collect();
        match self {
            Amf0Value::Avmplus(v) => from_amf3(v),
            Amf0Value::Object(p) => Amf0Value::Object(props(p)),
            Amf0Value::EcmaArray(p) => Amf0Value::EcmaArray(props(p)),
            Amf0Value::StrictArray(items) => {
                Amf0Value::StrictArray(items.into_iter().map(Amf0Value::without_avmplus).collect())
            }
            Amf0Value::TypedObject { class_name, properties } => Amf0Value::TypedObject {
                class_name,
                properties: props(properties),
            },
            other => other,
        }
    }
}

fn from_amf3(value: Amf3Value) -> Amf0Value {
    let props = |p: Vec<(String, Amf3Value)>| p.into_iter().map(|(k, v)| (k, from_amf3(v))).collect::<Properties>();
    let numbers = |items: Vec<f64>| Amf0Value::StrictArray(items.into_iter().map(Amf0Value::Number).collect());
    match value {
        Amf3Value::Undefined => Amf0Value::Undefined,
        Amf3Value::Null => Amf0Value::Null,
        Amf3Value::Boolean(b) => Amf0Value::Boolean(b),
        Amf3Value::Integer(i) => Amf0Value::Number(i.into()),
        Amf3Value::Double(d) => Amf0Value::Number(d),
        Amf3Value::String(s) => Amf0Value::String(s),
        Amf3Value::XmlDocument(s) | Amf3Value::Xml(s) => Amf0Value::XmlDocument(s),
        Amf3Value::Date(millis) => Amf0Value::Date { millis, timezone: 0 },
        Amf3Value::Array { assoc, dense } if assoc.is_empty() => {
            Amf0Value::StrictArray(dense.into_iter().map(from_amf3).collect())
        }
        Amf3Value::Array { assoc, dense } => {
            let mut all = props(assoc);
            all.extend(
                dense
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| (i.to_string(), from_amf3(v))),
            );
            Amf0Value::EcmaArray(all)
        }
        Amf3Value::Object {
            class_name,
            sealed,
            dynamic,
        } => {
            let mut all = props(sealed);
            all.extend(props(dynamic.unwrap_or_default()));
            if class_name.is_empty() {
                Amf0Value::Object(all)
            } else {
                Amf0Value::TypedObject {
                    class_name,
                    properties: all,
                }
            }
        }
        Amf3Value::VectorInt { items, .. } => numbers(items.into_iter().map(f64::from).collect()),
        Amf3Value::VectorUint { items, .. } => numbers(items.into_iter().map(f64::from).collect()),
        Amf3Value::VectorDouble { items, .. } => numbers(items),
        Amf3Value::VectorObject { items, .. } => Amf0Value::StrictArray(items.into_iter().map(from_amf3).collect()),
        other @ (Amf3Value::ByteArray(_) | Amf3Value::Dictionary { .. } | Amf3Value::Reference(_)) => {
            Amf0Value::Avmplus(other)
        }
    }
}

/// Why AMF0 bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AmfError {
    /// The bytes ended inside a value; `what` names the field being read.
    Truncated {
        /// The field that was cut short.
        what: &'static str,
    },
    /// A marker byte that AMF0 does not define or that RTMP never carries
    /// (movieclip, recordset).
    UnknownMarker(u8),
    /// An object-end marker outside an object.
    UnexpectedObjectEnd,
    /// Objects or arrays nested deeper than the limit.
    TooDeep {
        /// The limit that was reached.
        limit: usize,
    },
    /// The decoded values would take more memory than the limit.
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The AMF3 value after an AVM+ switch marker is malformed.
    Amf3(Amf3Error),
}

impl fmt::Display for AmfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AmfError::Truncated { what } => write!(f, "amf0 {what} is truncated"),
            AmfError::UnknownMarker(m) => write!(f, "amf0 marker 0x{m:02x} is unknown"),
            AmfError::UnexpectedObjectEnd => write!(f, "amf0 object-end marker outside an object"),
            AmfError::TooDeep { limit } => write!(f, "amf0 nesting depth exceeds limit {limit}"),
            AmfError::TooLarge { limit } => write!(f, "amf0 values take more than {limit} bytes decoded"),
            AmfError::Amf3(e) => write!(f, "after the amf0 avm+ switch: {e}"),
        }
    }
}

impl std::error::Error for AmfError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AmfError::Amf3(e) => Some(e),
            _ => None,
        }
    }
}

fn truncated(what: &'static str) -> impl Fn(Incomplete) -> AmfError {
    move |_| AmfError::Truncated { what }
}

/// Decodes every value in `bytes`, as in a command or data message body,
/// nesting at most [`MAX_DEPTH`] deep.
pub fn decode_all(bytes: &[u8]) -> Result<Vec<Amf0Value>, AmfError> {
    decode_all_limited(bytes, MAX_DEPTH)
}

/// Decodes every value in `bytes`, nesting at most `max_depth` deep (AMF3
/// values behind a switch count toward the same depth).
pub fn decode_all_limited(bytes: &[u8], max_depth: usize) -> Result<Vec<Amf0Value>, AmfError> {
    decode_all_within(bytes, max_depth, amf3::decode_budget(bytes.len()))
}

/// `decode_all_limited` building at most `budget` bytes in memory (see
/// [`amf3::decode_budget`]), whatever the length of `bytes`.
pub fn decode_all_within(bytes: &[u8], max_depth: usize, budget: usize) -> Result<Vec<Amf0Value>, AmfError> {
    let mut r = Reader::new(bytes);
    let mut budget = Budget::new(budget);
    let mut values = Vec::new();
    while !r.is_empty() {
        values.push(decode_at(&mut r, 0, max_depth, &mut budget)?);
    }
    Ok(values)
}

/// Decodes one value from the reader.
pub fn decode(r: &mut Reader<'_>) -> Result<Amf0Value, AmfError> {
    let mut budget = Budget::new(amf3::decode_budget(r.position() + r.remaining()));
    decode_at(r, 0, MAX_DEPTH, &mut budget)
}

/// What one decode may still build in memory: values, strings and
/// property names count their size. A message decodes to at most
/// [`amf3::MAX_GROWTH`] times its bytes (plus a little), so a message of
/// one-byte values cannot take tens of times its size; real commands and
/// metadata take a few times theirs.
struct Budget {
    left: usize,
    limit: usize,
}

impl Budget {
    fn new(limit: usize) -> Budget {
        Budget { left: limit, limit }
    }

    fn charge(&mut self, bytes: usize) -> Result<(), AmfError> {
        self.left = self
            .left
            .checked_sub(bytes)
            .ok_or(AmfError::TooLarge { limit: self.limit })?;
        Ok(())
    }
}

/// One value. Only containers recurse; each kind has its own function so
/// that the frame repeated per nesting level stays small (in a debug build
/// one match over every kind took about 4 KiB a level, and 64 levels most
/// of a connection thread's 256 KiB stack; now about 2).
fn decode_at(r: &mut Reader<'_>, depth: usize, limit: usize, budget: &mut Budget) -> Result<Amf0Value, AmfError> {
    budget.charge(std::mem::size_of::<Amf0Value>())?;
    let m = r.u8().map_err(truncated("marker"))?;
    match m {
        marker::OBJECT => Ok(Amf0Value::Object(properties(r, depth, limit, budget)?)),
        marker::ECMA_ARRAY => {
            // The count is a hint only: encoders get it wrong, and the
            // properties end with an object-end marker all the same.
            r.u32().map_err(truncated("ecma array count"))?;
            Ok(Amf0Value::EcmaArray(properties(r, depth, limit, budget)?))
        }
        marker::STRICT_ARRAY => strict_array(r, depth, limit, budget),
        marker::TYPED_OBJECT => {
            let class_name = short_string(r, budget)?;
            Ok(Amf0Value::TypedObject {
                class_name,
                properties: properties(r, depth, limit, budget)?,
            })
        }
        marker::AVMPLUS => avmplus(r, depth, limit, budget),
        other => scalar(other, r, budget),
    }
}

fn strict_array(r: &mut Reader<'_>, depth: usize, limit: usize, budget: &mut Budget) -> Result<Amf0Value, AmfError> {
    let count = r.u32().map_err(truncated("strict array count"))?;
    check_depth(depth, limit)?;
    let mut items = Vec::with_capacity(r.capacity_for(count));
    for _ in 0..count {
        items.push(decode_at(r, depth + 1, limit, budget)?);
    }
    Ok(Amf0Value::StrictArray(items))
}

/// An AMF3 value after the AVM+ switch, with fresh reference tables and
/// what is left of this decode's budget.
#[inline(never)]
fn avmplus(r: &mut Reader<'_>, depth: usize, limit: usize, budget: &mut Budget) -> Result<Amf0Value, AmfError> {
    let (value, spent) = amf3::decode_within(r, limit.saturating_sub(depth), budget.left).map_err(|e| match e {
        Amf3Error::TooLarge { .. } => AmfError::TooLarge { limit: budget.limit },
        other => AmfError::Amf3(other),
    })?;
    budget.charge(spent)?;
    Ok(Amf0Value::Avmplus(value))
}

/// A value that holds no other value.
#[inline(never)]
fn scalar(m: u8, r: &mut Reader<'_>, budget: &mut Budget) -> Result<Amf0Value, AmfError> {
    Ok(match m {
        marker::NUMBER => Amf0Value::Number(r.f64().map_err(truncated("number"))?),
        marker::BOOLEAN => Amf0Value::Boolean(r.u8().map_err(truncated("boolean"))? != 0),
        marker::STRING => Amf0Value::String(short_string(r, budget)?),
        marker::NULL => Amf0Value::Null,
        marker::UNDEFINED => Amf0Value::Undefined,
        marker::REFERENCE => Amf0Value::Reference(r.u16().map_err(truncated("reference"))?),
        marker::DATE => {
            let millis = r.f64().map_err(truncated("date"))?;
            let timezone = r.u16().map_err(truncated("date time zone"))? as i16;
            Amf0Value::Date { millis, timezone }
        }
        marker::LONG_STRING => Amf0Value::LongString(long_string(r, budget)?),
        marker::UNSUPPORTED => Amf0Value::Unsupported,
        marker::XML_DOCUMENT => Amf0Value::XmlDocument(long_string(r, budget)?),
        marker::OBJECT_END => return Err(AmfError::UnexpectedObjectEnd),
        marker::MOVIECLIP | marker::RECORDSET => return Err(AmfError::UnknownMarker(m)),
        other => return Err(AmfError::UnknownMarker(other)),
    })
}

fn check_depth(depth: usize, limit: usize) -> Result<(), AmfError> {
    if depth >= limit {
        return Err(AmfError::TooDeep { limit });
    }
    Ok(())
}

fn properties(r: &mut Reader<'_>, depth: usize, limit: usize, budget: &mut Budget) -> Result<Properties, AmfError> {
    check_depth(depth, limit)?;
    let mut props = Vec::new();
    loop {
        budget.charge(std::mem::size_of::<String>())?;
        let key = short_string(r, budget)?;
        if key.is_empty() && r.peek_u8().ok() == Some(marker::OBJECT_END) {
            r.u8().map_err(truncated("object end"))?;
            return Ok(props);
        }
        let value = decode_at(r, depth + 1, limit, budget)?;
        props.push((key, value));
    }
}

fn short_string(r: &mut Reader<'_>, budget: &mut Budget) -> Result<String, AmfError> {
    let len = r.u16().map_err(truncated("string length"))?;
    let bytes = r.take(len as usize).map_err(truncated("string"))?;
    text(bytes, budget)
}

fn long_string(r: &mut Reader<'_>, budget: &mut Budget) -> Result<String, AmfError> {
    let len = r.u32().map_err(truncated("long string length"))?;
    let bytes = r.take(len as usize).map_err(truncated("long string"))?;
    text(bytes, budget)
}

/// `bytes` as text, charged as the text it becomes: each invalid byte is
/// replaced by U+FFFD, three bytes, so a string can grow threefold.
fn text(bytes: &[u8], budget: &mut Budget) -> Result<String, AmfError> {
    let text = String::from_utf8_lossy(bytes).into_owned();
    budget.charge(text.len())?;
    Ok(text)
}

/// Appends the encoding of `value` to `out`. A `String` longer than 65535
/// bytes is written as a long string, which is what it must be on the wire.
pub fn encode(value: &Amf0Value, out: &mut Vec<u8>) {
    match value {
        Amf0Value::Number(n) => {
            out.push(marker::NUMBER);
            out.extend_from_slice(&n.to_be_bytes());
        }
        Amf0Value::Boolean(b) => out.extend_from_slice(&[marker::BOOLEAN, *b as u8]),
        Amf0Value::String(s) if s.len() <= u16::MAX as usize => {
            out.push(marker::STRING);
            put_short_string(s, out);
        }
        Amf0Value::String(s) | Amf0Value::LongString(s) => {
            out.push(marker::LONG_STRING);
            put_long_string(s, out);
        }
        Amf0Value::Object(props) => {
            out.push(marker::OBJECT);
            put_properties(props, out);
        }
        Amf0Value::Null => out.push(marker::NULL),
        Amf0Value::Undefined => out.push(marker::UNDEFINED),
        Amf0Value::Reference(i) => {
            out.push(marker::REFERENCE);
            out.extend_from_slice(&i.to_be_bytes());
        }
        Amf0Value::EcmaArray(props) => {
            out.push(marker::ECMA_ARRAY);
            out.extend_from_slice(&(props.len() as u32).to_be_bytes());
            put_properties(props, out);
        }
        Amf0Value::StrictArray(items) => {
            out.push(marker::STRICT_ARRAY);
            out.extend_from_slice(&(items.len() as u32).to_be_bytes());
            for item in items {
                encode(item, out);
            }
        }
        Amf0Value::Date { millis, timezone } => {
            out.push(marker::DATE);
            out.extend_from_slice(&millis.to_be_bytes());
            out.extend_from_slice(&timezone.to_be_bytes());
        }
        Amf0Value::Unsupported => out.push(marker::UNSUPPORTED),
        Amf0Value::XmlDocument(s) => {
            out.push(marker::XML_DOCUMENT);
            put_long_string(s, out);
        }
        Amf0Value::TypedObject { class_name, properties } => {
            out.push(marker::TYPED_OBJECT);
            put_short_string(class_name, out);
            put_properties(properties, out);
        }
        Amf0Value::Avmplus(value) => {
            out.push(marker::AVMPLUS);
            amf3::encode(value, out);
        }
    }
}

/// Encodes several values back to back, as a command body.
pub fn encode_all<'a>(values: impl IntoIterator<Item = &'a Amf0Value>, out: &mut Vec<u8>) {
    for v in values {
        encode(v, out);
    }
}

fn put_short_string(s: &str, out: &mut Vec<u8>) {
    // Property names and class names have only a 16-bit length: cut longer
    // ones at a character boundary rather than write a corrupt length.
    let mut end = s.len().min(u16::MAX as usize);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out.extend_from_slice(&(end as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes().get(..end).unwrap_or_default());
}

fn put_long_string(s: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_properties(props: &Properties, out: &mut Vec<u8>) {
    for (k, v) in props {
        put_short_string(k, out);
        encode(v, out);
    }
    out.extend_from_slice(&[0, 0, marker::OBJECT_END]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `vector!(value, bytes)`: `value` encodes to exactly `bytes`, and
    /// `bytes` decode to `value`.
    macro_rules! vector {
        ($name:ident, $value:expr, $bytes:expr) => {
            #[test]
            fn $name() {
                let value: Amf0Value = $value;
                let bytes: Vec<u8> = $bytes;
                let mut out = Vec::new();
                encode(&value, &mut out);
                assert_eq!(out, bytes, "encode");
                assert_eq!(decode_all(&bytes), Ok(vec![value.clone()]), "decode");
                // Every proper prefix is truncated (in AMF0 or in the AMF3
                // after a switch), never a value.
                for cut in 1..bytes.len() {
                    assert!(
                        matches!(
                            decode_all(&bytes[..cut]),
                            Err(AmfError::Truncated { .. } | AmfError::Amf3(Amf3Error::Truncated { .. }))
                        ),
                        "prefix {cut}"
                    );
                }
            }
        };
    }

    vector!(number, Amf0Value::Number(1.5), vec![0x00, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0]);
    vector!(boolean, Amf0Value::Boolean(true), vec![0x01, 0x01]);
    vector!(
        string,
        Amf0Value::string("live"),
        vec![0x02, 0, 4, b'l', b'i', b'v', b'e']
    );
    vector!(
        object,
        Amf0Value::object([("a", Amf0Value::Null)]),
        vec![
            0x03, // object
            0, 1, b'a', 0x05, // "a": null
            0, 0, 0x09, // end
        ]
    );
    vector!(null, Amf0Value::Null, vec![0x05]);
    vector!(undefined, Amf0Value::Undefined, vec![0x06]);
    vector!(reference, Amf0Value::Reference(258), vec![0x07, 1, 2]);
    vector!(
        ecma_array,
        Amf0Value::EcmaArray(vec![("w".into(), Amf0Value::Number(0.0))]),
        vec![
            0x08, 0, 0, 0, 1, // ecma array, count 1
            0, 1, b'w', 0x00, 0, 0, 0, 0, 0, 0, 0, 0, // "w": 0.0
            0, 0, 0x09,
        ]
    );
    vector!(
        strict_array,
        Amf0Value::StrictArray(vec![Amf0Value::string("hvc1"), Amf0Value::Boolean(false)]),
        vec![0x0A, 0, 0, 0, 2, 0x02, 0, 4, b'h', b'v', b'c', b'1', 0x01, 0x00]
    );
    vector!(
        date,
        Amf0Value::Date {
            millis: 1.0,
            timezone: -60
        },
        vec![0x0B, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0xFF, 0xC4]
    );
    vector!(
        long_string,
        Amf0Value::LongString("ab".into()),
        vec![0x0C, 0, 0, 0, 2, b'a', b'b']
    );
    vector!(unsupported, Amf0Value::Unsupported, vec![0x0D]);
    vector!(
        xml,
        Amf0Value::XmlDocument("<a/>".into()),
        vec![0x0F, 0, 0, 0, 4, b'<', b'a', b'/', b'>']
    );
    vector!(
        avmplus_switch,
        Amf0Value::Avmplus(Amf3Value::String("hi".into())),
        vec![0x11, 0x06, 0x05, b'h', b'i'] // switch, amf3 string "hi"
    );
    vector!(
        typed_object,
        Amf0Value::TypedObject {
            class_name: "C".into(),
            properties: vec![("x".into(), Amf0Value::Boolean(false))]
        },
        vec![0x10, 0, 1, b'C', 0, 1, b'x', 0x01, 0x00, 0, 0, 0x09]
    );

    #[test]
    fn unknown_and_reserved_markers_are_errors() {
        assert_eq!(decode_all(&[0x04]), Err(AmfError::UnknownMarker(0x04)));
        assert_eq!(decode_all(&[0x0E]), Err(AmfError::UnknownMarker(0x0E)));
        assert_eq!(decode_all(&[0x42]), Err(AmfError::UnknownMarker(0x42)));
        assert_eq!(decode_all(&[0x09]), Err(AmfError::UnexpectedObjectEnd));
        assert_eq!(
            decode_all(&[0x11, 0x42]),
            Err(AmfError::Amf3(crate::protocol::amf3::Amf3Error::UnknownMarker(0x42)))
        );
        assert_eq!(AmfError::UnknownMarker(0x42).to_string(), "amf0 marker 0x42 is unknown");
    }

    #[test]
    fn avmplus_values_read_as_amf0() {
        let connect = Amf0Value::Avmplus(Amf3Value::Object {
            class_name: String::new(),
            sealed: vec![],
            dynamic: Some(vec![
                ("app".into(), Amf3Value::String("live".into())),
                ("objectEncoding".into(), Amf3Value::Integer(3)),
                (
                    "fourCcList".into(),
                    Amf3Value::Array {
                        assoc: vec![],
                        dense: vec![Amf3Value::String("hvc1".into())],
                    },
                ),
            ]),
        });
        let plain = Amf0Value::StrictArray(vec![connect]).without_avmplus();
        let Amf0Value::StrictArray(items) = plain else { panic!() };
        assert_eq!(items[0].property("app").and_then(Amf0Value::as_str), Some("live"));
        assert_eq!(
            items[0].property("objectEncoding").and_then(Amf0Value::as_number),
            Some(3.0)
        );
        assert_eq!(
            items[0].property("fourCcList"),
            Some(&Amf0Value::StrictArray(vec![Amf0Value::string("hvc1")]))
        );
        let bytes = Amf0Value::Avmplus(Amf3Value::ByteArray(vec![1]));
        assert_eq!(bytes.clone().without_avmplus(), bytes);
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let bytes = [0x0A, 0, 0, 0, 1].repeat(10_000);
        assert_eq!(decode_all(&bytes), Err(AmfError::TooDeep { limit: MAX_DEPTH }));
        // Three nested arrays fit a limit of 3; a fourth does not.
        let nested = |n| [&[0x0A, 0, 0, 0, 1].repeat(n)[..], &[0x05]].concat();
        assert!(decode_all_limited(&nested(3), 3).is_ok());
        assert_eq!(decode_all_limited(&nested(4), 3), Err(AmfError::TooDeep { limit: 3 }));
    }

    #[test]
    fn huge_counts_do_not_allocate() {
        assert_eq!(
            decode_all(&[0x0A, 0xFF, 0xFF, 0xFF, 0xFF]),
            Err(AmfError::Truncated { what: "marker" })
        );
    }

    #[test]
    fn long_text_in_a_string_is_written_as_long_string() {
        let text = "x".repeat(70_000);
        let mut out = Vec::new();
        encode(&Amf0Value::String(text.clone()), &mut out);
        assert_eq!(&out[..5], &[0x0C, 0, 1, 0x11, 0x70]);
        assert_eq!(decode_all(&out), Ok(vec![Amf0Value::LongString(text)]));
    }

    #[test]
    fn ffmpeg_connect_command_decodes() {
        // The start of a connect command as ffmpeg lays it out
        // (libavformat/rtmpproto.c gen_connect): name, tx 1, object.
        let mut bytes = vec![0x02, 0, 7];
        bytes.extend_from_slice(b"connect");
        bytes.extend_from_slice(&[0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0x03, 0, 3]);
        bytes.extend_from_slice(b"app");
        bytes.extend_from_slice(&[0x02, 0, 4]);
        bytes.extend_from_slice(b"live");
        bytes.extend_from_slice(&[0, 0, 0x09]);
        let values = decode_all(&bytes).unwrap();
        assert_eq!(values[0].as_str(), Some("connect"));
        assert_eq!(values[1].as_number(), Some(1.0));
        assert_eq!(values[2].property("app").and_then(Amf0Value::as_str), Some("live"));
    }

    #[test]
    fn one_byte_values_cannot_take_tens_of_times_their_size() {
        // A strict array of 60 000 nulls: 60 KB that would decode to 60 000
        // values of 56 bytes or more.
        let mut bytes = vec![0x0A, 0, 0, 0xEA, 0x60];
        bytes.extend(std::iter::repeat_n(0x05, 60_000));
        let limit = bytes.len() * amf3::MAX_GROWTH + amf3::BUDGET_SLACK;
        assert_eq!(decode_all(&bytes), Err(AmfError::TooLarge { limit }));
        // The same behind an AVM+ switch: AMF3 nulls, charged to one budget.
        let mut bytes = vec![0x11, 0x09, 0x83, 0xD4, 0x61, 0x01];
        bytes.extend(std::iter::repeat_n(0x01, 30_000));
        let limit = bytes.len() * amf3::MAX_GROWTH + amf3::BUDGET_SLACK;
        assert_eq!(decode_all(&bytes), Err(AmfError::TooLarge { limit }));
    }
}
