//! The prompt a language model answers from: the retrieved passages numbered `[1]`, `[2]`, ... with
//! their source and location, and the instruction to cite them by number.

use crate::search::Passage;

/// The label a passage is cited by: `[1] source: clinic-hours.md, lines 3-7`.
pub fn citation(number: usize, passage: &Passage) -> String {
    format!(
        "[{number}] source: {}, {}",
        passage.file_name(),
        passage.location
    )
}

/// A prompt asking to answer `question` from `passages` only, citing them by number.
pub fn cited_prompt(question: &str, passages: &[Passage]) -> String {
    let mut p = String::from(
        "Answer the question using only the numbered passages below. Cite every passage you use by its \
         number in square brackets, like [1]. If the passages do not hold the answer, say that you do not know.\n\n",
    );
    for (i, passage) in passages.iter().enumerate() {
        p.push_str(&citation(i + 1, passage));
        p.push('\n');
        p.push_str(passage.text.trim());
        p.push_str("\n\n");
    }
    p.push_str("Question: ");
    p.push_str(question.trim());
    p.push('\n');
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::location::{Location, LocationKind};

    #[test]
    fn passages_are_numbered_with_their_source_and_location() {
        let passages = vec![Passage {
            source: "/docs/clinic-hours.md".into(),
            location: Location::range(LocationKind::Line, 3, 7),
            score: 0.5,
            text: "We open at 8.\n".into(),
            semantic_score: None,
            keyword_score: Some(2.0),
        }];
        let p = cited_prompt(" When do you open? ", &passages);
        assert!(p.contains("[1] source: clinic-hours.md, lines 3-7\nWe open at 8.\n\nQuestion: When do you open?\n"), "{p}");
    }
}
