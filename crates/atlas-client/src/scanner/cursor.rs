//! The scanner's reading of JSON bytes: a cursor over one body that finds strings eight bytes at a
//! time, reads Atlas' `…Z` dates directly, and declines anything it does not fully understand.

/// The scanner did not finish: the body goes to the reference decoder.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Declined;

pub(crate) type Scan<T> = Result<T, Declined>;

/// Nesting the scanner follows (Atlas' bodies nest five deep); serde_json's own limit is 128.
const MAX_DEPTH: u32 = 32;

pub(crate) struct Cursor<'a> {
    body: &'a [u8],
    at: usize,
    depth: u32,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(body: &'a [u8]) -> Cursor<'a> {
        Cursor {
            body,
            at: 0,
            depth: 0,
        }
    }

    #[inline]
    pub(crate) fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.body.get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte that is not whitespace, not consumed.
    #[inline]
    pub(crate) fn peek(&mut self) -> Scan<u8> {
        self.skip_whitespace();
        self.body.get(self.at).copied().ok_or(Declined)
    }

    #[inline]
    pub(crate) fn expect(&mut self, byte: u8) -> Scan<()> {
        if self.peek()? != byte {
            return Err(Declined);
        }
        self.at += 1;
        Ok(())
    }

    /// Only whitespace may follow the top-level value.
    pub(crate) fn end(&mut self) -> Scan<()> {
        self.skip_whitespace();
        if self.at == self.body.len() {
            Ok(())
        } else {
            Err(Declined)
        }
    }

    #[inline]
    pub(crate) fn enter(&mut self) -> Scan<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Declined);
        }
        Ok(())
    }

    /// A string without escape sequences or control characters: the bytes between its quotes, not
    /// checked as UTF-8, and whether they are ASCII.
    #[inline]
    pub(crate) fn raw_string(&mut self) -> Scan<(&'a [u8], bool)> {
        self.expect(b'"')?;
        let start = self.at;
        let (length, ascii) = special_byte(&self.body[start..]).ok_or(Declined)?;
        let end = start + length;
        if self.body[end] != b'"' {
            return Err(Declined);
        }
        self.at = end + 1;
        Ok((&self.body[start..end], ascii))
    }

    /// A string, checked as UTF-8 (as bytes: most need no conversion to `str`).
    #[inline]
    pub(crate) fn text(&mut self) -> Scan<&'a [u8]> {
        let (bytes, ascii) = self.raw_string()?;
        if !ascii && std::str::from_utf8(bytes).is_err() {
            return Err(Declined);
        }
        Ok(bytes)
    }

    /// A string or `null`.
    #[inline]
    pub(crate) fn optional_text(&mut self) -> Scan<Option<&'a [u8]>> {
        if self.null()? {
            return Ok(None);
        }
        self.text().map(Some)
    }

    /// An array of strings, appended to `into`.
    pub(crate) fn texts(&mut self, into: &mut Vec<&'a [u8]>) -> Scan<()> {
        self.array(|cursor| {
            into.push(cursor.text()?);
            Ok(())
        })
        .map(drop)
    }

    /// An array of strings (appended to `into`) or `null`.
    pub(crate) fn optional_texts(&mut self, into: &mut Vec<&'a [u8]>) -> Scan<()> {
        if self.null()? {
            return Ok(());
        }
        self.texts(into)
    }

    /// An RFC 3339 date-time string, in seconds since the epoch.
    pub(crate) fn date(&mut self) -> Scan<i64> {
        epoch_seconds(self.text()?)
    }

    /// Consumes `null` if it comes next.
    #[inline]
    pub(crate) fn null(&mut self) -> Scan<bool> {
        if self.peek()? != b'n' {
            return Ok(false);
        }
        self.literal(b"null")?;
        Ok(true)
    }

    pub(crate) fn literal(&mut self, word: &[u8]) -> Scan<()> {
        if !self.body[self.at..].starts_with(word) {
            return Err(Declined);
        }
        self.at += word.len();
        Ok(())
    }

    /// An integer without fraction or exponent: its value when it is a `u64`, `None` when negative
    /// or beyond `u64` (still valid JSON).
    pub(crate) fn integer(&mut self) -> Scan<Option<u64>> {
        self.skip_whitespace();
        let negative = self.body.get(self.at) == Some(&b'-');
        if negative {
            self.at += 1;
        }
        let start = self.at;
        let mut value = Some(0u64);
        while let Some(&digit @ b'0'..=b'9') = self.body.get(self.at) {
            value = value
                .and_then(|v| v.checked_mul(10))
                .and_then(|v| v.checked_add(u64::from(digit - b'0')));
            self.at += 1;
        }
        let digits = &self.body[start..self.at];
        // No digits, a leading zero (invalid JSON), or a fraction or exponent (left to serde_json,
        // which parses them as floats and refuses some).
        if digits.is_empty()
            || (digits.len() > 1 && digits[0] == b'0')
            || matches!(self.body.get(self.at), Some(b'.' | b'e' | b'E'))
        {
            return Err(Declined);
        }
        Ok(if negative { None } else { value })
    }

    /// An object: `field` is called with each key (valid UTF-8, unescaped) and must consume its value.
    pub(crate) fn object(
        &mut self,
        mut field: impl FnMut(&mut Cursor<'a>, &'a [u8]) -> Scan<()>,
    ) -> Scan<()> {
        self.expect(b'{')?;
        self.enter()?;
        if self.peek()? == b'}' {
            self.at += 1;
        } else {
            loop {
                let key = self.text()?;
                self.expect(b':')?;
                field(self, key)?;
                match self.peek()? {
                    b',' => self.at += 1,
                    b'}' => {
                        self.at += 1;
                        break;
                    }
                    _ => return Err(Declined),
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// An array: `element` is called for each element and must consume it. Returns how many there were.
    pub(crate) fn array(
        &mut self,
        mut element: impl FnMut(&mut Cursor<'a>) -> Scan<()>,
    ) -> Scan<usize> {
        self.expect(b'[')?;
        self.enter()?;
        let mut count = 0;
        if self.peek()? == b']' {
            self.at += 1;
        } else {
            loop {
                element(self)?;
                count += 1;
                match self.peek()? {
                    b',' => self.at += 1,
                    b']' => {
                        self.at += 1;
                        break;
                    }
                    _ => return Err(Declined),
                }
            }
        }
        self.depth -= 1;
        Ok(count)
    }

    /// Any value, checked as serde_json checks what it ignores.
    pub(crate) fn skip_value(&mut self) -> Scan<()> {
        match self.peek()? {
            b'"' => self.raw_string().map(drop),
            b'{' => self.object(|cursor, _| cursor.skip_value()),
            b'[' => self.array(Cursor::skip_value).map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.integer().map(drop),
            _ => Err(Declined),
        }
    }
}

/// Where the first `"`, `\\` or control character of `bytes` is, and whether every byte before it is
/// ASCII. Eight bytes at a time, as serde_json does: this loop is where the scanner spends most of
/// its time, and noting the high bits on the way spares a UTF-8 check of most strings.
pub(crate) fn special_byte(bytes: &[u8]) -> Option<(usize, bool)> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte below `n`; exact for the lowest such byte, which is all we read.
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS;
    let mut chunks = bytes.chunks_exact(8);
    let (mut offset, mut high_bits) = (0, 0);
    for chunk in chunks.by_ref() {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let special = below(word ^ (ONES * u64::from(b'"')), 1)
            | below(word ^ (ONES * u64::from(b'\\')), 1)
            | below(word, 0x20);
        if special != 0 {
            let index = special.trailing_zeros() / 8;
            // Only the bytes before the special one (little-endian: the low ones).
            let before = (1u64 << (index * 8)).wrapping_sub(1);
            let ascii = (high_bits | (word & before)) & HIGHS == 0;
            return Some((offset + index as usize, ascii));
        }
        high_bits |= word;
        offset += 8;
    }
    let rest = chunks.remainder();
    let index = rest
        .iter()
        .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)?;
    let ascii = high_bits & HIGHS == 0 && rest[..index].is_ascii();
    Some((offset + index, ascii))
}

/// Seconds since the epoch of an RFC 3339 date-time, given as checked UTF-8. The form Atlas sends
/// (`2026-03-01T10:00:00Z`) is read directly; every other form (offsets, fractions, anything invalid)
/// goes through jiff, as in the reference decoders.
pub(crate) fn epoch_seconds(text: &[u8]) -> Scan<i64> {
    if let Some(seconds) = utc_seconds(text) {
        return Ok(seconds);
    }
    let text = std::str::from_utf8(text).map_err(|_| Declined)?;
    text.parse::<jiff::Timestamp>()
        .map(|t| t.as_second())
        .map_err(|_| Declined)
}

/// `YYYY-MM-DDTHH:MM:SSZ` exactly, with a valid date and time; `None` for anything else.
pub(crate) fn utc_seconds(text: &[u8]) -> Option<i64> {
    let [
        y0,
        y1,
        y2,
        y3,
        b'-',
        m0,
        m1,
        b'-',
        d0,
        d1,
        b'T',
        h0,
        h1,
        b':',
        n0,
        n1,
        b':',
        s0,
        s1,
        b'Z',
    ] = *text
    else {
        return None;
    };
    if ![y0, y1, y2, y3, m0, m1, d0, d1, h0, h1, n0, n1, s0, s1]
        .iter()
        .all(u8::is_ascii_digit)
    {
        return None;
    }
    let two = |tens: u8, units: u8| i64::from(tens - b'0') * 10 + i64::from(units - b'0');
    let (year, month, day) = (two(y0, y1) * 100 + two(y2, y3), two(m0, m1), two(d0, d1));
    let (hour, minute, second) = (two(h0, h1), two(n0, n1), two(s0, s1));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    // A leap second (:60) is left to jiff.
    if day == 0 || day > month_days || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Days from 1970-01-01 (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second;
    // jiff's range ends a little before 10000-01-01 (and starts long before year 0): in the last year,
    // jiff's error is the answer.
    if year == 9999 && jiff::Timestamp::from_second(seconds).is_err() {
        return None;
    }
    Some(seconds)
}
