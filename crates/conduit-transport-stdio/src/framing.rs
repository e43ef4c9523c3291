//! Newline-delimited framing: reading one bounded line at a time, and splitting a command line.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Why a line could not be read.
#[derive(Debug)]
pub(crate) enum LineError {
    /// The line exceeded the limit; the bytes seen so far were consumed, the rest of the line
    /// was not.
    TooLong,
    /// Reading failed.
    Io(std::io::Error),
}

/// Reads one line into `buf` (without its `\n` and an optional trailing `\r`). `Ok(false)` at
/// end of input with nothing read; a last line without a newline is returned as a line.
pub(crate) async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> Result<bool, LineError> {
    buf.clear();
    loop {
        let available = reader.fill_buf().await.map_err(LineError::Io)?;
        if available.is_empty() {
            return Ok(!buf.is_empty());
        }
        match available.iter().position(|b| *b == b'\n') {
            Some(i) => {
                if buf.len() + i > max {
                    reader.consume(i);
                    return Err(LineError::TooLong);
                }
                buf.extend_from_slice(&available[..i]);
                reader.consume(i + 1);
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
                return Ok(true);
            }
            None => {
                let n = available.len();
                if buf.len() + n > max {
                    reader.consume(n);
                    return Err(LineError::TooLong);
                }
                buf.extend_from_slice(available);
                reader.consume(n);
            }
        }
    }
}

/// Skips the rest of the current line (after [`LineError::TooLong`]). `Ok(false)` at end of
/// input.
pub(crate) async fn skip_line<R: AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<bool> {
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(false);
        }
        match available.iter().position(|b| *b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(true);
            }
            None => {
                let n = available.len();
                reader.consume(n);
            }
        }
    }
}

/// Splits a command line into words the way a POSIX shell does for plain words, single quotes,
/// double quotes (with `\"`, `\\`, `\$` and `` \` `` escapes) and backslash escapes — without
/// expansions, globbing, pipes or redirections.
pub fn split_command_line(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => word.push(c),
                    None => return Err("a trailing backslash escapes nothing".into()),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            split_command_line(r#"node  server.js --name "a b" 'c d' e\ f"#).unwrap(),
            ["node", "server.js", "--name", "a b", "c d", "e f"]
        );
        assert_eq!(split_command_line(r#""" x"#).unwrap(), ["", "x"]);
        assert!(split_command_line("a 'b").is_err());
        assert!(split_command_line("a \"b").is_err());
        assert!(split_command_line("a \\").is_err());
        assert!(split_command_line("   ").unwrap().is_empty());
    }

    #[tokio::test]
    async fn reads_bounded_lines() {
        let input: &[u8] = b"one\r\ntwo\n0123456789ABC\nlast";
        let mut reader = tokio::io::BufReader::with_capacity(4, input);
        let mut buf = Vec::new();
        assert!(read_line(&mut reader, &mut buf, 10).await.unwrap());
        assert_eq!(buf, b"one");
        assert!(read_line(&mut reader, &mut buf, 10).await.unwrap());
        assert_eq!(buf, b"two");
        assert!(matches!(
            read_line(&mut reader, &mut buf, 10).await,
            Err(LineError::TooLong)
        ));
        assert!(skip_line(&mut reader).await.unwrap());
        assert!(read_line(&mut reader, &mut buf, 10).await.unwrap());
        assert_eq!(buf, b"last");
        assert!(!read_line(&mut reader, &mut buf, 10).await.unwrap());
    }
}
