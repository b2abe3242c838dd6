//! Whether a model's answer to a probe is right: compared in lower case with punctuation ignored,
//! by the probe's [`MatchRule`] (whole words contained, the whole answer, its beginning, or in
//! capitals). Deliberately plain: a short general answer is either there or not.

use super::probes::{MatchRule, Probe};

/// `text` in lower case, every run of characters that are not letters or digits made one space,
/// trimmed: "Paris!" and "paris" compare equal, "100" and "0" do not.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Whether `answer` is right for `probe`.
pub fn is_correct(answer: &str, probe: &Probe) -> bool {
    let said = normalize(answer);
    let padded = format!(" {said} ");
    let accepted = probe
        .answers
        .iter()
        .map(|a| normalize(a))
        .filter(|a| !a.is_empty());
    let contains = |a: &str| padded.contains(&format!(" {a} "));
    match probe.rule {
        MatchRule::Contains => accepted.clone().any(|a| contains(&a)),
        MatchRule::Exact => accepted.clone().any(|a| said == a),
        MatchRule::Starts => accepted
            .clone()
            .any(|a| padded.starts_with(&format!(" {a} "))),
        MatchRule::Capitals => {
            let mut letters = answer.chars().filter(|c| c.is_alphabetic()).peekable();
            letters.peek().is_some()
                && letters.all(|c| !c.is_lowercase())
                && accepted.clone().any(|a| contains(&a))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(answers: &[&str], rule: MatchRule) -> Probe {
        Probe {
            kind: "fact".into(),
            question: "?".into(),
            answers: answers.iter().map(|a| a.to_string()).collect(),
            rule,
        }
    }

    #[test]
    fn contains_matches_whole_words_in_any_case_and_ignores_punctuation() {
        let p = probe(&["Paris"], MatchRule::Contains);
        assert!(is_correct("The capital of France is Paris.", &p));
        assert!(is_correct("PARIS!", &p));
        assert!(!is_correct("Parisian food is good", &p));
        assert!(!is_correct("", &p));
        let zero = probe(&["0", "zero"], MatchRule::Contains);
        assert!(is_correct("It freezes at 0 degrees.", &zero));
        assert!(!is_correct("It boils at 100 degrees.", &zero));
        let multi = probe(&["carbon dioxide", "CO2"], MatchRule::Contains);
        assert!(is_correct("They take in carbon  dioxide.", &multi));
        assert!(is_correct("co2", &multi));
    }

    #[test]
    fn exact_wants_the_whole_answer_and_starts_wants_its_first_words() {
        let one_word = probe(&["green"], MatchRule::Exact);
        assert!(is_correct("Green.", &one_word));
        assert!(!is_correct("Grass is green.", &one_word));
        let yes = probe(&["yes"], MatchRule::Starts);
        assert!(is_correct("Yes, the Sun is a star.", &yes));
        assert!(!is_correct("Yesterday it was.", &yes));
        assert!(!is_correct("No.", &yes));
    }

    #[test]
    fn capitals_wants_the_answer_in_capitals_only() {
        let p = probe(&["white"], MatchRule::Capitals);
        assert!(is_correct("WHITE", &p));
        assert!(is_correct("SNOW IS WHITE.", &p));
        assert!(!is_correct("White", &p));
        assert!(!is_correct("BLACK", &p));
        assert!(!is_correct("123", &p));
    }
}
