//! What a file's bytes are: UTF-8 (a byte-order mark dropped) passes through as it is,
//! UTF-16 LE or BE with a byte-order mark (Excel's "Unicode text") is transcoded to UTF-8 as
//! it is read, and what is neither gets a sentence a person understands.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::Path;

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs_io::DecodeReaderBytesBuilder;

use crate::input::InputError;

/// How many bytes of the start of a file are looked at for a byte-order mark and for the
/// zero bytes of UTF-16 written without one.
const HEAD: usize = 512;

/// The encoding a file was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 without a byte-order mark (or plain ASCII).
    Utf8,
    /// UTF-8 with a byte-order mark (dropped).
    Utf8Bom,
    /// UTF-16 little-endian with a byte-order mark (transcoded).
    Utf16Le,
    /// UTF-16 big-endian with a byte-order mark (transcoded).
    Utf16Be,
}

impl Encoding {
    /// Whether the file started with a byte-order mark.
    pub fn had_bom(self) -> bool {
        self != Encoding::Utf8
    }
}

/// The file's text as UTF-8 bytes, and the encoding it was found in.
pub struct Opened {
    pub reader: Box<dyn Read>,
    pub encoding: Encoding,
}

/// Opens `path` and decides its encoding from its first bytes.
pub fn open(path: &Path) -> Result<Opened, InputError> {
    let mut file = File::open(path).map_err(InputError::Read)?;
    let mut head = Vec::with_capacity(HEAD);
    (&mut file)
        .take(HEAD as u64)
        .read_to_end(&mut head)
        .map_err(InputError::Read)?;
    if head.starts_with(&[0xFF, 0xFE, 0, 0]) || head.starts_with(&[0, 0, 0xFE, 0xFF]) {
        return Err(InputError::Invalid(
            "the file is UTF-32 text, which this tool does not read: save it as UTF-8 \
             (in Excel: File > Save As > \"CSV UTF-8 (Comma delimited)\")"
                .to_owned(),
        ));
    }
    let utf16 = if head.starts_with(&[0xFF, 0xFE]) {
        Some(Encoding::Utf16Le)
    } else if head.starts_with(&[0xFE, 0xFF]) {
        Some(Encoding::Utf16Be)
    } else {
        None
    };
    if let Some(encoding) = utf16 {
        // The decoder sniffs the same byte-order mark, drops it and transcodes; a lone
        // surrogate becomes U+FFFD (the text has no other way to say it).
        let reader = DecodeReaderBytesBuilder::new()
            .strip_bom(true)
            .build(Cursor::new(head).chain(file));
        return Ok(Opened {
            reader: Box::new(reader),
            encoding,
        });
    }
    if let Some(sentence) = utf16_without_bom(&head) {
        return Err(InputError::Invalid(sentence));
    }
    let (skip, encoding) = if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        (3, Encoding::Utf8Bom)
    } else {
        (0, Encoding::Utf8)
    };
    head.drain(..skip);
    Ok(Opened {
        reader: Box::new(Cursor::new(head).chain(file)),
        encoding,
    })
}

/// A sentence when the start of a file looks like UTF-16 written without a byte-order mark:
/// text where every other byte is zero.
fn utf16_without_bom(head: &[u8]) -> Option<String> {
    let pairs = head.len() / 2;
    if pairs < 2 {
        return None;
    }
    let zeros_at = |parity: usize| {
        head.iter()
            .skip(parity)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count()
    };
    let (even, odd) = (zeros_at(0), zeros_at(1));
    let order = if odd * 4 >= pairs * 3 && even == 0 {
        "little-endian"
    } else if even * 4 >= pairs * 3 && odd == 0 {
        "big-endian"
    } else {
        return None;
    };
    Some(format!(
        "the file looks like UTF-16 ({order}) text without a byte-order mark, which cannot be \
         told from other text for sure: save it as UTF-8 (in Excel: File > Save As > \
         \"CSV UTF-8 (Comma delimited)\"), or as \"Unicode Text\", which writes the mark"
    ))
}

/// The sentence for a header line (`what`) that is not UTF-8: the encoding it most likely is
/// (chardetng's guess), how the line reads in it, and how to save the file as UTF-8.
pub fn not_utf8(what: &str, bytes: &[u8]) -> String {
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let encoding = detector.guess(None, Utf8Detection::Deny);
    let (text, _, _) = encoding.decode(bytes);
    let text = text.trim_end_matches(['\r', '\n']);
    let name = encoding.name();
    let origin = if name == "windows-1252" {
        " (what Excel writes for \"CSV (Comma delimited)\" on Windows)"
    } else {
        ""
    };
    format!(
        "{what} is not UTF-8 text: it looks like {name}{origin}, in which it reads {text:?}. \
         Save the file as UTF-8 (in Excel: File > Save As > \"CSV UTF-8 (Comma delimited)\"; \
         in LibreOffice: Save As, \"Edit filter settings\", character set \"Unicode (UTF-8)\"), \
         or convert it: iconv -f {name} -t UTF-8 FILE > FILE.utf8.csv"
    )
}

/// Reads into `buf`, retrying an interrupted read; 0 at the end of the input.
pub fn read_some(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize, InputError> {
    loop {
        match reader.read(buf) {
            Ok(n) => return Ok(n),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(InputError::Read(error)),
        }
    }
}
