//! The skills extension (`io.modelcontextprotocol/skills`, SEP-2640): a server lists skills with
//! `skills/list` (each entry: the skill's `SKILL.md` URI, its frontmatter, and every file's
//! `{uri, digest, size}`), and serves the files through `resources/read`.
//!
//! The client never fetches a file ahead of need: [`Client::list_skills`] reads nothing,
//! [`Client::load_skill`] reads the skill's `SKILL.md` only, and [`Client::read_skill_file`] one
//! supporting file when asked. Every file read is verified before it is returned: its byte
//! length against the entry's `size`, its SHA-256 against the entry's `digest`, and for
//! `SKILL.md` its YAML frontmatter field by field against the entry's `frontmatter`. Content
//! that fails is refused with [`Error::SkillVerification`] and never handed out.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use crate::{Client, Error};

/// The extension's identifier in `capabilities.extensions`.
pub const SKILLS_EXTENSION: &str = "io.modelcontextprotocol/skills";

/// One file of a skill, as its entry lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SkillResource {
    /// The file's URI (read with `resources/read`).
    pub uri: String,
    /// `sha256:<hex>` of the file's bytes.
    pub digest: String,
    /// The file's length in bytes.
    pub size: u64,
    /// Fields this client does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One skill, as `skills/list` or `skills/get` describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SkillEntry {
    /// The URI of the skill's `SKILL.md`.
    pub uri: String,
    /// The `SKILL.md` frontmatter (`name`, `description`, …), as the server declares it.
    pub frontmatter: Map<String, Value>,
    /// Every file of the skill, `SKILL.md` included.
    pub resources: Vec<SkillResource>,
    /// Fields this client does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SkillEntry {
    /// The skill's name (`frontmatter.name`).
    pub fn name(&self) -> Option<&str> {
        self.frontmatter.get("name").and_then(Value::as_str)
    }

    /// The skill's description (`frontmatter.description`).
    pub fn description(&self) -> Option<&str> {
        self.frontmatter.get("description").and_then(Value::as_str)
    }

    fn resource(&self, uri: &str) -> Option<&SkillResource> {
        self.resources.iter().find(|r| r.uri == uri)
    }
}

/// A loaded skill: its entry and its verified `SKILL.md`.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedSkill {
    /// The entry it was loaded from.
    pub entry: SkillEntry,
    /// The whole `SKILL.md`, verified.
    pub skill_md: String,
    /// The body after the frontmatter.
    pub body: String,
}

impl Client {
    /// Every skill the server offers (`skills/list`, all pages). Reads no file.
    pub async fn list_skills(&self) -> Result<Vec<SkillEntry>, Error> {
        self.list_all("skills/list", "skills").await
    }

    /// One skill's entry by the URI of its `SKILL.md` (`skills/get`). Reads no file.
    pub async fn get_skill(&self, uri: &str) -> Result<SkillEntry, Error> {
        let mut result = self
            .request("skills/get", Some(json!({ "uri": uri })))
            .await?;
        // The entry may be the result itself or sit under `skill`.
        let value = match result.get_mut("skill").map(Value::take) {
            Some(v @ Value::Object(_)) => v,
            _ => result,
        };
        serde_json::from_value(value)
            .map_err(|e| Error::protocol("skills/get", format!("malformed skill entry: {e}")))
    }

    /// Loads a skill: reads its `SKILL.md` and verifies its size, digest and frontmatter against
    /// `entry`. Supporting files are not read (see [`Client::read_skill_file`]).
    pub async fn load_skill(&self, entry: &SkillEntry) -> Result<LoadedSkill, Error> {
        let bytes = self.read_skill_file(entry, &entry.uri).await?;
        let skill_md = String::from_utf8(bytes).map_err(|_| Error::SkillVerification {
            uri: entry.uri.clone(),
            reason: "SKILL.md is not UTF-8".into(),
        })?;
        let (frontmatter, body) =
            frontmatter::split(&skill_md).map_err(|reason| Error::SkillVerification {
                uri: entry.uri.clone(),
                reason,
            })?;
        let parsed =
            frontmatter::parse(frontmatter).map_err(|reason| Error::SkillVerification {
                uri: entry.uri.clone(),
                reason: format!("unreadable frontmatter: {reason}"),
            })?;
        compare_frontmatter(&parsed, &entry.frontmatter).map_err(|reason| {
            Error::SkillVerification {
                uri: entry.uri.clone(),
                reason,
            }
        })?;
        Ok(LoadedSkill {
            entry: entry.clone(),
            body: body.to_owned(),
            skill_md,
        })
    }

    /// Reads one file the entry lists and returns its bytes once they match the entry's `size`
    /// and `digest`. A URI the entry does not list is refused without being read.
    pub async fn read_skill_file(&self, entry: &SkillEntry, uri: &str) -> Result<Vec<u8>, Error> {
        let listed = entry
            .resource(uri)
            .ok_or_else(|| Error::SkillVerification {
                uri: uri.to_owned(),
                reason: format!("the entry of skill {} does not list this file", entry.uri),
            })?;
        let result = self.read_resource(uri).await?;
        let contents = serde_json::to_value(&result.contents)
            .map_err(|e| Error::protocol("resources/read", e.to_string()))?;
        let content = contents
            .as_array()
            .and_then(|c| {
                c.iter()
                    .find(|c| c.get("uri").and_then(Value::as_str) == Some(uri))
                    .or_else(|| c.first())
            })
            .ok_or_else(|| Error::SkillVerification {
                uri: uri.to_owned(),
                reason: "resources/read returned no content".into(),
            })?;
        let bytes = if let Some(text) = content.get("text").and_then(Value::as_str) {
            text.as_bytes().to_vec()
        } else if let Some(blob) = content.get("blob").and_then(Value::as_str) {
            base64::engine::general_purpose::STANDARD
                .decode(blob)
                .map_err(|e| Error::SkillVerification {
                    uri: uri.to_owned(),
                    reason: format!("the blob is not valid Base64: {e}"),
                })?
        } else {
            return Err(Error::SkillVerification {
                uri: uri.to_owned(),
                reason: "the content has neither text nor blob".into(),
            });
        };
        verify(listed, &bytes)?;
        Ok(bytes)
    }
}

/// Checks bytes against a listed size and digest.
pub fn verify(listed: &SkillResource, bytes: &[u8]) -> Result<(), Error> {
    let fail = |reason: String| Error::SkillVerification {
        uri: listed.uri.clone(),
        reason,
    };
    if bytes.len() as u64 != listed.size {
        return Err(fail(format!(
            "size mismatch: the entry says {} bytes, the server sent {}",
            listed.size,
            bytes.len()
        )));
    }
    let Some(expected) = listed.digest.strip_prefix("sha256:") else {
        return Err(fail(format!(
            "unsupported digest {:?} (expected sha256:<hex>)",
            listed.digest
        )));
    };
    let actual = hex(&Sha256::digest(bytes));
    if !expected.eq_ignore_ascii_case(&actual) {
        return Err(fail(format!(
            "digest mismatch: the entry says sha256:{expected}, the content is sha256:{actual}"
        )));
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares the parsed frontmatter with the entry's, field by field.
fn compare_frontmatter(
    parsed: &Map<String, Value>,
    declared: &Map<String, Value>,
) -> Result<(), String> {
    for (key, want) in declared {
        match parsed.get(key) {
            None => {
                return Err(format!(
                    "frontmatter field `{key}` is missing from SKILL.md"
                ))
            }
            Some(got) if !same(got, want) => {
                return Err(format!(
                    "frontmatter field `{key}` differs: the entry says {want}, SKILL.md says {got}"
                ))
            }
            Some(_) => {}
        }
    }
    if let Some(key) = parsed.keys().find(|k| !declared.contains_key(*k)) {
        return Err(format!(
            "SKILL.md has frontmatter field `{key}` that the entry does not declare"
        ));
    }
    Ok(())
}

/// JSON equality with numbers compared by value.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// A small YAML reader for `SKILL.md` frontmatter: block mappings (nested by indentation),
/// block and flow sequences of scalars, plain / single-quoted / double-quoted scalars, and
/// literal (`|`) and folded (`>`) block scalars. Anything else is an error, so unreadable
/// frontmatter is refused rather than guessed at.
pub mod frontmatter {
    use serde_json::{Map, Number, Value};

    /// Splits `SKILL.md` into its frontmatter text and body.
    pub fn split(doc: &str) -> Result<(&str, &str), String> {
        let doc = doc.strip_prefix('\u{feff}').unwrap_or(doc);
        let rest = doc
            .strip_prefix("---\n")
            .or_else(|| doc.strip_prefix("---\r\n"))
            .ok_or("SKILL.md does not start with a `---` frontmatter block")?;
        let mut offset = 0;
        for line in rest.split_inclusive('\n') {
            if line.trim_end() == "---" {
                return Ok((&rest[..offset], &rest[offset + line.len()..]));
            }
            offset += line.len();
        }
        Err("the frontmatter block is not closed by `---`".into())
    }

    struct Line<'a> {
        indent: usize,
        text: &'a str,
    }

    /// Parses frontmatter text into a JSON object.
    pub fn parse(text: &str) -> Result<Map<String, Value>, String> {
        let lines: Vec<Line<'_>> = text
            .lines()
            .filter(|l| {
                let t = l.trim();
                !t.is_empty() && !t.starts_with('#')
            })
            .map(|l| {
                let indent = l.len() - l.trim_start_matches(' ').len();
                Line {
                    indent,
                    text: l[indent..].trim_end(),
                }
            })
            .collect();
        if lines.iter().any(|l| l.text.starts_with('\t')) {
            return Err("tabs are not allowed for indentation".into());
        }
        let mut pos = 0;
        let map = mapping(&lines, &mut pos, 0)?;
        if pos != lines.len() {
            return Err(format!("unexpected line `{}`", lines[pos].text));
        }
        Ok(map)
    }

    fn mapping(
        lines: &[Line<'_>],
        pos: &mut usize,
        indent: usize,
    ) -> Result<Map<String, Value>, String> {
        let mut map = Map::new();
        while *pos < lines.len() && lines[*pos].indent == indent {
            let line = &lines[*pos];
            let (key, rest) = split_key(line.text)?;
            *pos += 1;
            let value = if rest.is_empty() {
                match lines.get(*pos) {
                    Some(next) if next_is_dash(lines, *pos, indent) => {
                        sequence(lines, pos, next.indent)?
                    }
                    Some(next) if next.indent > indent => {
                        Value::Object(mapping(lines, pos, next.indent)?)
                    }
                    _ => Value::Null,
                }
            } else if rest.starts_with('|') || rest.starts_with('>') {
                block_scalar(rest, lines, pos, indent)?
            } else {
                scalar(rest)?
            };
            if map.insert(key.clone(), value).is_some() {
                return Err(format!("key `{key}` appears twice"));
            }
        }
        if *pos < lines.len() && lines[*pos].indent > indent {
            return Err(format!("unexpected indentation at `{}`", lines[*pos].text));
        }
        Ok(map)
    }

    fn next_is_dash(lines: &[Line<'_>], pos: usize, indent: usize) -> bool {
        lines
            .get(pos)
            .is_some_and(|l| l.indent >= indent && (l.text == "-" || l.text.starts_with("- ")))
    }

    fn sequence(lines: &[Line<'_>], pos: &mut usize, indent: usize) -> Result<Value, String> {
        let mut items = Vec::new();
        while *pos < lines.len() && lines[*pos].indent == indent {
            let Some(item) = lines[*pos].text.strip_prefix("- ") else {
                break;
            };
            items.push(scalar(item.trim())?);
            *pos += 1;
        }
        Ok(Value::Array(items))
    }

    fn block_scalar(
        header: &str,
        lines: &[Line<'_>],
        pos: &mut usize,
        indent: usize,
    ) -> Result<Value, String> {
        let folded = header.starts_with('>');
        let chomp = &header[1..];
        let (strip, keep) = match chomp {
            "" => (false, false),
            "-" => (true, false),
            "+" => (false, true),
            other => {
                return Err(format!(
                    "unsupported block scalar header `{}{other}`",
                    &header[..1]
                ))
            }
        };
        let mut parts = Vec::new();
        let mut body_indent = None;
        while *pos < lines.len() && lines[*pos].indent > indent {
            let l = &lines[*pos];
            let base = *body_indent.get_or_insert(l.indent);
            let extra = " ".repeat(l.indent.saturating_sub(base));
            parts.push(format!("{extra}{}", l.text));
            *pos += 1;
        }
        let mut text = if folded {
            parts.join(" ")
        } else {
            parts.join("\n")
        };
        if !strip && !text.is_empty() {
            text.push('\n');
        }
        let _ = keep;
        Ok(Value::String(text))
    }

    fn split_key(text: &str) -> Result<(String, &str), String> {
        let (key, rest) = if let Some(stripped) = text.strip_prefix('"') {
            let end = stripped.find('"').ok_or("unterminated quoted key")?;
            let rest = stripped[end + 1..]
                .strip_prefix(':')
                .ok_or_else(|| format!("expected `:` after key in `{text}`"))?;
            (stripped[..end].to_owned(), rest)
        } else {
            let colon = text
                .find(": ")
                .or_else(|| text.strip_suffix(':').map(|t| t.len()))
                .ok_or_else(|| format!("expected `key: value`, found `{text}`"))?;
            (text[..colon].trim().to_owned(), &text[colon + 1..])
        };
        if key.is_empty() {
            return Err(format!("empty key in `{text}`"));
        }
        Ok((key, rest.trim()))
    }

    fn scalar(text: &str) -> Result<Value, String> {
        if let Some(inner) = text.strip_prefix('"') {
            let inner = inner
                .strip_suffix('"')
                .ok_or_else(|| format!("unterminated double quote in `{text}`"))?;
            return serde_json::from_str::<String>(&format!("\"{inner}\""))
                .map(Value::String)
                .map_err(|e| format!("bad double-quoted string `{text}`: {e}"));
        }
        if let Some(inner) = text.strip_prefix('\'') {
            let inner = inner
                .strip_suffix('\'')
                .ok_or_else(|| format!("unterminated single quote in `{text}`"))?;
            return Ok(Value::String(inner.replace("''", "'")));
        }
        if let Some(inner) = text.strip_prefix('[') {
            let inner = inner
                .strip_suffix(']')
                .ok_or_else(|| format!("unterminated flow sequence `{text}`"))?;
            if inner.contains(['[', '{', '"', '\'']) {
                return Err(format!("unsupported flow sequence `{text}`"));
            }
            let items = inner
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(scalar)
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Value::Array(items));
        }
        if text.starts_with(['{', '&', '*', '!', '|', '>', '%', '@', '`']) {
            return Err(format!("unsupported YAML value `{text}`"));
        }
        // A comment ends a plain scalar.
        let plain = match text.find(" #") {
            Some(i) => text[..i].trim_end(),
            None => text,
        };
        Ok(match plain {
            "true" | "True" | "TRUE" => Value::Bool(true),
            "false" | "False" | "FALSE" => Value::Bool(false),
            "null" | "Null" | "NULL" | "~" | "" => Value::Null,
            _ => {
                if let Ok(i) = plain.parse::<i64>() {
                    Value::Number(i.into())
                } else if let Some(n) = plain
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && plain.chars().any(|c| c.is_ascii_digit()))
                    .and_then(Number::from_f64)
                {
                    Value::Number(n)
                } else {
                    Value::String(plain.to_owned())
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn parses_common_frontmatter() {
        let doc = "---\nname: pdf-processing\ndescription: Extract, fill, and assemble PDF documents\nlicense: 'Apache-2.0'\nallowed-tools: [Read, Write]\nmetadata:\n  author: \"Ada \\\"L\\\"\"\n  version: 1.2\nlong: >-\n  one\n  two\n---\n\nBody.\n";
        let (fm, body) = frontmatter::split(doc).unwrap();
        assert_eq!(body, "\nBody.\n");
        let parsed = frontmatter::parse(fm).unwrap();
        assert_eq!(
            Value::Object(parsed),
            json!({
                "name": "pdf-processing",
                "description": "Extract, fill, and assemble PDF documents",
                "license": "Apache-2.0",
                "allowed-tools": ["Read", "Write"],
                "metadata": {"author": "Ada \"L\"", "version": 1.2},
                "long": "one two"
            })
        );
        assert!(frontmatter::split("no frontmatter").is_err());
        assert!(frontmatter::split("---\nname: x\n").is_err());
        assert!(frontmatter::parse("name: a\nname: b\n").is_err());
        assert!(frontmatter::parse("name: {a: 1}\n").is_err());
    }

    #[test]
    fn verifies_size_and_digest() {
        let content = b"hello";
        let listed = SkillResource {
            uri: "skill://x/SKILL.md".into(),
            digest: format!("sha256:{}", hex(&Sha256::digest(content))),
            size: 5,
            extra: Map::new(),
        };
        verify(&listed, content).unwrap();
        assert!(verify(&listed, b"hellO").is_err());
        assert!(verify(&listed, b"hello!").is_err());
        let mut md5 = listed.clone();
        md5.digest = "md5:abc".into();
        assert!(verify(&md5, content).is_err());
    }

    #[test]
    fn compares_frontmatter_field_by_field() {
        let declared = json!({"name": "a", "description": "d"});
        let declared = declared.as_object().unwrap();
        let ok = json!({"name": "a", "description": "d"});
        compare_frontmatter(ok.as_object().unwrap(), declared).unwrap();
        let changed = json!({"name": "a", "description": "evil"});
        assert!(compare_frontmatter(changed.as_object().unwrap(), declared).is_err());
        let extra = json!({"name": "a", "description": "d", "x": 1});
        assert!(compare_frontmatter(extra.as_object().unwrap(), declared).is_err());
        let missing = json!({"name": "a"});
        assert!(compare_frontmatter(missing.as_object().unwrap(), declared).is_err());
    }
}
