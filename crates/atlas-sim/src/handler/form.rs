//! `application/x-www-form-urlencoded` decoding, for the token request body and for query strings.

/// `application/x-www-form-urlencoded` pairs; None when a byte sequence does not decode.
pub(super) fn parse_form(body: &[u8]) -> Option<Vec<(String, String)>> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((percent_decode(key)?, percent_decode(value)?))
        })
        .collect()
}

fn percent_decode(input: &str) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(index + 1..index + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                index += 2;
            }
            other => out.push(other),
        }
        index += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        assert_eq!(
            parse_form(b"grant_type=client_credentials&scope=a+b%2Fc"),
            Some(vec![
                ("grant_type".to_owned(), "client_credentials".to_owned()),
                ("scope".to_owned(), "a b/c".to_owned())
            ])
        );
        assert_eq!(parse_form(b"a=%zz"), None);
        assert_eq!(parse_form(b"a=%4"), None);
        assert_eq!(
            parse_form(b"a=%C3%A9"),
            Some(vec![("a".to_owned(), "é".to_owned())])
        );
    }
}
