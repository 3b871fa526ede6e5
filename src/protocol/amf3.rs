//! AMF3 values (Adobe AMF3 specification), as RTMP carries them behind the
//! AMF0 AVM+ switch marker in type 15/17 messages.
//!
//! In scope: every AMF3 marker except externalizable objects (their body is
//! class-defined, so they cannot be skipped) — undefined, null, booleans,
//! integer, double, string, XML, date, array, object (sealed and dynamic
//! traits), byte array, vectors and dictionary; string and traits references.
//! Out of scope: resolving references to earlier complex values, which are
//! kept as [`Amf3Value::Reference`] (resolving them would copy, and a few
//! bytes of references could then cost unbounded memory).
//!
//! Encoding writes every value inline (no reference tables), which every
//! decoder accepts.

use std::fmt;

use super::escape::Escaped;

use super::reader::Reader;

/// How deep arrays, objects, vectors and dictionaries may nest.
pub const MAX_DEPTH: usize = 64;
/// A decode may build at most this many times the bytes of the message it
/// reads, plus [`BUDGET_SLACK`]: values, their text, and what string and
/// traits references copy. A message of references or of one-byte values
/// would otherwise take tens of times its size in memory.
pub const MAX_GROWTH: usize = 16;
/// What every decode may build whatever the message's size.
pub const BUDGET_SLACK: usize = 4096;

mod marker {
    pub(super) const UNDEFINED: u8 = 0x00;
    pub(super) const NULL: u8 = 0x01;
    pub(super) const FALSE: u8 = 0x02;
    pub(super) const TRUE: u8 = 0x03;
    pub(super) const INTEGER: u8 = 0x04;
    pub(super) const DOUBLE: u8 = 0x05;
    pub(super) const STRING: u8 = 0x06;
    pub(super) const XML_DOC: u8 = 0x07;
    pub(super) const DATE: u8 = 0x08;
    pub(super) const ARRAY: u8 = 0x09;
    pub(super) const OBJECT: u8 = 0x0A;
    pub(super) const XML: u8 = 0x0B;
    pub(super) const BYTE_ARRAY: u8 = 0x0C;
    pub(super) const VECTOR_INT: u8 = 0x0D;
    pub(super) const VECTOR_UINT: u8 = 0x0E;
    pub(super) const VECTOR_DOUBLE: u8 = 0x0F;
    pub(super) const VECTOR_OBJECT: u8 = 0x10;
    pub(super) const DICTIONARY: u8 = 0x11;
}

/// One AMF3 value.
#[derive(Debug, Clone, PartialEq)]
pub enum Amf3Value {
    /// undefined.
    Undefined,
    /// null.
    Null,
    /// false or true.
    Boolean(bool),
    /// A 29-bit signed integer.
    Integer(i32),
    /// A double.
    Double(f64),
    /// A UTF-8 string.
    String(String),
    /// A legacy XMLDocument.
    XmlDocument(String),
    /// Milliseconds since the epoch, UTC.
    Date(f64),
    /// An array: named (associative) part, then dense part.
    Array {
        /// Named entries.
        assoc: Vec<(String, Amf3Value)>,
        /// Indexed entries.
        dense: Vec<Amf3Value>,
    },
    /// An object: class name (empty for anonymous), sealed members, and
    /// dynamic members when the traits are dynamic.
    Object {
        /// The class name; empty for an anonymous object.
        class_name: String,
        /// Sealed members, in traits order.
        sealed: Vec<(String, Amf3Value)>,
        /// Dynamic members, or `None` when the traits are not dynamic.
        dynamic: Option<Vec<(String, Amf3Value)>>,
    },
    /// An E4X XML value.
    Xml(String),
    /// Raw bytes.
    ByteArray(Vec<u8>),
    /// `Vector.<int>`.
    VectorInt {
        /// The vector is fixed-length.
        fixed: bool,
        /// Its items.
        items: Vec<i32>,
    },
    /// `Vector.<uint>`.
    VectorUint {
        /// The vector is fixed-length.
        fixed: bool,
        /// Its items.
        items: Vec<u32>,
    },
    /// `Vector.<Number>`.
    VectorDouble {
        /// The vector is fixed-length.
        fixed: bool,
        /// Its items.
        items: Vec<f64>,
    },
    /// `Vector.<Object>` of a type name.
    VectorObject {
        /// The vector is fixed-length.
        fixed: bool,
        /// The item type name ("*" for any).
        type_name: String,
        /// Its items.
        items: Vec<Amf3Value>,
    },
    /// A dictionary of key/value pairs.
    Dictionary {
        /// Keys are weakly referenced.
        weak_keys: bool,
        /// The pairs.
        entries: Vec<(Amf3Value, Amf3Value)>,
    },
    /// A reference to the n-th complex value decoded before (object table).
    Reference(u32),
}

/// Why AMF3 bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Amf3Error {
    /// The bytes ended inside a value; `what` names the field.
    Truncated {
        /// The field that was cut short.
        what: &'static str,
    },
    /// A marker AMF3 does not define.
    UnknownMarker(u8),
    /// A string or traits reference to an entry that does not exist.
    BadReference {
        /// Which table.
        table: &'static str,
        /// The index asked for.
        index: u32,
    },
    /// An externalizable object, whose body only its class can read.
    Externalizable(String),
    /// Nesting deeper than the limit.
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// The decoded values would take more memory than the limit.
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl fmt::Display for Amf3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Amf3Error::Truncated { what } => write!(f, "amf3 {what} is truncated"),
            Amf3Error::UnknownMarker(m) => write!(f, "amf3 marker 0x{m:02x} is unknown"),
            Amf3Error::BadReference { table, index } => {
                write!(f, "amf3 {table} reference {index} points past the table")
            }
            Amf3Error::Externalizable(class) => {
                write!(
                    f,
                    "amf3 externalizable object of class \"{}\" cannot be read",
                    Escaped(class)
                )
            }
            Amf3Error::TooDeep { limit } => write!(f, "amf3 nesting depth exceeds limit {limit}"),
            Amf3Error::TooLarge { limit } => {
                write!(f, "amf3 values take more than {limit} bytes decoded")
            }
        }
    }
}

impl std::error::Error for Amf3Error {}

#[derive(Debug, Clone)]
struct Traits {
    class_name: String,
    dynamic: bool,
    members: Vec<String>,
}

/// The reference tables of one AMF3 decode (one AVM+ switch).
#[derive(Debug, Default)]
struct Tables {
    strings: Vec<String>,
    traits: Vec<Traits>,
    /// Complex values are only counted: references keep their index.
    objects: u32,
    /// Bytes built so far, and the most allowed (see [`MAX_GROWTH`]).
    spent: usize,
    budget: usize,
}

impl Tables {
    fn charge(&mut self, bytes: usize) -> Result<(), Amf3Error> {
        self.spent += bytes;
        if self.spent > self.budget {
            return Err(Amf3Error::TooLarge { limit: self.budget });
        }
        Ok(())
    }
}

/// Decodes one AMF3 value with fresh reference tables.
pub fn decode(r: &mut Reader<'_>) -> Result<Amf3Value, Amf3Error> {
    decode_limited(r, MAX_DEPTH)
}

/// Decodes one AMF3 value, nesting at most `max_depth` deep.
pub fn decode_limited(r: &mut Reader<'_>, max_depth: usize) -> Result<Amf3Value, Amf3Error> {
    // The whole message the reader is in, not only what is left of it.
    let budget = decode_budget(r.position() + r.remaining());
    decode_within(r, max_depth, budget).map(|(value, _)| value)
}

/// The bytes a decode of a message of `len` bytes may build in memory.
pub fn decode_budget(len: usize) -> usize {
    len.saturating_mul(MAX_GROWTH) + BUDGET_SLACK
}

/// Decodes one AMF3 value building at most `budget` bytes in memory;
/// returns it and the bytes it took (an AMF0 decode that switched to AMF3
/// charges them to its own budget).
pub fn decode_within(r: &mut Reader<'_>, max_depth: usize, budget: usize) -> Result<(Amf3Value, usize), Amf3Error> {
    let mut decoder = Decoder {
        r,
        tables: Tables {
            budget,
            ..Tables::default()
        },
        max_depth,
    };
    let value = decoder.value(0)?;
    Ok((value, decoder.tables.spent))
}

struct Decoder<'r, 'a> {
    r: &'r mut Reader<'a>,
    tables: Tables,
    max_depth: usize,
}

fn truncated(what: &'static str) -> impl Fn(super::reader::Incomplete) -> Amf3Error {
    move |_| Amf3Error::Truncated { what }
}

impl Decoder<'_, '_> {
    /// U29: 1 to 4 bytes, 7 bits each but 8 in the fourth.
    fn u29(&mut self) -> Result<u32, Amf3Error> {
        let mut value = 0u32;
        for i in 0..4 {
            let b = self.r.u8().map_err(truncated("u29"))?;
            if i == 3 {
                return Ok(value << 8 | b as u32);
            }
            value = value << 7 | (b & 0x7F) as u32;
            if b & 0x80 == 0 {
                break;
            }
        }
        Ok(value)
    }

    /// A U29 whose low bit says inline (1) or reference (0); returns
    /// `Ok(Err(index))` for a reference, `Ok(Ok(rest))` inline.
    fn inline_or_ref(&mut self) -> Result<Result<u32, u32>, Amf3Error> {
        let v = self.u29()?;
        Ok(if v & 1 == 1 { Ok(v >> 1) } else { Err(v >> 1) })
    }

    fn bytes(&mut self, len: u32, what: &'static str) -> Result<&[u8], Amf3Error> {
        self.r.take(len as usize).map_err(truncated(what))
    }

    fn string(&mut self) -> Result<String, Amf3Error> {
        match self.inline_or_ref()? {
            Ok(len) => {
                // Charged as the text it becomes: invalid bytes become
                // U+FFFD, three bytes each.
                let s = String::from_utf8_lossy(self.bytes(len, "string")?).into_owned();
                self.tables.charge(s.len())?;
                // The empty string is never put in the table.
                if !s.is_empty() {
                    self.tables.strings.push(s.clone());
                }
                Ok(s)
            }
            Err(index) => {
                let s = self
                    .tables
                    .strings
                    .get(index as usize)
                    .cloned()
                    .ok_or(Amf3Error::BadReference { table: "string", index })?;
                self.tables.charge(s.len())?;
                Ok(s)
            }
        }
    }

    /// The U29 that starts a complex value (§3.1): `Ok(rest)` for an
    /// inline one, which takes the next place in the object table, or
    /// `Err(index)` for a reference to an earlier one.
    fn complex(&mut self) -> Result<Result<u32, u32>, Amf3Error> {
        let header = self.inline_or_ref()?;
        if header.is_ok() {
            self.tables.objects += 1;
        }
        Ok(header)
    }

    /// Inline bytes (XML, byte array) or a reference to a complex value.
    fn inline_bytes(&mut self, what: &'static str) -> Result<Result<Vec<u8>, u32>, Amf3Error> {
        Ok(match self.complex()? {
            Ok(len) => {
                self.tables.charge(len as usize)?;
                Ok(self.bytes(len, what)?.to_vec())
            }
            Err(index) => Err(index),
        })
    }

    /// One value. Only containers recurse, each in a function of its own,
    /// so the frame repeated per nesting level stays small (in a debug
    /// build one match over every kind took about 6 KiB a level: 64 levels
    /// did not fit a connection thread's 256 KiB stack).
    fn value(&mut self, depth: usize) -> Result<Amf3Value, Amf3Error> {
        if depth > self.max_depth {
            return Err(Amf3Error::TooDeep { limit: self.max_depth });
        }
        self.tables.charge(std::mem::size_of::<Amf3Value>())?;
        let m = self.r.u8().map_err(truncated("marker"))?;
        match m {
            marker::ARRAY | marker::OBJECT | marker::VECTOR_OBJECT | marker::DICTIONARY => match self.complex()? {
                Ok(header) => match m {
                    marker::ARRAY => self.array(header, depth),
                    marker::OBJECT => self.object(header, depth),
                    marker::VECTOR_OBJECT => self.vector_object(header, depth),
                    _ => self.dictionary(header, depth),
                },
                Err(index) => Ok(Amf3Value::Reference(index)),
            },
            other => self.scalar(other),
        }
    }

    /// A value that holds no other value.
    #[inline(never)]
    fn scalar(&mut self, m: u8) -> Result<Amf3Value, Amf3Error> {
        Ok(match m {
            marker::UNDEFINED => Amf3Value::Undefined,
            marker::NULL => Amf3Value::Null,
            marker::FALSE => Amf3Value::Boolean(false),
            marker::TRUE => Amf3Value::Boolean(true),
            marker::INTEGER => {
                // Sign-extend from 29 bits.
                let v = self.u29()?;
                Amf3Value::Integer(((v << 3) as i32) >> 3)
            }
            marker::DOUBLE => Amf3Value::Double(self.r.f64().map_err(truncated("double"))?),
            marker::STRING => Amf3Value::String(self.string()?),
            marker::XML_DOC | marker::XML => match self.inline_bytes("xml")? {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    // The bytes were charged; invalid ones grew.
                    self.tables.charge(text.len().saturating_sub(bytes.len()))?;
                    if m == marker::XML {
                        Amf3Value::Xml(text)
                    } else {
                        Amf3Value::XmlDocument(text)
                    }
                }
                Err(index) => Amf3Value::Reference(index),
            },
            marker::BYTE_ARRAY => match self.inline_bytes("byte array")? {
                Ok(bytes) => Amf3Value::ByteArray(bytes),
                Err(index) => Amf3Value::Reference(index),
            },
            marker::DATE => match self.complex()? {
                Ok(_) => Amf3Value::Date(self.r.f64().map_err(truncated("date"))?),
                Err(index) => Amf3Value::Reference(index),
            },
            marker::VECTOR_INT | marker::VECTOR_UINT | marker::VECTOR_DOUBLE => match self.complex()? {
                Ok(count) => {
                    let fixed = self.r.u8().map_err(truncated("vector"))? != 0;
                    let width = if m == marker::VECTOR_DOUBLE { 8 } else { 4 };
                    let body = self.bytes(count.saturating_mul(width), "vector")?;
                    let mut items = Reader::new(body);
                    let n = count as usize;
                    match m {
                        marker::VECTOR_INT => Amf3Value::VectorInt {
                            fixed,
                            items: (0..n).filter_map(|_| items.u32().ok().map(|v| v as i32)).collect(),
                        },
                        marker::VECTOR_UINT => Amf3Value::VectorUint {
                            fixed,
                            items: (0..n).filter_map(|_| items.u32().ok()).collect(),
                        },
                        _ => Amf3Value::VectorDouble {
                            fixed,
                            items: (0..n).filter_map(|_| items.f64().ok()).collect(),
                        },
                    }
                }
                Err(index) => Amf3Value::Reference(index),
            },
            other => return Err(Amf3Error::UnknownMarker(other)),
        })
    }

    fn array(&mut self, count: u32, depth: usize) -> Result<Amf3Value, Amf3Error> {
        let assoc = self.members(depth)?;
        let mut dense = Vec::with_capacity(self.r.capacity_for(count));
        for _ in 0..count {
            dense.push(self.value(depth + 1)?);
        }
        Ok(Amf3Value::Array { assoc, dense })
    }

    fn vector_object(&mut self, count: u32, depth: usize) -> Result<Amf3Value, Amf3Error> {
        let fixed = self.r.u8().map_err(truncated("vector"))? != 0;
        let type_name = self.string()?;
        let mut items = Vec::with_capacity(self.r.capacity_for(count));
        for _ in 0..count {
            items.push(self.value(depth + 1)?);
        }
        Ok(Amf3Value::VectorObject {
            fixed,
            type_name,
            items,
        })
    }

    fn dictionary(&mut self, count: u32, depth: usize) -> Result<Amf3Value, Amf3Error> {
        let weak_keys = self.r.u8().map_err(truncated("dictionary"))? != 0;
        let mut entries = Vec::with_capacity(self.r.capacity_for(count));
        for _ in 0..count {
            let key = self.value(depth + 1)?;
            entries.push((key, self.value(depth + 1)?));
        }
        Ok(Amf3Value::Dictionary { weak_keys, entries })
    }

    /// Name/value pairs up to an empty name.
    fn members(&mut self, depth: usize) -> Result<Vec<(String, Amf3Value)>, Amf3Error> {
        let mut members = Vec::new();
        loop {
            let name = self.string()?;
            if name.is_empty() {
                return Ok(members);
            }
            self.tables.charge(std::mem::size_of::<String>())?;
            members.push((name, self.value(depth + 1)?));
        }
    }

    fn object(&mut self, header: u32, depth: usize) -> Result<Amf3Value, Amf3Error> {
        // header is U29O-traits >> 1: bit 0 says inline traits.
        let traits = if header & 1 == 0 {
            let index = header >> 1;
            let traits = self
                .tables
                .traits
                .get(index as usize)
                .cloned()
                .ok_or(Amf3Error::BadReference { table: "traits", index })?;
            let size = traits.class_name.len() + traits.members.iter().map(String::len).sum::<usize>();
            self.tables.charge(size)?;
            traits
        } else if header & 2 != 0 {
            return Err(Amf3Error::Externalizable(self.string()?));
        } else {
            let dynamic = header & 4 != 0;
            let count = header >> 3;
            let class_name = self.string()?;
            let mut members = Vec::with_capacity(self.r.capacity_for(count));
            for _ in 0..count {
                members.push(self.string()?);
            }
            let traits = Traits {
                class_name,
                dynamic,
                members,
            };
            self.tables.traits.push(traits.clone());
            traits
        };
        let mut sealed = Vec::with_capacity(traits.members.len());
        for name in traits.members {
            sealed.push((name, self.value(depth + 1)?));
        }
        let dynamic = if traits.dynamic {
            Some(self.members(depth)?)
        } else {
            None
        };
        Ok(Amf3Value::Object {
            class_name: traits.class_name,
            sealed,
            dynamic,
        })
    }
}

/// Appends the encoding of `value`, every part inline.
pub fn encode(value: &Amf3Value, out: &mut Vec<u8>) {
    match value {
        Amf3Value::Undefined => out.push(marker::UNDEFINED),
        Amf3Value::Null => out.push(marker::NULL),
        Amf3Value::Boolean(false) => out.push(marker::FALSE),
        Amf3Value::Boolean(true) => out.push(marker::TRUE),
        Amf3Value::Integer(i) if (-(1 << 28)..(1 << 28)).contains(i) => {
            out.push(marker::INTEGER);
            put_u29(*i as u32 & 0x1FFF_FFFF, out);
        }
        // Out of the 29-bit range: a double, as the spec says.
        Amf3Value::Integer(i) => encode(&Amf3Value::Double(*i as f64), out),
        Amf3Value::Double(d) => {
            out.push(marker::DOUBLE);
            out.extend_from_slice(&d.to_be_bytes());
        }
        Amf3Value::String(s) => {
            out.push(marker::STRING);
            put_string(s, out);
        }
        Amf3Value::XmlDocument(s) | Amf3Value::Xml(s) => {
            out.push(if matches!(value, Amf3Value::Xml(_)) {
                marker::XML
            } else {
                marker::XML_DOC
            });
            put_inline_len(s.len(), out);
            out.extend_from_slice(s.as_bytes());
        }
        Amf3Value::Date(ms) => {
            out.push(marker::DATE);
            put_u29(1, out);
            out.extend_from_slice(&ms.to_be_bytes());
        }
        Amf3Value::Array { assoc, dense } => {
            out.push(marker::ARRAY);
            put_inline_len(dense.len(), out);
            put_members(assoc, out);
            for v in dense {
                encode(v, out);
            }
        }
        Amf3Value::Object {
            class_name,
            sealed,
            dynamic,
        } => {
            out.push(marker::OBJECT);
            // U29O-traits: member count, dynamic flag, inline traits, inline object.
            let flags = (sealed.len() as u32) << 4 | (dynamic.is_some() as u32) << 3 | 0b011;
            put_u29(flags, out);
            put_string(class_name, out);
            for (name, _) in sealed {
                put_string(name, out);
            }
            for (_, v) in sealed {
                encode(v, out);
            }
            if let Some(dynamic) = dynamic {
                put_members(dynamic, out);
            }
        }
        Amf3Value::ByteArray(bytes) => {
            out.push(marker::BYTE_ARRAY);
            put_inline_len(bytes.len(), out);
            out.extend_from_slice(bytes);
        }
        Amf3Value::VectorInt { fixed, items } => {
            out.push(marker::VECTOR_INT);
            put_inline_len(items.len(), out);
            out.push(*fixed as u8);
            items.iter().for_each(|i| out.extend_from_slice(&i.to_be_bytes()));
        }
        Amf3Value::VectorUint { fixed, items } => {
            out.push(marker::VECTOR_UINT);
            put_inline_len(items.len(), out);
            out.push(*fixed as u8);
            items.iter().for_each(|i| out.extend_from_slice(&i.to_be_bytes()));
        }
        Amf3Value::VectorDouble { fixed, items } => {
            out.push(marker::VECTOR_DOUBLE);
            put_inline_len(items.len(), out);
            out.push(*fixed as u8);
            items.iter().for_each(|d| out.extend_from_slice(&d.to_be_bytes()));
        }
        Amf3Value::VectorObject {
            fixed,
            type_name,
            items,
        } => {
            out.push(marker::VECTOR_OBJECT);
            put_inline_len(items.len(), out);
            out.push(*fixed as u8);
            put_string(type_name, out);
            items.iter().for_each(|v| encode(v, out));
        }
        Amf3Value::Dictionary { weak_keys, entries } => {
            out.push(marker::DICTIONARY);
            put_inline_len(entries.len(), out);
            out.push(*weak_keys as u8);
            for (k, v) in entries {
                encode(k, out);
                encode(v, out);
            }
        }
        Amf3Value::Reference(index) => {
            // An object reference; the marker does not matter to decoders.
            out.push(marker::OBJECT);
            put_u29(index << 1, out);
        }
    }
}

fn put_u29(v: u32, out: &mut Vec<u8>) {
    let v = v & 0x1FFF_FFFF;
    match v {
        0..0x80 => out.push(v as u8),
        0x80..0x4000 => out.extend_from_slice(&[(v >> 7) as u8 | 0x80, (v & 0x7F) as u8]),
        0x4000..0x20_0000 => {
            out.extend_from_slice(&[(v >> 14) as u8 | 0x80, (v >> 7) as u8 | 0x80, (v & 0x7F) as u8]);
        }
        _ => out.extend_from_slice(&[
            (v >> 22) as u8 | 0x80,
            (v >> 15) as u8 | 0x80,
            (v >> 8) as u8 | 0x80,
            v as u8,
        ]),
    }
}

fn put_inline_len(len: usize, out: &mut Vec<u8>) {
    put_u29((len as u32) << 1 | 1, out);
}

fn put_string(s: &str, out: &mut Vec<u8>) {
    put_inline_len(s.len(), out);
    out.extend_from_slice(s.as_bytes());
}

fn put_members(members: &[(String, Amf3Value)], out: &mut Vec<u8>) {
    for (name, v) in members {
        put_string(name, out);
        encode(v, out);
    }
    put_string("", out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> Result<Amf3Value, Amf3Error> {
        let mut r = Reader::new(bytes);
        let v = decode(&mut r)?;
        assert!(r.is_empty(), "trailing bytes");
        Ok(v)
    }

    /// `value` encodes to exactly `bytes`, `bytes` decode to `value`, and no
    /// proper prefix decodes to it.
    fn vector(value: Amf3Value, bytes: &[u8]) {
        let mut out = Vec::new();
        encode(&value, &mut out);
        assert_eq!(out, bytes, "encode {value:?}");
        assert_eq!(decode_all(bytes), Ok(value.clone()), "decode");
        for cut in 0..bytes.len() {
            assert!(
                decode(&mut Reader::new(&bytes[..cut])) != Ok(value.clone()),
                "prefix {cut}"
            );
        }
    }

    #[test]
    fn scalars() {
        vector(Amf3Value::Undefined, &[0x00]);
        vector(Amf3Value::Null, &[0x01]);
        vector(Amf3Value::Boolean(false), &[0x02]);
        vector(Amf3Value::Boolean(true), &[0x03]);
        vector(Amf3Value::Integer(0x7F), &[0x04, 0x7F]);
        vector(Amf3Value::Integer(0x80), &[0x04, 0x81, 0x00]);
        vector(Amf3Value::Integer(0x4000), &[0x04, 0x81, 0x80, 0x00]);
        vector(Amf3Value::Integer(0x20_0000), &[0x04, 0x80, 0xC0, 0x80, 0x00]);
        vector(Amf3Value::Integer(-1), &[0x04, 0xFF, 0xFF, 0xFF, 0xFF]);
        vector(Amf3Value::Double(0.5), &[0x05, 0x3F, 0xE0, 0, 0, 0, 0, 0, 0]);
        vector(Amf3Value::Date(1.0), &[0x08, 0x01, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn strings_xml_and_bytes() {
        vector(Amf3Value::String("hi".into()), &[0x06, 0x05, b'h', b'i']);
        vector(Amf3Value::String(String::new()), &[0x06, 0x01]);
        vector(
            Amf3Value::XmlDocument("<a/>".into()),
            &[0x07, 0x09, b'<', b'a', b'/', b'>'],
        );
        vector(Amf3Value::Xml("<b/>".into()), &[0x0B, 0x09, b'<', b'b', b'/', b'>']);
        vector(Amf3Value::ByteArray(vec![1, 2]), &[0x0C, 0x05, 1, 2]);
    }

    #[test]
    fn array_with_assoc_and_dense_parts() {
        vector(
            Amf3Value::Array {
                assoc: vec![("k".into(), Amf3Value::Null)],
                dense: vec![Amf3Value::Integer(1)],
            },
            &[0x09, 0x03, 0x03, b'k', 0x01, 0x01, 0x04, 0x01],
        );
    }

    #[test]
    fn dynamic_object_with_a_sealed_member() {
        vector(
            Amf3Value::Object {
                class_name: String::new(),
                sealed: vec![("a".into(), Amf3Value::Boolean(true))],
                dynamic: Some(vec![("b".into(), Amf3Value::Null)]),
            },
            &[
                0x0A, 0x1B, // object, inline traits: 1 sealed member, dynamic
                0x01, // anonymous class
                0x03, b'a', // sealed member name
                0x03, // a = true
                0x03, b'b', 0x01, // b = null
                0x01, // end of dynamic members
            ],
        );
    }

    #[test]
    fn vectors_and_dictionary() {
        vector(
            Amf3Value::VectorInt {
                fixed: false,
                items: vec![-1],
            },
            &[0x0D, 0x03, 0x00, 0xFF, 0xFF, 0xFF, 0xFF],
        );
        vector(
            Amf3Value::VectorUint {
                fixed: true,
                items: vec![2],
            },
            &[0x0E, 0x03, 0x01, 0, 0, 0, 2],
        );
        vector(
            Amf3Value::VectorDouble {
                fixed: false,
                items: vec![1.0],
            },
            &[0x0F, 0x03, 0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0],
        );
        vector(
            Amf3Value::VectorObject {
                fixed: false,
                type_name: "*".into(),
                items: vec![Amf3Value::Null],
            },
            &[0x10, 0x03, 0x00, 0x03, b'*', 0x01],
        );
        vector(
            Amf3Value::Dictionary {
                weak_keys: false,
                entries: vec![(Amf3Value::Integer(1), Amf3Value::Null)],
            },
            &[0x11, 0x03, 0x00, 0x04, 0x01, 0x01],
        );
    }

    #[test]
    fn string_and_traits_references_resolve_object_references_stay() {
        let bytes = [
            0x09, 0x05, 0x01, // array, 2 dense, no assoc
            0x0A, 0x13, 0x01, 0x03, b'x', 0x06, 0x03, b'v', // {x: "v"} with inline traits
            0x0A, 0x01, 0x06, 0x02, // traits ref 0, x: string ref 1 ("v")
        ];
        let obj = |v: &str| Amf3Value::Object {
            class_name: String::new(),
            sealed: vec![("x".into(), Amf3Value::String(v.into()))],
            dynamic: None,
        };
        assert_eq!(
            decode_all(&bytes),
            Ok(Amf3Value::Array {
                assoc: vec![],
                dense: vec![obj("v"), obj("v")]
            })
        );
        assert_eq!(decode_all(&[0x0A, 0x02]), Ok(Amf3Value::Reference(1)));
    }

    #[test]
    fn errors() {
        assert_eq!(decode_all(&[0x12]), Err(Amf3Error::UnknownMarker(0x12)));
        assert_eq!(
            decode_all(&[0x06, 0x00]),
            Err(Amf3Error::BadReference {
                table: "string",
                index: 0
            })
        );
        assert_eq!(
            decode_all(&[0x0A, 0x07, 0x03, b'C']),
            Err(Amf3Error::Externalizable("C".into()))
        );
        assert_eq!(
            decode_all(&[0x06, 0x07, b'a']),
            Err(Amf3Error::Truncated { what: "string" })
        );
        let deep = [0x09, 0x03, 0x01].repeat(10_000);
        assert_eq!(decode_all(&deep), Err(Amf3Error::TooDeep { limit: MAX_DEPTH }));
        assert_eq!(
            decode_all(&[0x09, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
            Err(Amf3Error::Truncated { what: "marker" })
        );
        assert_eq!(
            Amf3Error::UnknownMarker(0x12).to_string(),
            "amf3 marker 0x12 is unknown"
        );
    }

    #[test]
    fn string_reference_bombs_are_bounded() {
        let mut bytes = vec![0x09, 0x80, 0xC0, 0x80, 0x01, 0x01]; // array of 2^20 dense items, no assoc
        bytes.extend_from_slice(&[0x06, 0x87, 0x69]); // a 500-byte string, kept in the table
        bytes.extend(std::iter::repeat_n(b'x', 500));
        for _ in 0..5000 {
            bytes.extend_from_slice(&[0x06, 0x00]); // reference to it
        }
        // What references copy counts against the decode's budget.
        assert_eq!(
            decode_all(&bytes),
            Err(Amf3Error::TooLarge {
                limit: bytes.len() * MAX_GROWTH + BUDGET_SLACK
            })
        );
    }
}
