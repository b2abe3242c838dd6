//! Where a passage sits in its document, in the terms a reader uses to find it again: lines of a
//! text file, pages of a PDF, rows of a spreadsheet, paragraphs of a word-processor or web document.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The unit a [`Location`] counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum LocationKind {
    /// 1-based lines of a text or Markdown file.
    Line,
    /// 1-based pages of a PDF.
    Page,
    /// 1-based rows of a CSV file as a spreadsheet numbers them (the header is row 1).
    Row,
    /// 1-based paragraphs of a `.docx` or `.html` document.
    Paragraph,
}

impl LocationKind {
    /// The stable name stored in the index.
    pub fn as_str(self) -> &'static str {
        match self {
            LocationKind::Line => "line",
            LocationKind::Page => "page",
            LocationKind::Row => "row",
            LocationKind::Paragraph => "paragraph",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "line" => LocationKind::Line,
            "page" => LocationKind::Page,
            "row" => LocationKind::Row,
            "paragraph" => LocationKind::Paragraph,
            _ => return None,
        })
    }
}

/// An inclusive, 1-based range of lines, pages, rows or paragraphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Location {
    /// What the numbers count.
    pub kind: LocationKind,
    /// The first one.
    pub start: u32,
    /// The last one (equal to `start` for a single one).
    pub end: u32,
}

impl Location {
    /// A single line, page, row or paragraph.
    pub fn single(kind: LocationKind, n: u32) -> Self {
        Location {
            kind,
            start: n,
            end: n,
        }
    }

    /// A range; `end` below `start` is raised to `start`.
    pub fn range(kind: LocationKind, start: u32, end: u32) -> Self {
        Location {
            kind,
            start,
            end: end.max(start),
        }
    }

    /// The smallest range covering both (they must count the same unit; otherwise `self` is kept).
    pub fn cover(self, other: Location) -> Location {
        if self.kind != other.kind {
            return self;
        }
        Location {
            kind: self.kind,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

impl fmt::Display for Location {
    /// "line 4", "lines 4-9", "page 2", "pages 2-3", "row 7", "paragraphs 3-5".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = self.kind.as_str();
        if self.start == self.end {
            write!(f, "{unit} {}", self.start)
        } else {
            write!(f, "{unit}s {}-{}", self.start, self.end)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_read_as_a_person_would_cite_them() {
        assert_eq!(
            Location::single(LocationKind::Page, 2).to_string(),
            "page 2"
        );
        assert_eq!(
            Location::range(LocationKind::Line, 4, 9).to_string(),
            "lines 4-9"
        );
        let a = Location::single(LocationKind::Paragraph, 5);
        assert_eq!(
            a.cover(Location::single(LocationKind::Paragraph, 3))
                .to_string(),
            "paragraphs 3-5"
        );
    }

    #[test]
    fn kinds_round_trip_through_their_stored_names() {
        for k in [
            LocationKind::Line,
            LocationKind::Page,
            LocationKind::Row,
            LocationKind::Paragraph,
        ] {
            assert_eq!(LocationKind::parse(k.as_str()), Some(k));
        }
    }
}
