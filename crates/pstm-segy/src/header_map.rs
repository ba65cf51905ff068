//! Where in the trace header the values pstm needs are, and decoding them.
//!
//! Real files keep coordinates, offsets and line numbers in many places, so each value's bytes
//! are configurable. A map is written `key=byte` or `key=byte:width`, comma-separated, with byte
//! positions 1-based inside the 240-byte trace header as the standard prints them (`sx=73`,
//! `inline=9:4`); keys not given keep the standard's position. See [`HeaderKey`] for the keys.

use strsim::levenshtein;

use crate::binary_header::Revision;
use crate::error::{Bytes, HeaderMapError};
use crate::scalar;
use crate::trace_header::{TraceField, TraceHeader};
use crate::{TRACE_HEADER_BYTES, TraceField as F};

/// A value pstm reads from trace headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeaderKey {
    SourceX,
    SourceY,
    GroupX,
    GroupY,
    CdpX,
    CdpY,
    Offset,
    Inline,
    Crossline,
    CoordinateScalar,
    ElevationScalar,
    Delay,
    GroupElevation,
    SourceElevation,
}

impl HeaderKey {
    pub const ALL: [HeaderKey; 14] = [
        HeaderKey::SourceX,
        HeaderKey::SourceY,
        HeaderKey::GroupX,
        HeaderKey::GroupY,
        HeaderKey::CdpX,
        HeaderKey::CdpY,
        HeaderKey::Offset,
        HeaderKey::Inline,
        HeaderKey::Crossline,
        HeaderKey::CoordinateScalar,
        HeaderKey::ElevationScalar,
        HeaderKey::Delay,
        HeaderKey::GroupElevation,
        HeaderKey::SourceElevation,
    ];

    /// The key as written in a map (Seismic Unix's names).
    pub fn name(self) -> &'static str {
        match self {
            HeaderKey::SourceX => "sx",
            HeaderKey::SourceY => "sy",
            HeaderKey::GroupX => "gx",
            HeaderKey::GroupY => "gy",
            HeaderKey::CdpX => "cdpx",
            HeaderKey::CdpY => "cdpy",
            HeaderKey::Offset => "offset",
            HeaderKey::Inline => "inline",
            HeaderKey::Crossline => "crossline",
            HeaderKey::CoordinateScalar => "scalco",
            HeaderKey::ElevationScalar => "scalel",
            HeaderKey::Delay => "delay",
            HeaderKey::GroupElevation => "gelev",
            HeaderKey::SourceElevation => "selev",
        }
    }

    /// Other names accepted in a map: segyio's.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            HeaderKey::Inline => &["iline"],
            HeaderKey::Crossline => &["xline"],
            HeaderKey::Delay => &["delrt"],
            _ => &[],
        }
    }

    /// Where the standard puts it.
    pub fn standard_field(self) -> TraceField {
        match self {
            HeaderKey::SourceX => F::SourceX,
            HeaderKey::SourceY => F::SourceY,
            HeaderKey::GroupX => F::GroupX,
            HeaderKey::GroupY => F::GroupY,
            HeaderKey::CdpX => F::CdpX,
            HeaderKey::CdpY => F::CdpY,
            HeaderKey::Offset => F::Offset,
            HeaderKey::Inline => F::Inline,
            HeaderKey::Crossline => F::Crossline,
            HeaderKey::CoordinateScalar => F::CoordinateScalar,
            HeaderKey::ElevationScalar => F::ElevationScalar,
            HeaderKey::Delay => F::DelayRecordingTime,
            HeaderKey::GroupElevation => F::ReceiverGroupElevation,
            HeaderKey::SourceElevation => F::SourceSurfaceElevation,
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            HeaderKey::SourceX => "source X (scaled by scalco)",
            HeaderKey::SourceY => "source Y (scaled by scalco)",
            HeaderKey::GroupX => "receiver group X (scaled by scalco)",
            HeaderKey::GroupY => "receiver group Y (scaled by scalco)",
            HeaderKey::CdpX => "CDP (midpoint) X (scaled by scalco)",
            HeaderKey::CdpY => "CDP (midpoint) Y (scaled by scalco)",
            HeaderKey::Offset => "source-receiver offset, signed, unscaled",
            HeaderKey::Inline => "3D inline number",
            HeaderKey::Crossline => "3D crossline number",
            HeaderKey::CoordinateScalar => "coordinate scalar: positive multiplies, negative divides, 0 means 1",
            HeaderKey::ElevationScalar => "elevation scalar, same convention",
            HeaderKey::Delay => "delay recording time: time of the first sample, ms",
            HeaderKey::GroupElevation => "receiver group elevation (scaled by scalel)",
            HeaderKey::SourceElevation => "source surface elevation (scaled by scalel)",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|&k| k == self).expect("every key is listed")
    }

    fn from_name(name: &str) -> Option<Self> {
        let name = name.to_ascii_lowercase();
        Self::ALL.into_iter().find(|k| k.name() == name || k.aliases().contains(&name.as_str()))
    }
}

/// Position of a value inside the trace header: first byte (1-based) and width (2 or 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldLoc {
    pub byte: u32,
    pub width: u32,
}

impl FieldLoc {
    pub fn bytes(self) -> Bytes {
        Bytes::new(self.byte, self.width)
    }
}

impl From<TraceField> for FieldLoc {
    fn from(f: TraceField) -> Self {
        Self { byte: f.byte(), width: f.width() }
    }
}

/// Byte locations of the values pstm reads; the standard's by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMap {
    locs: [FieldLoc; HeaderKey::ALL.len()],
}

impl Default for HeaderMap {
    fn default() -> Self {
        Self { locs: HeaderKey::ALL.map(|k| k.standard_field().into()) }
    }
}

impl std::fmt::Display for HeaderMap {
    /// Every key, in the syntax [`HeaderMap::parse`] reads.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let items: Vec<String> = HeaderKey::ALL
            .iter()
            .map(|&k| {
                let loc = self.get(k);
                if loc.width == k.standard_field().width() {
                    format!("{}={}", k.name(), loc.byte)
                } else {
                    format!("{}={}:{}", k.name(), loc.byte, loc.width)
                }
            })
            .collect();
        f.write_str(&items.join(","))
    }
}

/// A value that a map points at cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub bytes: Bytes,
    pub message: String,
}

/// The values of one trace header that migration needs, decoded through a [`HeaderMap`]:
/// coordinates scaled, the delay in ms (times revision 2's time scalar). Elevations, which it
/// does not need, are decoded on their own ([`HeaderMap::decode_elevations`]), so that a bad
/// elevation scalar does not stop an import.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceValues {
    pub source_x: f64,
    pub source_y: f64,
    pub group_x: f64,
    pub group_y: f64,
    pub cdp_x: f64,
    pub cdp_y: f64,
    pub offset: i32,
    pub inline: i32,
    pub crossline: i32,
    pub delay_ms: f64,
}

impl HeaderMap {
    /// Read `key=byte[:width],...` over the standard positions. An empty string is the standard
    /// map. Keys are case-insensitive; `iline` and `xline` (segyio's names) are accepted too.
    pub fn parse(spec: &str) -> Result<Self, HeaderMapError> {
        let mut map = Self::default();
        let mut seen = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = item.split_once('=').ok_or_else(|| HeaderMapError::Syntax { item: item.into() })?;
            let (key, value) = (key.trim(), value.trim());
            let key = HeaderKey::from_name(key).ok_or_else(|| unknown_key(key))?;
            if seen.contains(&key) {
                return Err(HeaderMapError::Duplicate { key: key.name() });
            }
            seen.push(key);
            let (byte, width) = match value.split_once(':') {
                Some((b, w)) => (b.trim(), Some(w.trim())),
                None => (value, None),
            };
            let bad = |reason: String| HeaderMapError::BadLocation { key: key.name(), value: value.into(), reason };
            let byte: u32 = byte.parse().map_err(|_| bad(format!("`{byte}` is not a byte position")))?;
            let width = match width {
                None => key.standard_field().width(),
                Some(w) => match w.parse() {
                    Ok(w @ (2 | 4)) => w,
                    _ => return Err(bad(format!("width `{w}` must be 2 or 4"))),
                },
            };
            map.set(key, FieldLoc { byte, width }).map_err(bad)?;
        }
        Ok(map)
    }

    /// Point `key` at `loc`; fails when the bytes leave the 240-byte header.
    pub fn set(&mut self, key: HeaderKey, loc: FieldLoc) -> Result<(), String> {
        if !(loc.width == 2 || loc.width == 4) {
            return Err(format!("width {} must be 2 or 4", loc.width));
        }
        let last = loc.byte.checked_add(loc.width - 1).filter(|&l| loc.byte > 0 && l <= TRACE_HEADER_BYTES as u32);
        if last.is_none() {
            return Err(format!(
                "bytes {}-{} are outside the trace header (1-{TRACE_HEADER_BYTES})",
                loc.byte,
                loc.byte.saturating_add(loc.width - 1)
            ));
        }
        self.locs[key.index()] = loc;
        Ok(())
    }

    pub fn get(&self, key: HeaderKey) -> FieldLoc {
        self.locs[key.index()]
    }

    /// The raw integer at `key`'s bytes.
    pub fn read(&self, h: &TraceHeader, key: HeaderKey) -> i32 {
        let loc = self.get(key);
        h.get_at(loc.byte, loc.width)
    }

    /// The keys whose bytes differ from the standard's.
    pub fn changed_keys(&self) -> Vec<HeaderKey> {
        HeaderKey::ALL.into_iter().filter(|&k| self.get(k) != FieldLoc::from(k.standard_field())).collect()
    }

    /// The scalar at `key`, checked against the standard's values.
    fn checked_scalar(&self, h: &TraceHeader, key: HeaderKey) -> Result<i32, FieldError> {
        let s = self.read(h, key);
        scalar::check(s).map(|_| s).map_err(|m| FieldError {
            bytes: self.get(key).bytes(),
            message: format!(
                "{} ({}) {m}; if it is stored elsewhere, map it with {}=BYTE",
                key.description().split(':').next().unwrap_or(""),
                key.name(),
                key.name()
            ),
        })
    }

    /// Decode a trace header. Fails on a scalar the standard does not allow, naming its bytes.
    /// The delay is multiplied by the time scalar (bytes 215-216) in revision 2 files only:
    /// older ones may hold anything there.
    pub fn decode(&self, h: &TraceHeader, revision: Revision) -> Result<TraceValues, FieldError> {
        let scalco = self.checked_scalar(h, HeaderKey::CoordinateScalar)?;
        let time_scalar = if revision.major >= 2 {
            let s = h.get(F::TimeScalar);
            scalar::check(s)
                .map_err(|m| FieldError { bytes: F::TimeScalar.bytes(), message: format!("time scalar {m}") })?;
            s
        } else {
            1
        };
        let coord = |key| scalar::apply(self.read(h, key), scalco);
        Ok(TraceValues {
            source_x: coord(HeaderKey::SourceX),
            source_y: coord(HeaderKey::SourceY),
            group_x: coord(HeaderKey::GroupX),
            group_y: coord(HeaderKey::GroupY),
            cdp_x: coord(HeaderKey::CdpX),
            cdp_y: coord(HeaderKey::CdpY),
            offset: self.read(h, HeaderKey::Offset),
            inline: self.read(h, HeaderKey::Inline),
            crossline: self.read(h, HeaderKey::Crossline),
            delay_ms: scalar::apply(self.read(h, HeaderKey::Delay), time_scalar),
        })
    }

    /// Source and receiver group elevations, scaled by the elevation scalar.
    pub fn decode_elevations(&self, h: &TraceHeader) -> Result<(f64, f64), FieldError> {
        let scalel = self.checked_scalar(h, HeaderKey::ElevationScalar)?;
        let elev = |key| scalar::apply(self.read(h, key), scalel);
        Ok((elev(HeaderKey::SourceElevation), elev(HeaderKey::GroupElevation)))
    }

    /// A table of the keys, their standard bytes and meaning, for help texts.
    pub fn keys_help() -> String {
        HeaderKey::ALL
            .iter()
            .map(|&k| {
                let f = k.standard_field();
                format!("{:<10} {:>3}-{:<3} {}", k.name(), f.byte(), f.byte() + f.width() - 1, k.description())
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn unknown_key(key: &str) -> HeaderMapError {
    let lower = key.to_ascii_lowercase();
    let suggestion = HeaderKey::ALL
        .iter()
        .flat_map(|k| std::iter::once(k.name()).chain(k.aliases().iter().copied()).map(move |n| (n, k.name())))
        .map(|(n, canonical)| (levenshtein(&lower, n), canonical))
        .filter(|&(d, _)| d <= 2.max(lower.len() / 3))
        .min_by_key(|&(d, _)| d)
        .map(|(_, canonical)| canonical);
    HeaderMapError::UnknownKey {
        key: key.into(),
        suggestion,
        valid: HeaderKey::ALL.iter().map(|k| k.name()).collect::<Vec<_>>().join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Endian;

    #[test]
    fn defaults_are_the_standard() {
        let m = HeaderMap::default();
        assert_eq!(m.get(HeaderKey::SourceX), FieldLoc { byte: 73, width: 4 });
        assert_eq!(m.get(HeaderKey::CoordinateScalar), FieldLoc { byte: 71, width: 2 });
        assert_eq!(m.get(HeaderKey::Inline), FieldLoc { byte: 189, width: 4 });
        assert_eq!(m.get(HeaderKey::Delay), FieldLoc { byte: 109, width: 2 });
        assert_eq!(HeaderMap::parse("").unwrap(), m);
        assert!(m.changed_keys().is_empty());
        assert_eq!(HeaderMap::parse(&m.to_string()).unwrap(), m);
    }

    #[test]
    fn parse_overrides() {
        let m = HeaderMap::parse(" inline = 9 , xline=21:2, CDPX=233,scalco=71 ").unwrap();
        assert_eq!(m.get(HeaderKey::Inline), FieldLoc { byte: 9, width: 4 });
        assert_eq!(m.get(HeaderKey::Crossline), FieldLoc { byte: 21, width: 2 });
        assert_eq!(m.get(HeaderKey::CdpX), FieldLoc { byte: 233, width: 4 });
        assert_eq!(m.changed_keys(), [HeaderKey::CdpX, HeaderKey::Inline, HeaderKey::Crossline]);
        assert_eq!(HeaderMap::parse(&m.to_string()).unwrap(), m);
    }

    #[test]
    fn parse_errors_say_what_is_valid() {
        let e = HeaderMap::parse("sxx=73").unwrap_err().to_string();
        assert!(e.contains("unknown trace header key `sxx` (did you mean `sx`?)"), "{e}");
        assert!(e.contains("valid keys: sx, sy, gx, gy, cdpx, cdpy, offset, inline, crossline"), "{e}");
        let e = HeaderMap::parse("crosline=193").unwrap_err().to_string();
        assert!(e.contains("did you mean `crossline`"), "{e}");
        assert!(!HeaderMap::parse("zzzzzz=1").unwrap_err().to_string().contains("did you mean"));
        assert!(HeaderMap::parse("sx73").unwrap_err().to_string().contains("is not key=byte"));
        let e = HeaderMap::parse("sx=239").unwrap_err().to_string();
        assert!(e.contains("sx=239: bytes 239-242 are outside the trace header (1-240)"), "{e}");
        assert!(HeaderMap::parse("sx=0").is_err());
        // Positions near u32::MAX must not wrap past the check.
        assert!(HeaderMap::parse("sx=4294967295").unwrap_err().to_string().contains("outside the trace header"));
        assert!(HeaderMap::parse("sx=abc").unwrap_err().to_string().contains("not a byte position"));
        assert!(HeaderMap::parse("sx=73:3").unwrap_err().to_string().contains("must be 2 or 4"));
        assert_eq!(HeaderMap::parse("sx=1,sx=5").unwrap_err(), HeaderMapError::Duplicate { key: "sx" });
    }

    #[test]
    fn decode_scales_and_checks() {
        let mut h = TraceHeader::new(Endian::Big);
        h.set(F::CoordinateScalar, -100).unwrap();
        h.set(F::SourceX, 123_456).unwrap();
        h.set(F::CdpY, -50).unwrap();
        h.set(F::ElevationScalar, 10).unwrap();
        h.set(F::ReceiverGroupElevation, 7).unwrap();
        h.set(F::Offset, -300).unwrap();
        h.set(F::DelayRecordingTime, 25).unwrap();
        h.set(F::TimeScalar, 10).unwrap();
        let m = HeaderMap::default();
        let rev1 = Revision { major: 1, minor: 0 };
        let v = m.decode(&h, rev1).unwrap();
        assert_eq!((v.source_x, v.cdp_y, v.offset, v.delay_ms), (1234.56, -0.5, -300, 25.0));
        assert_eq!(m.decode_elevations(&h).unwrap(), (0.0, 70.0));
        // A bad elevation scalar spoils the elevations only.
        h.set(F::ElevationScalar, 5).unwrap();
        assert!(m.decode_elevations(&h).unwrap_err().message.contains("scalel"));
        assert!(m.decode(&h, rev1).is_ok());
        let v2 = m.decode(&h, Revision { major: 2, minor: 0 }).unwrap();
        assert_eq!(v2.delay_ms, 250.0);
        h.set(F::CoordinateScalar, 0).unwrap();
        assert_eq!(m.decode(&h, rev1).unwrap().source_x, 123_456.0);
        h.set(F::CoordinateScalar, 3).unwrap();
        let e = m.decode(&h, rev1).unwrap_err();
        assert_eq!(e.bytes, Bytes::new(71, 2));
        assert!(e.message.contains("3 is not a SEG-Y scalar"), "{}", e.message);
        assert!(e.message.contains("scalco=BYTE"), "{}", e.message);
    }
}
