//! Header value encoding of the 2026-07-28 Streamable HTTP transport.

use base64::Engine as _;

const PREFIX: &str = "=?base64?";
const SUFFIX: &str = "?=";

/// Encodes a value for `Mcp-Name` or `Mcp-Param-*`: unchanged when it is plain visible ASCII
/// (spaces allowed inside), otherwise — non-ASCII, control characters, leading or trailing
/// whitespace, or a plain value that looks like the sentinel itself — as
/// `=?base64?<standard Base64 of the UTF-8 bytes>?=`.
///
/// ```
/// use conduit_transport_http::encode_header_value;
/// assert_eq!(encode_header_value("get_weather"), "get_weather");
/// assert_eq!(encode_header_value("Hello, 世界"), "=?base64?SGVsbG8sIOS4lueVjA==?=");
/// assert_eq!(encode_header_value(" padded "), "=?base64?IHBhZGRlZCA=?=");
/// ```
pub fn encode_header_value(value: &str) -> String {
    let visible_ascii = value.bytes().all(|b| (0x20..=0x7e).contains(&b));
    let padded = value.starts_with(' ') || value.ends_with(' ');
    let looks_encoded = value.starts_with(PREFIX) && value.ends_with(SUFFIX);
    if visible_ascii && !padded && !looks_encoded {
        value.to_owned()
    } else {
        let encoded = base64::engine::general_purpose::STANDARD.encode(value.as_bytes());
        format!("{PREFIX}{encoded}{SUFFIX}")
    }
}

#[cfg(test)]
mod tests {
    use super::encode_header_value;

    #[test]
    fn spec_examples() {
        assert_eq!(encode_header_value("us-west1"), "us-west1");
        assert_eq!(
            encode_header_value("line1\nline2"),
            "=?base64?bGluZTEKbGluZTI=?="
        );
        assert_eq!(
            encode_header_value("=?base64?literal?="),
            "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="
        );
        assert_eq!(encode_header_value("File with spaces"), "File with spaces");
        assert_eq!(encode_header_value("tab\there"), "=?base64?dGFiCWhlcmU=?=");
    }
}
