//! Guessing a delimited file's field separator and whether its first row is a header.
//!
//! Spreadsheets export with commas, semicolons (European locales), tabs or pipes; the separator
//! that splits the most records into the same number (more than one) of fields wins. Quoted text
//! (which may hold separators and line breaks) is skipped while counting.

use crate::role;

/// The separators Tunesmith recognises, in order of preference when two fit equally well.
pub const CANDIDATES: [u8; 4] = [b',', b'\t', b';', b'|'];

/// Picks the separator that splits `sample`'s records most consistently, ignoring quoted text.
/// `complete` says whether `sample` is the whole file (otherwise its last record may be cut).
/// Returns `None` when no candidate splits the records (a single-column file).
pub fn sniff_delimiter(sample: &str, complete: bool) -> Option<u8> {
    let mut best: Option<(u8, usize, usize)> = None; // (delimiter, records agreeing, fields)
    for &d in &CANDIDATES {
        let mut counts = field_counts(sample, d, 200);
        if !complete && counts.len() > 1 {
            counts.pop();
        }
        let Some((fields, agreeing)) = mode(&counts) else {
            continue;
        };
        if fields < 2 {
            continue;
        }
        // A separator that only a minority of records agree on is a character inside the text.
        if agreeing * 2 < counts.len() {
            continue;
        }
        let better = match best {
            None => true,
            Some((_, a, f)) => agreeing > a || (agreeing == a && fields > f),
        };
        if better {
            best = Some((d, agreeing, fields));
        }
    }
    best.map(|(d, _, _)| d)
}

/// The number of fields of each of the first `limit` records, with RFC 4180 quoting.
fn field_counts(sample: &str, delimiter: u8, limit: usize) -> Vec<usize> {
    let mut counts = Vec::new();
    let mut fields = 1;
    let mut quoted = false;
    let mut at_field_start = true;
    let mut record_has_content = false;
    for &b in sample.as_bytes() {
        if counts.len() >= limit {
            break;
        }
        if quoted {
            if b == b'"' {
                quoted = false;
            }
            continue;
        }
        match b {
            b'"' if at_field_start => {
                quoted = true;
                at_field_start = false;
                record_has_content = true;
            }
            b'\n' => {
                if record_has_content {
                    counts.push(fields);
                }
                fields = 1;
                at_field_start = true;
                record_has_content = false;
            }
            b'\r' => {}
            _ if b == delimiter => {
                fields += 1;
                at_field_start = true;
                record_has_content = true;
            }
            _ => {
                at_field_start = false;
                record_has_content = true;
            }
        }
    }
    if record_has_content && counts.len() < limit {
        counts.push(fields);
    }
    counts
}

/// The most frequent value and how often it occurs (the larger value wins a tie).
fn mode(values: &[usize]) -> Option<(usize, usize)> {
    let mut tally: std::collections::BTreeMap<usize, usize> = Default::default();
    for &v in values {
        *tally.entry(v).or_default() += 1;
    }
    tally.into_iter().max_by_key(|&(v, n)| (n, v))
}

/// Decides whether the first of `rows` is a header, from up to the next 100 rows.
///
/// A header is assumed when a first-row cell is a known column name (`text`, `label`, ...), or
/// when a column is numeric below the first row but not in it. Otherwise a first row of short,
/// distinct, non-numeric names whose values never recur below is taken as a header.
pub fn detect_header(rows: &[Vec<String>]) -> bool {
    let Some(first) = rows.first() else {
        return false;
    };
    let data = &rows[1..rows.len().min(101)];
    if first.iter().any(|c| role::is_known_name(c)) {
        return true;
    }
    if first.iter().any(|c| is_number(c)) {
        return false;
    }
    if data.is_empty() {
        return first.iter().all(|c| looks_like_a_name(c));
    }
    for (i, name) in first.iter().enumerate() {
        let column: Vec<&str> = data
            .iter()
            .filter_map(|r| r.get(i))
            .map(|s| s.as_str())
            .collect();
        let numeric = column.iter().filter(|v| is_number(v)).count();
        if !column.is_empty() && numeric * 10 >= column.len() * 9 && !is_number(name) {
            return true;
        }
    }
    let distinct: std::collections::HashSet<&String> = first.iter().collect();
    let recurs = first
        .iter()
        .enumerate()
        .any(|(i, name)| data.iter().any(|r| r.get(i) == Some(name)));
    distinct.len() == first.len() && !recurs && first.iter().all(|c| looks_like_a_name(c))
}

fn looks_like_a_name(cell: &str) -> bool {
    let t = cell.trim();
    !t.is_empty() && t.chars().count() <= 40 && t.split_whitespace().count() <= 4
}

/// Whether `s` parses as a number (after trimming).
pub fn is_number(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty() && t.parse::<f64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(s: &[&[&str]]) -> Vec<Vec<String>> {
        s.iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    #[test]
    fn semicolons_win_when_commas_are_inside_quotes() {
        let sample = "text;label\n\"good, really\";pos\n\"bad, sadly\";neg\n";
        assert_eq!(sniff_delimiter(sample, true), Some(b';'));
    }

    #[test]
    fn a_single_column_has_no_delimiter() {
        assert_eq!(sniff_delimiter("hello\nworld\n", true), None);
    }

    #[test]
    fn line_breaks_inside_quotes_do_not_confuse_the_count() {
        let sample = "text,label\n\"line one\nline two, still\",pos\nplain,neg\n";
        assert_eq!(sniff_delimiter(sample, true), Some(b','));
    }

    #[test]
    fn tabs_are_found_in_tsv() {
        assert_eq!(
            sniff_delimiter("label\tsentence\n0\ta film, sadly\n1\tfine\n", true),
            Some(b'\t')
        );
    }

    #[test]
    fn known_names_make_a_header() {
        assert!(detect_header(&rows(&[
            &["sentence", "label"],
            &["great", "pos"]
        ])));
    }

    #[test]
    fn a_numeric_column_below_a_word_makes_a_header() {
        assert!(detect_header(&rows(&[
            &["Kommentar", "Wert"],
            &["gut", "1"],
            &["schlecht", "0"]
        ])));
    }

    #[test]
    fn a_first_row_of_data_is_not_a_header() {
        assert!(!detect_header(&rows(&[
            &["great film", "pos"],
            &["awful", "neg"],
            &["ok", "pos"]
        ])));
    }
}
