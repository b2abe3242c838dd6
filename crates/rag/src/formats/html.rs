//! Web pages (`.html`): the visible text, with tags removed, scripts and styles dropped, entities
//! decoded, and block elements (paragraphs, headings, list items, table cells) as separate blocks
//! numbered in reading order.
//!
//! A forgiving scanner rather than a full HTML parser: it only needs the text and where blocks
//! break, and it must never fail on the malformed markup real pages have.

use crate::decode::decode_text;
use crate::document::{Block, Document};
use crate::location::{Location, LocationKind};
use crate::report::Problem;

/// Elements whose content is not visible text.
const HIDDEN: &[&str] = &["script", "style", "noscript", "template", "svg"];

/// Elements that start or end a block.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "td",
    "th",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "main",
    "blockquote",
    "pre",
    "dt",
    "dd",
    "dl",
    "hr",
    "title",
    "figcaption",
    "form",
    "body",
    "html",
    "caption",
    "address",
];

/// Reads an HTML file.
pub fn read(bytes: &[u8]) -> std::result::Result<Document, Problem> {
    let decoded = decode_text(bytes).map_err(|reason| Problem::Unreadable { reason })?;
    let blocks = visible_blocks(&decoded.text)
        .into_iter()
        .enumerate()
        .map(|(i, text)| Block {
            text,
            location: Location::single(LocationKind::Paragraph, i as u32 + 1),
        })
        .collect();
    Ok(Document {
        blocks,
        merge_blocks: true,
        warnings: decoded.warning.into_iter().collect(),
    })
}

/// The page's text, one string per block, white space collapsed.
pub fn visible_blocks(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        push_text(&mut current, &rest[..lt]);
        rest = &rest[lt..];
        if !rest[1..].starts_with(|c: char| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?'))
        {
            // A '<' that starts no tag is text ("a < b").
            push_text(&mut current, "<");
            rest = &rest[1..];
            continue;
        }
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |e| &after[e + 3..]);
            continue;
        }
        let Some(gt) = rest.find('>') else {
            // A lone '<' in text.
            push_text(&mut current, rest);
            rest = "";
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() {
            // "<!DOCTYPE ...>" or "<?xml ...?>".
            continue;
        }
        if !closing && name == "title" {
            let end = find_ci(rest, "</title");
            let t = collapse(&decode_entities(&rest[..end]));
            finish(&mut current, &mut out);
            if !t.is_empty() {
                out.push(t);
            }
            rest = skip_past_close(rest, "title");
            continue;
        }
        if !closing && HIDDEN.contains(&name.as_str()) && !tag.ends_with('/') {
            rest = skip_past_close(rest, &name);
            continue;
        }
        if BLOCKS.contains(&name.as_str()) {
            finish(&mut current, &mut out);
        } else if !closing && matches!(name.as_str(), "img") {
            // Images carry their meaning in alt text.
            if let Some(alt) = attribute(tag, "alt") {
                push_text(&mut current, &format!(" {alt} "));
            }
        }
    }
    push_text(&mut current, rest);
    finish(&mut current, &mut out);
    out
}

fn push_text(current: &mut String, raw: &str) {
    current.push_str(raw);
}

fn finish(current: &mut String, out: &mut Vec<String>) {
    let t = collapse(&decode_entities(current));
    if !t.is_empty() {
        out.push(t);
    }
    current.clear();
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn find_ci(haystack: &str, needle: &str) -> usize {
    haystack
        .to_ascii_lowercase()
        .find(needle)
        .unwrap_or(haystack.len())
}

fn skip_past_close<'a>(rest: &'a str, name: &str) -> &'a str {
    let at = find_ci(rest, &format!("</{name}"));
    let after = &rest[at..];
    after.find('>').map_or("", |g| &after[g + 1..])
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let at = lower.find(&format!("{name}="))? + name.len() + 1;
    let v = &tag[at..];
    let quote = v.chars().next()?;
    let value = if quote == '"' || quote == '\'' {
        v[1..].split(quote).next()?
    } else {
        v.split(|c: char| c.is_whitespace() || c == '/').next()?
    };
    Some(decode_entities(value))
}

/// Decodes `&name;`, `&#NN;` and `&#xHH;`; unknown entities are left as written.
pub fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest[1..]
            .find(|c: char| c == ';' || c == '&' || c.is_whitespace())
            .map(|e| e + 1);
        match end {
            Some(e) if rest.as_bytes()[e] == b';' && e <= 33 => match entity(&rest[1..e]) {
                Some(decoded) => {
                    out.push_str(&decoded);
                    rest = &rest[e + 1..];
                }
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            },
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text of one entity name (without `&` and `;`), numeric or one of the common named ones.
pub fn entity(name: &str) -> Option<String> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).map(String::from);
    }
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "bull" => '•',
        "middot" => '·',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "deg" => '°',
        "euro" => '€',
        "pound" => '£',
        "times" => '×',
        "eacute" => 'é',
        "egrave" => 'è',
        "agrave" => 'à',
        "aacute" => 'á',
        "ccedil" => 'ç',
        "uuml" => 'ü',
        "ouml" => 'ö',
        "auml" => 'ä',
        "szlig" => 'ß',
        _ => return None,
    };
    Some(c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_text_is_kept_in_blocks_and_scripts_styles_and_comments_are_dropped() {
        let html = "<!DOCTYPE html><html><head><title>Help &amp; FAQ</title><style>p{color:red}</style></head>\
            <body><h1>Returns</h1><p>Items can be returned within <b>30 days</b>.<!-- hidden --></p>\
            <script>var x = '<p>no</p>';</script><ul><li>Keep the receipt</li><li>Use the box</li></ul>\
            <p>A &lt;b&gt; tag &#8212; and &#x41;. <img src=a.png alt=\"A map\"> end</p></body></html>";
        assert_eq!(
            visible_blocks(html),
            vec![
                "Help & FAQ",
                "Returns",
                "Items can be returned within 30 days.",
                "Keep the receipt",
                "Use the box",
                "A <b> tag — and A. A map end"
            ]
        );
    }

    #[test]
    fn malformed_markup_and_unknown_entities_survive() {
        assert_eq!(
            visible_blocks("a < b and &bogus; <p>c"),
            vec!["a < b and &bogus;", "c"]
        );
    }
}
