//! The HTTP-date grammar (RFC 9110 §5.6.7), which `Retry-After` and `Sunset` are written in.

use jiff::Timestamp;

/// An HTTP-date (RFC 9110 §5.6.7, IMF-fixdate), which is RFC 2822 with the `GMT` zone.
pub(crate) fn parse(value: &str) -> Option<Timestamp> {
    // A wrong weekday is the sender's typo, not a reason to ignore the date.
    static PARSER: jiff::fmt::rfc2822::DateTimeParser =
        jiff::fmt::rfc2822::DateTimeParser::new().relaxed_weekday(true);
    PARSER.parse_timestamp(value.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_parse_in_the_forms_atlas_documents() {
        let expected: Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
        assert_eq!(parse("Sun, 01 Jun 2025 00:00:00 GMT"), Some(expected));
        assert_eq!(parse("Sun, 1 Jun 2025 00:00:00 GMT"), Some(expected));
        assert_eq!(
            parse("Mon, 01 Jun 2025 00:00:00 GMT"),
            Some(expected),
            "wrong weekday"
        );
        assert_eq!(parse("@1688169599"), None);
        assert_eq!(parse("2027-07-01"), None);
    }
}
