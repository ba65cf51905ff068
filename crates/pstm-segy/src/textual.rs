//! Textual headers: 3200 bytes, 40 lines of 80 characters, in EBCDIC or ASCII.
//!
//! The encoding is detected ([`ebcdic::looks_like_ebcdic`]) rather than trusted to the revision:
//! revision 0 and 1 files in ASCII are common, and revision 2 allows either.

use crate::TEXTUAL_HEADER_BYTES;
use crate::ebcdic;

const LINES: usize = 40;
const COLUMNS: usize = 80;

/// Marker of the last extended textual header when their number is given as -1 (revision 2).
pub const END_TEXT_STANZA: &str = "((SEG: EndText))";

/// Character code of a textual header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextEncoding {
    /// What revisions 0 and 1 require.
    #[default]
    Ebcdic,
    Ascii,
}

impl std::fmt::Display for TextEncoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TextEncoding::Ebcdic => "EBCDIC",
            TextEncoding::Ascii => "ASCII",
        })
    }
}

/// One 3200-byte textual header (the main one or an extended one).
#[derive(Clone, PartialEq, Eq)]
pub struct TextualHeader {
    /// Decoded, one `char` per byte.
    text: Vec<char>,
    encoding: TextEncoding,
}

impl std::fmt::Debug for TextualHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextualHeader").field("encoding", &self.encoding).field("lines", &self.lines()).finish()
    }
}

impl TextualHeader {
    /// Decode 3200 bytes, detecting the encoding. Panics unless `bytes` has 3200 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        assert_eq!(bytes.len(), TEXTUAL_HEADER_BYTES, "a textual header has 3200 bytes");
        let encoding = if ebcdic::looks_like_ebcdic(bytes) { TextEncoding::Ebcdic } else { TextEncoding::Ascii };
        let text = match encoding {
            TextEncoding::Ebcdic => bytes.iter().map(|&b| ebcdic::to_char(b)).collect(),
            TextEncoding::Ascii => bytes.iter().map(|&b| char::from(b)).collect(),
        };
        Self { text, encoding }
    }

    /// A header of up to 40 lines, each cut or padded with spaces to 80 characters; missing
    /// lines are blank. Characters outside Latin-1 become `?`.
    pub fn from_lines<S: AsRef<str>>(lines: &[S], encoding: TextEncoding) -> Self {
        let mut text = Vec::with_capacity(TEXTUAL_HEADER_BYTES);
        for i in 0..LINES {
            let line = lines.get(i).map(|s| s.as_ref()).unwrap_or("");
            let mut chars: Vec<char> =
                line.chars().map(|c| if u32::from(c) < 0x100 { c } else { '?' }).take(COLUMNS).collect();
            chars.resize(COLUMNS, ' ');
            text.extend(chars);
        }
        Self { text, encoding }
    }

    pub fn encoding(&self) -> TextEncoding {
        self.encoding
    }

    /// The 40 lines, control characters shown as spaces and trailing spaces removed.
    pub fn lines(&self) -> Vec<String> {
        self.text
            .chunks(COLUMNS)
            .map(|line| {
                let s: String = line.iter().map(|&c| if c.is_control() { ' ' } else { c }).collect();
                s.trim_end().to_string()
            })
            .collect()
    }

    /// Whether this header is the `((SEG: EndText))` stanza that closes a variable number of
    /// extended textual headers.
    pub fn is_end_text(&self) -> bool {
        let s: String = self.text.iter().collect();
        s.contains(END_TEXT_STANZA)
    }

    /// The 3200 bytes in this header's encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self.encoding {
            TextEncoding::Ebcdic => self.text.iter().map(|&c| ebcdic::from_char(c)).collect(),
            TextEncoding::Ascii => self.text.iter().map(|&c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_in_both_encodings() {
        let lines = ["C 1 SURVEY X", "C 2 INLINE BYTES 189-192", "C40 END TEXTUAL HEADER"];
        for enc in [TextEncoding::Ebcdic, TextEncoding::Ascii] {
            let h = TextualHeader::from_lines(&lines, enc);
            let bytes = h.to_bytes();
            assert_eq!(bytes.len(), 3200);
            let back = TextualHeader::from_bytes(&bytes);
            assert_eq!(back.encoding(), enc);
            assert_eq!(back.lines()[..3], lines);
            assert_eq!(back.lines()[3], "");
            assert_eq!(back, h);
        }
        assert_eq!(
            TextualHeader::from_bytes(&TextualHeader::from_lines(&lines, TextEncoding::Ebcdic).to_bytes()[..])
                .to_bytes()[0],
            0xC3
        );
    }

    #[test]
    fn long_lines_are_cut_and_end_text_found() {
        let long = "x".repeat(100);
        let h = TextualHeader::from_lines(&[long.as_str(), END_TEXT_STANZA], TextEncoding::Ascii);
        assert_eq!(h.lines()[0].len(), 80);
        assert_eq!(h.lines()[1], END_TEXT_STANZA);
        assert!(h.is_end_text());
    }
}
