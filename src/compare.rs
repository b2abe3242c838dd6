//! Compare: a set of questions with reference answers, answered by every configuration available
//! (base, fine-tuned, base + RAG, fine-tuned + RAG), scored, and summed up in one plain verdict:
//! did fine-tuning help, or is RAG enough?
//!
//! Promises:
//! - Answers are greedy (temperature 0), so the same models, index and questions give the same
//!   numbers; each question's passages are retrieved once and shown to both RAG configurations.
//! - Scores are the engine's text metrics against the references: exact match and token F1
//!   (SQuAD's normalisation), ROUGE-L F1 (rouge-score), corpus BLEU (sacreBLEU, 0-100); plus mean
//!   answer length in tokens and mean latency (retrieval, prompt and generation) per answer.
//! - Each answer is checked for its reference's key facts (numbers, names, dates the question does
//!   not give away; see [`tunesmith_engine::metrics::facts`]): a judgement per question a person can
//!   read and overrule.
//! - The verdict leads in plain words with those facts ("The base model with your documents: 6 of
//!   10 answers contained the right fact; the base model alone: 0."), ranking configurations by
//!   right answers (token F1 breaks ties); the word-overlap metrics stay in `details`. When no
//!   reference has a fact to check, it ranks by mean token F1 as before. It names the winner, the
//!   runner-up and the margin, and says when the margin is too small to call.
//! - Answers are as long as the data's answers (the 95th percentile of the training answers'
//!   length, see [`crate::compare_length`]) unless a length is given, and stop at the end of the
//!   answer; a quick comparison answers a few questions spread over the set
//!   ([`crate::compare_quick`]); progress counts answers over the whole comparison.
//! - With a run, the scores are saved in its history (one evaluation per configuration, on the
//!   `test` split, and the verdict as a note), and the full report next to the run's files.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tunesmith_data::source::Row;
use tunesmith_data::{ReadOptions, Source};
use tunesmith_engine::generate::CancelHandle;
use tunesmith_engine::metrics::facts::{check as check_facts, key_facts};
use tunesmith_engine::metrics::{corpus_bleu, exact_match, rouge_l, sentence_bleu, token_f1};
use tunesmith_store::{EvalModel, Split};

use crate::chat::{answer, retrieve};
use crate::home::Home;
use crate::rag::Passage;
use crate::session::{AnswerOptions, BaseHeld, DecoderSession, RunWeights};
use crate::{Error, Result};

/// Token-F1 differences below this are reported as too close to call.
pub const TIE_MARGIN: f64 = 0.005;

/// The column names that hold the question and the reference answer (first match wins).
const QUESTION_COLUMNS: &[&str] = &["question", "prompt", "query", "input"];
const ANSWER_COLUMNS: &[&str] = &[
    "answer",
    "reference",
    "reference_answer",
    "expected",
    "response",
    "output",
];

/// One way of answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum Configuration {
    /// The base model alone.
    Base,
    /// The fine-tuned run alone.
    FineTuned,
    /// The base model reading retrieved passages.
    BaseRag,
    /// The fine-tuned run reading retrieved passages.
    FineTunedRag,
}

impl Configuration {
    /// Every configuration, simplest first.
    pub const ALL: [Configuration; 4] = [
        Configuration::Base,
        Configuration::FineTuned,
        Configuration::BaseRag,
        Configuration::FineTunedRag,
    ];

    /// What it is, in plain words (`the base model with your documents`).
    pub fn in_words(self) -> &'static str {
        match self {
            Configuration::Base => "the base model",
            Configuration::FineTuned => "the fine-tuned model",
            Configuration::BaseRag => "the base model with your documents",
            Configuration::FineTunedRag => "the fine-tuned model with your documents",
        }
    }

    /// The name it is stored and typed under (`fine_tuned`).
    pub fn name(self) -> &'static str {
        match self {
            Configuration::Base => "base",
            Configuration::FineTuned => "fine_tuned",
            Configuration::BaseRag => "base_rag",
            Configuration::FineTunedRag => "fine_tuned_rag",
        }
    }

    /// The configuration called `s`: its name (`fine_tuned`) or its label (`fine-tuned`).
    pub fn named(s: &str) -> Option<Configuration> {
        let s = s.trim();
        Configuration::ALL.into_iter().find(|c| {
            c.name().eq_ignore_ascii_case(s)
                    || c.label().eq_ignore_ascii_case(s)
                    // The label before it was in plain words, still accepted from scripts.
                    || c.label().replace("documents", "RAG").eq_ignore_ascii_case(s)
        })
    }

    /// How people call it.
    pub fn label(self) -> &'static str {
        match self {
            Configuration::Base => "base",
            Configuration::FineTuned => "fine-tuned",
            Configuration::BaseRag => "base + documents",
            Configuration::FineTunedRag => "fine-tuned + documents",
        }
    }

    fn uses_rag(self) -> bool {
        matches!(self, Configuration::BaseRag | Configuration::FineTunedRag)
    }

    fn fine_tuned(self) -> bool {
        matches!(self, Configuration::FineTuned | Configuration::FineTunedRag)
    }

    fn eval_model(self) -> EvalModel {
        match self {
            Configuration::Base => EvalModel::Base,
            Configuration::FineTuned => EvalModel::FineTuned,
            Configuration::BaseRag => EvalModel::BaseRag,
            Configuration::FineTunedRag => EvalModel::FineTunedRag,
        }
    }
}

/// What to compare.
#[derive(Debug, Clone)]
pub struct CompareRequest {
    /// The question set: CSV/TSV/JSONL with a question and a reference-answer column.
    pub questions: PathBuf,
    /// The base model; `None` to use the run's.
    pub model: Option<String>,
    /// A fine-tuned run.
    pub run: Option<String>,
    /// A document index for the RAG configurations.
    pub rag: Option<String>,
    /// Passages per question.
    pub passages: usize,
    /// The longest answer, in tokens; `None`: fitted to the data (see [`crate::compare_length`]).
    pub max_tokens: Option<usize>,
    /// Answer at most this many questions, spread over the set (see [`crate::compare_quick`]).
    pub max_questions: Option<usize>,
    /// A system prompt for every answer.
    pub system: Option<String>,
}

/// A comparison as the app's form gives it: the questions file and what to compare, the settings
/// optional (defaults applied by `From<CompareArgs> for CompareRequest`).
#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct CompareArgs {
    /// A CSV/TSV/JSONL file with a `question` and an `answer` (reference) column.
    pub questions: PathBuf,
    /// The base model (default: the run's).
    #[specta(optional)]
    pub model: Option<String>,
    /// A fine-tuned run.
    #[specta(optional)]
    pub run: Option<String>,
    /// A document index for the RAG configurations.
    #[specta(optional)]
    pub rag: Option<String>,
    /// The most tokens per answer (default: fitted to the data's answers).
    #[specta(optional)]
    pub max_tokens: Option<u32>,
    /// Answer at most this many questions, spread over the set (a quick check; default: all).
    #[specta(optional)]
    pub max_questions: Option<u32>,
    /// Passages per question with `rag` (default 3).
    #[specta(optional)]
    pub passages: Option<u32>,
    /// A system prompt.
    #[specta(optional)]
    pub system: Option<String>,
}

impl From<CompareArgs> for CompareRequest {
    fn from(a: CompareArgs) -> CompareRequest {
        CompareRequest {
            questions: a.questions,
            model: a.model,
            run: a.run,
            rag: a.rag,
            passages: a
                .passages
                .map_or(crate::chat::DEFAULT_PASSAGES, |p| p as usize),
            max_tokens: a.max_tokens.map(|m| m as usize),
            max_questions: a.max_questions.map(|m| m as usize),
            system: a.system,
        }
    }
}

/// A question and its reference answer.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct Question {
    /// The 1-based line of the file it is on.
    pub line: u64,
    /// The question.
    pub question: String,
    /// The reference answer.
    pub reference: String,
}

/// One configuration's answer to one question, scored.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ScoredAnswer {
    /// Which configuration answered.
    pub configuration: Configuration,
    /// The answer.
    pub text: String,
    /// Its length in tokens.
    pub tokens: usize,
    /// Seconds from question to finished answer (retrieval included for RAG).
    pub latency_s: f64,
    /// 1 when it equals the reference after normalisation.
    pub exact_match: f64,
    /// Token-overlap F1 with the reference.
    pub token_f1: f64,
    /// ROUGE-L F1 with the reference.
    pub rouge_l: f64,
    /// Sentence BLEU (0-100) against the reference.
    pub bleu: f64,
    /// The citations of the passages it was shown (RAG only).
    pub passages: Vec<String>,
    /// Whether it states every key fact of the reference (`None`: the reference has none).
    pub contains_fact: Option<bool>,
    /// The reference's key facts it states.
    pub facts_found: Vec<String>,
    /// Those it does not.
    pub facts_missing: Vec<String>,
}

/// One question with every configuration's answer.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct QuestionResult {
    /// The question and its reference.
    #[serde(flatten)]
    pub question: Question,
    /// The reference's key facts a right answer states (empty: none to check).
    pub facts: Vec<String>,
    /// The answers, in configuration order.
    pub answers: Vec<ScoredAnswer>,
}

/// One configuration's scores over the whole set.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ConfigurationScores {
    /// Which configuration.
    pub configuration: Configuration,
    /// Its label (`base + RAG`).
    pub label: String,
    /// Mean exact match (0-1).
    pub exact_match: f64,
    /// Mean token F1 (0-1): the metric the verdict ranks by.
    pub token_f1: f64,
    /// Mean ROUGE-L F1 (0-1).
    pub rouge_l: f64,
    /// Corpus BLEU (0-100).
    pub bleu: f64,
    /// Mean answer length in tokens.
    pub mean_answer_tokens: f64,
    /// Mean seconds per answer.
    pub mean_latency_s: f64,
    /// Answer tokens per second of generation.
    pub tokens_per_s: f64,
    /// Answers that stated every key fact of their reference.
    pub facts_correct: u64,
    /// Questions whose reference has a key fact to check.
    pub facts_total: u64,
}

/// The plain conclusion.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Verdict {
    /// The plain sentence (`RAG is enough. The base model with your documents: 6 of 10 answers
    /// contained the right fact; the base model alone: 0.`).
    pub text: String,
    /// The metric ranked by: `fact_recall` (right answers), or `token_f1` when no reference has a
    /// fact to check.
    pub metric: String,
    /// The best configuration.
    pub winner: Configuration,
    /// The second best, if more than one was evaluated.
    pub runner_up: Option<Configuration>,
    /// The winner's lead over the runner-up: in the share of right answers (`fact_recall`, 0-1) or
    /// in mean token F1.
    pub margin: f64,
    /// The same comparison in word-overlap metrics (`base + RAG beats fine-tuned by 0.21 token F1
    /// over 10 questions.`), for the details view.
    pub details: String,
}

/// Everything a comparison produced.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct CompareReport {
    /// The question file.
    pub questions_file: PathBuf,
    /// The base model as loaded.
    pub model: String,
    /// The fine-tuned run's id, if any.
    pub run: Option<String>,
    /// The index used for RAG, if any.
    pub rag: Option<String>,
    /// The answer length used, and where it came from.
    pub answer_length: crate::compare_length::AnswerLength,
    /// Questions in the file (more than were answered in a quick comparison).
    pub questions_in_file: usize,
    /// Scores per configuration, in configuration order.
    pub configurations: Vec<ConfigurationScores>,
    /// Every question's answers.
    pub questions: Vec<QuestionResult>,
    /// The conclusion.
    pub verdict: Verdict,
    /// Where the full report was saved in the run's folder, when a run was given.
    pub saved: Option<PathBuf>,
}

/// Progress of a comparison.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum CompareProgress {
    /// A configuration's model is loading.
    Loading {
        /// Which.
        configuration: Configuration,
    },
    /// A question was answered.
    Answered {
        /// By which configuration.
        configuration: Configuration,
        /// 1-based question number.
        question: usize,
        /// Of how many.
        of: usize,
        /// Answers given so far, over every configuration.
        answered: usize,
        /// Answers the whole comparison gives.
        total: usize,
    },
}

/// Reads a question set: a header row naming a question column (`question`, `prompt`, ...) and an
/// answer column (`answer`, `reference`, ...); other columns are ignored.
pub fn read_questions(path: &Path) -> Result<Vec<Question>> {
    let source = Source::open(
        path,
        &ReadOptions {
            has_header: Some(true),
            ..Default::default()
        },
    )?;
    let find = |names: &[&str]| {
        names.iter().find_map(|n| {
            source
                .columns
                .iter()
                .position(|c| c.trim().eq_ignore_ascii_case(n))
        })
    };
    let (Some(qi), Some(ai)) = (find(QUESTION_COLUMNS), find(ANSWER_COLUMNS)) else {
        return Err(Error::Chat(format!(
            "{} needs a `question` column and an `answer` (reference answer) column; its columns are: {}",
            path.display(),
            source.columns.join(", ")
        )));
    };
    let mut out = Vec::new();
    for row in source.rows(None)? {
        match row {
            Row::Problem(p) => {
                return Err(Error::Chat(format!(
                    "{}, line {}: {}",
                    path.display(),
                    p.line,
                    p.message
                )))
            }
            Row::Record(r) => {
                let field = |i: usize| {
                    r.fields
                        .get(i)
                        .map(|s| s.trim().to_string())
                        .unwrap_or_default()
                };
                let (question, reference) = (field(qi), field(ai));
                if question.is_empty() && reference.is_empty() {
                    continue;
                }
                if question.is_empty() || reference.is_empty() {
                    let missing = if question.is_empty() {
                        "question"
                    } else {
                        "reference answer"
                    };
                    return Err(Error::Chat(format!(
                        "{}, line {}: the {missing} is empty; fill it in or remove the row",
                        path.display(),
                        r.line
                    )));
                }
                out.push(Question {
                    line: r.line,
                    question,
                    reference,
                });
            }
        }
    }
    if out.is_empty() {
        return Err(Error::Chat(format!(
            "{} holds no questions",
            path.display()
        )));
    }
    Ok(out)
}

/// Runs the comparison `request` describes, reporting progress to `on_progress`.
pub fn compare(
    home: &Home,
    request: &CompareRequest,
    cancel: Option<&CancelHandle>,
    on_progress: &mut dyn FnMut(&CompareProgress),
) -> Result<CompareReport> {
    let all = read_questions(&request.questions)?;
    let questions_in_file = all.len();
    let questions = crate::compare_quick::spread(all, request.max_questions);
    let weights = match &request.run {
        Some(run) => Some(RunWeights::find(home, run)?),
        None => None,
    };
    let base_spec = match (&request.model, &weights) {
        (Some(m), _) => m.clone(),
        (None, Some(w)) => w.base.display().to_string(),
        (None, None) => {
            return Err(Error::Chat(
                "name a base model (--model) or a fine-tuned run (--run)".into(),
            ))
        }
    };
    // A run's recorded base that is gone: say which and how to get it back, as chat does.
    if let (None, Some(w)) = (&request.model, &weights) {
        if w.base.is_absolute() {
            crate::run::model_gone::require_model(&w.run.id, &w.base)?;
        }
    }
    let mut configurations = vec![Configuration::Base];
    if weights.is_some() {
        configurations.push(Configuration::FineTuned);
    }
    if request.rag.is_some() {
        configurations.push(Configuration::BaseRag);
        if weights.is_some() {
            configurations.push(Configuration::FineTunedRag);
        }
    }

    // Passages first: once per question, shared by both RAG configurations, timed separately.
    let mut retrieved: Vec<(Vec<Passage>, f64)> = Vec::new();
    if let Some(name) = &request.rag {
        for q in &questions {
            let t = Instant::now();
            let passages = retrieve(home, name, &q.question, request.passages)?;
            retrieved.push((passages, t.elapsed().as_secs_f64()));
        }
    }

    let mut options = AnswerOptions {
        system: request.system.clone(),
        max_tokens: request.max_tokens.unwrap_or(0),
        temperature: 0.0,
        seed: 0,
    };
    let mut answer_length = request.max_tokens.map(crate::compare_length::given);
    let total = questions.len() * configurations.len();
    let mut answered = 0;
    let mut results: Vec<QuestionResult> = questions
        .iter()
        .map(|q| QuestionResult {
            question: q.clone(),
            facts: key_facts(&q.reference, &q.question)
                .into_iter()
                .map(|f| f.text)
                .collect(),
            answers: Vec::new(),
        })
        .collect();
    // With a run, both sides hold the base as the run trained on it (the comparison shows the
    // training, not the quantisation, and the answers are evaluation's and PEFT's).
    let quantised = weights
        .as_ref()
        .is_none_or(|w| w.held_quantised(BaseHeld::AsTrained));
    crate::memory_check::before_loading(home, &base_spec, "compare", quantised)?;
    let mut model_label = base_spec.clone();
    // One model in memory at a time: base (alone, then with RAG), then fine-tuned.
    for fine_tuned in [false, true] {
        let group: Vec<Configuration> = configurations
            .iter()
            .copied()
            .filter(|c| c.fine_tuned() == fine_tuned)
            .collect();
        let Some(first) = group.first() else { continue };
        on_progress(&CompareProgress::Loading {
            configuration: *first,
        });
        let model = match (fine_tuned, &weights) {
            (true, Some(w)) => w.open(request.model.as_deref(), BaseHeld::AsTrained)?,
            (true, None) => {
                return Err(Error::Chat("a fine-tuned configuration needs a run".into()))
            }
            (false, w) => {
                let m = match w {
                    Some(w) => w.open_base(request.model.as_deref(), BaseHeld::AsTrained)?,
                    None => DecoderSession::open(&base_spec, None)?,
                };
                model_label = m.source().display().to_string();
                m
            }
        };
        // Fitted once, with the first model's tokenizer (a run's adapter keeps its base's).
        if answer_length.is_none() {
            let fitted = crate::compare_length::for_comparison(
                &model,
                weights.as_ref().map(|w| &w.run),
                &questions,
            )?;
            answer_length = Some(fitted);
        }
        options.max_tokens = answer_length.as_ref().map_or(0, |l| l.max_tokens);
        for configuration in group {
            for (i, q) in questions.iter().enumerate() {
                if cancel.is_some_and(|c| c.is_cancelled()) {
                    return Err(Error::Chat("the comparison was cancelled".into()));
                }
                let (passages, retrieval_s) = match configuration.uses_rag() {
                    true => retrieved
                        .get(i)
                        .map(|(p, s)| (Some(p.as_slice()), *s))
                        .unwrap_or((None, 0.0)),
                    false => (None, 0.0),
                };
                let t = Instant::now();
                let a = answer(&model, &q.question, passages, &options, cancel, &mut |_| {})?;
                let latency_s = retrieval_s + t.elapsed().as_secs_f64();
                let facts = check_facts(&a.text, &q.reference, &q.question);
                results[i].answers.push(ScoredAnswer {
                    configuration,
                    contains_fact: facts.correct(),
                    facts_found: facts.found,
                    facts_missing: facts.missing,
                    exact_match: exact_match(&a.text, &q.reference),
                    token_f1: token_f1(&a.text, &q.reference),
                    rouge_l: rouge_l(&a.text, &q.reference).f1,
                    bleu: sentence_bleu(&a.text, &[q.reference.as_str()]),
                    passages: a.passages.iter().map(|p| p.citation.clone()).collect(),
                    tokens: a.tokens,
                    latency_s,
                    text: a.text,
                });
                answered += 1;
                on_progress(&CompareProgress::Answered {
                    configuration,
                    question: i + 1,
                    of: questions.len(),
                    answered,
                    total,
                });
            }
        }
    }
    // Keep each question's answers in configuration order whatever order they were produced in.
    for r in &mut results {
        r.answers
            .sort_by_key(|a| configurations.iter().position(|c| *c == a.configuration));
    }
    let scores: Vec<ConfigurationScores> =
        configurations.iter().map(|c| score(*c, &results)).collect();
    let verdict = verdict(&scores, questions.len());
    let mut report = CompareReport {
        questions_file: request.questions.clone(),
        model: model_label,
        run: weights.as_ref().map(|w| w.run.id.clone()),
        rag: request.rag.clone(),
        answer_length: answer_length
            .unwrap_or_else(|| crate::compare_length::given(options.max_tokens)),
        questions_in_file,
        configurations: scores,
        questions: results,
        verdict,
        saved: None,
    };
    if let Some(w) = &weights {
        report.saved = Some(save(home, &w.run.id, &report)?);
    }
    Ok(report)
}

/// A configuration's scores over every question.
fn score(configuration: Configuration, results: &[QuestionResult]) -> ConfigurationScores {
    let answers: Vec<(&ScoredAnswer, &Question)> = results
        .iter()
        .filter_map(|r| {
            r.answers
                .iter()
                .find(|a| a.configuration == configuration)
                .map(|a| (a, &r.question))
        })
        .collect();
    let n = answers.len().max(1) as f64;
    let mean =
        |f: &dyn Fn(&ScoredAnswer) -> f64| answers.iter().map(|(a, _)| f(a)).sum::<f64>() / n;
    let hyps: Vec<&str> = answers.iter().map(|(a, _)| a.text.as_str()).collect();
    let refs: Vec<Vec<&str>> = answers
        .iter()
        .map(|(_, q)| vec![q.reference.as_str()])
        .collect();
    let tokens: usize = answers.iter().map(|(a, _)| a.tokens).sum();
    let checked: Vec<bool> = answers
        .iter()
        .filter_map(|(a, _)| a.contains_fact)
        .collect();
    let seconds: f64 = answers.iter().map(|(a, _)| a.latency_s).sum();
    ConfigurationScores {
        configuration,
        label: configuration.label().to_string(),
        exact_match: mean(&|a| a.exact_match),
        token_f1: mean(&|a| a.token_f1),
        rouge_l: mean(&|a| a.rouge_l),
        bleu: corpus_bleu(&hyps, &refs),
        mean_answer_tokens: mean(&|a| a.tokens as f64),
        mean_latency_s: mean(&|a| a.latency_s),
        tokens_per_s: if seconds > 0.0 {
            tokens as f64 / seconds
        } else {
            0.0
        },
        facts_correct: checked.iter().filter(|&&ok| ok).count() as u64,
        facts_total: checked.len() as u64,
    }
}

/// The verdict over `scores` (at least one): by right answers when some reference has a key fact
/// to check (token F1 breaks ties), else by mean token F1; the token-F1 sentence is always in
/// `details`.
pub fn verdict(scores: &[ConfigurationScores], questions: usize) -> Verdict {
    let by_f1 = f1_verdict(scores, questions);
    let total = scores.iter().map(|s| s.facts_total).max().unwrap_or(0);
    if total == 0 {
        return by_f1;
    }
    let share = |s: &ConfigurationScores| {
        if s.facts_total == 0 {
            0.0
        } else {
            s.facts_correct as f64 / s.facts_total as f64
        }
    };
    let mut ranked: Vec<&ConfigurationScores> = scores.iter().collect();
    // Ties on facts go to token F1, then keep configuration order (the simpler one wins).
    ranked.sort_by(|a, b| {
        share(b)
            .total_cmp(&share(a))
            .then(b.token_f1.total_cmp(&a.token_f1))
    });
    let winner = ranked[0];
    let counts = |first: &ConfigurationScores, rest: &[&ConfigurationScores]| {
        let mut t = format!(
            "{}: {} of {} answers contained the right fact",
            capitalise(plain(first.configuration, scores)),
            first.facts_correct,
            first.facts_total
        );
        for o in rest {
            t.push_str(&format!(
                "; {}: {}",
                plain(o.configuration, scores),
                o.facts_correct
            ));
        }
        t.push('.');
        t
    };
    let Some(second) = ranked.get(1) else {
        return Verdict {
            text: format!(
                "{} Give a run and/or documents to compare it with something.",
                counts(winner, &[])
            ),
            metric: "fact_recall".into(),
            winner: winner.configuration,
            runner_up: None,
            margin: 0.0,
            details: by_f1.text,
        };
    };
    let margin = share(winner) - share(second);
    let headline = if winner.facts_correct == second.facts_correct {
        "Too close to call on facts".to_string()
    } else {
        headline(winner.configuration, second.configuration, scores.len()).to_string()
    };
    Verdict {
        text: format!("{headline}. {}", counts(winner, &ranked[1..])),
        metric: "fact_recall".into(),
        winner: winner.configuration,
        runner_up: Some(second.configuration),
        margin,
        details: by_f1.text,
    }
}

/// What a configuration is, in plain words; "alone" only where a RAG configuration is beside it.
fn plain(c: Configuration, scores: &[ConfigurationScores]) -> &'static str {
    let with_rag = scores.iter().any(|s| s.configuration.uses_rag());
    match c {
        Configuration::Base if with_rag => "the base model alone",
        Configuration::FineTuned if with_rag => "the fine-tuned model alone",
        other => other.in_words(),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The verdict's first words for `winner` ahead of `second` among `n` configurations.
fn headline(winner: Configuration, second: Configuration, n: usize) -> &'static str {
    use Configuration::*;
    match (winner, second) {
        (BaseRag, Base) if n == 2 => "Your documents helped",
        (BaseRag, _) => "Your documents are enough",
        (FineTuned, Base) => "Fine-tuning helped",
        (FineTuned, _) => "Fine-tuning wins",
        (FineTunedRag, _) => "Use both",
        (Base, FineTuned) if n == 2 => "Fine-tuning did not help",
        (Base, BaseRag) if n == 2 => "Your documents did not help",
        (Base, _) => "Neither helped",
    }
}

/// The verdict by mean token F1 (what the word-overlap metrics say).
fn f1_verdict(scores: &[ConfigurationScores], questions: usize) -> Verdict {
    let mut ranked: Vec<&ConfigurationScores> = scores.iter().collect();
    // Ties keep configuration order, so the simpler configuration wins a tie.
    ranked.sort_by(|a, b| b.token_f1.total_cmp(&a.token_f1));
    let winner = ranked[0];
    let metric = "token_f1".to_string();
    let Some(second) = ranked.get(1) else {
        let text = format!(
            "Only {} was evaluated ({:.2} token F1 over {questions} questions): give --run and/or --rag to compare it with something.",
            winner.label, winner.token_f1
        );
        return Verdict {
            details: text.clone(),
            text,
            metric,
            winner: winner.configuration,
            runner_up: None,
            margin: 0.0,
        };
    };
    let margin = winner.token_f1 - second.token_f1;
    let (w, r) = (winner.label.as_str(), second.label.as_str());
    let text = if margin < TIE_MARGIN {
        format!("Too close to call: {w} and {r} are within {TIE_MARGIN} token F1 of each other over {questions} questions.")
    } else {
        let headline = headline(winner.configuration, second.configuration, scores.len());
        format!("{headline}: {w} beats {r} by {margin:.2} token F1 over {questions} questions.")
    };
    Verdict {
        details: text.clone(),
        text,
        metric,
        winner: winner.configuration,
        runner_up: Some(second.configuration),
        margin,
    }
}

/// Saves `report` in run `run_id`'s history: evaluations, the verdict as a note, the full report as
/// a file in the run's folder (returned).
fn save(home: &Home, run_id: &str, report: &CompareReport) -> Result<PathBuf> {
    let store = crate::runs::open_store(home)?;
    let dir = store.run_dir(run_id).join("compare");
    std::fs::create_dir_all(&dir).map_err(|e| {
        Error::Chat(format!(
            "{} cannot be created to save the comparison: {e}",
            dir.display()
        ))
    })?;
    let file = dir.join(format!("compare-{}.json", tunesmith_store::clock::now_ms()));
    let text = serde_json::to_vec_pretty(report)
        .map_err(|e| Error::Chat(format!("the report cannot be written: {e}")))?;
    tunesmith_store::files::write_atomic(&file, &text)?;
    for s in &report.configurations {
        let metrics = serde_json::json!({
            "source": "compare",
            "questions_file": report.questions_file,
            "rag": report.rag,
            "exact_match": s.exact_match,
            "token_f1": s.token_f1,
            "rouge_l": s.rouge_l,
            "bleu": s.bleu,
            "mean_answer_tokens": s.mean_answer_tokens,
            "mean_latency_s": s.mean_latency_s,
            "tokens_per_s": s.tokens_per_s,
            "facts_correct": s.facts_correct,
            "facts_total": s.facts_total,
            "report": file,
        });
        store.record_evaluation(
            run_id,
            s.configuration.eval_model(),
            Split::Test,
            report.questions.len() as u64,
            &metrics,
        )?;
    }
    store.add_note(
        run_id,
        &format!(
            "Compare over {}: {}",
            report.questions_file.display(),
            report.verdict.text
        ),
    )?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(c: Configuration, f1: f64) -> ConfigurationScores {
        ConfigurationScores {
            configuration: c,
            label: c.label().into(),
            exact_match: 0.0,
            token_f1: f1,
            rouge_l: 0.0,
            bleu: 0.0,
            mean_answer_tokens: 0.0,
            mean_latency_s: 0.0,
            tokens_per_s: 0.0,
            facts_correct: 0,
            facts_total: 0,
        }
    }

    fn facts(c: Configuration, f1: f64, correct: u64, total: u64) -> ConfigurationScores {
        ConfigurationScores {
            facts_correct: correct,
            facts_total: total,
            ..scores(c, f1)
        }
    }

    #[test]
    fn the_verdict_leads_with_right_facts_in_plain_words_and_keeps_the_metrics_in_details() {
        use Configuration::*;
        // Word overlap favours the chatty fine-tuned answers; the facts say the documents won.
        let v = verdict(
            &[
                facts(Base, 0.10, 0, 10),
                facts(FineTuned, 0.30, 2, 10),
                facts(BaseRag, 0.12, 6, 10),
                facts(FineTunedRag, 0.20, 5, 10),
            ],
            10,
        );
        assert_eq!(
            v.text,
            "Your documents are enough. The base model with your documents: 6 of 10 answers contained the right fact; the fine-tuned model with your documents: 5; the fine-tuned model alone: 2; the base model alone: 0."
        );
        assert_eq!(v.metric, "fact_recall");
        assert_eq!((v.winner, v.runner_up), (BaseRag, Some(FineTunedRag)));
        assert!((v.margin - 0.1).abs() < 1e-12);
        assert_eq!(
            v.details,
            "Fine-tuning wins: fine-tuned beats fine-tuned + documents by 0.10 token F1 over 10 questions."
        );
    }

    #[test]
    fn equal_fact_counts_are_too_close_to_call_and_token_f1_orders_them() {
        use Configuration::*;
        let v = verdict(&[facts(Base, 0.2, 3, 5), facts(FineTuned, 0.4, 3, 5)], 5);
        assert!(
            v.text
                .starts_with("Too close to call on facts. The fine-tuned model: 3 of 5"),
            "{}",
            v.text
        );
        assert_eq!(v.winner, FineTuned);
        let one = verdict(&[facts(FineTuned, 0.4, 4, 5)], 5);
        assert!(
            one.text
                .starts_with("The fine-tuned model: 4 of 5 answers contained the right fact."),
            "{}",
            one.text
        );
    }

    #[test]
    fn documents_beating_fine_tuning_say_your_documents_are_enough_with_the_margin() {
        use Configuration::*;
        let v = verdict(
            &[
                scores(Base, 0.10),
                scores(FineTuned, 0.30),
                scores(BaseRag, 0.51),
                scores(FineTunedRag, 0.20),
            ],
            10,
        );
        assert_eq!(
            v.text,
            "Your documents are enough: base + documents beats fine-tuned by 0.21 token F1 over 10 questions."
        );
        assert_eq!((v.winner, v.runner_up), (BaseRag, Some(FineTuned)));
    }

    #[test]
    fn a_tiny_margin_is_too_close_to_call_and_a_single_configuration_is_said_so() {
        use Configuration::*;
        let v = verdict(&[scores(Base, 0.300), scores(FineTuned, 0.302)], 5);
        assert!(v.text.starts_with("Too close to call"), "{}", v.text);
        let v = verdict(&[scores(Base, 0.3)], 5);
        assert!(v.text.starts_with("Only base was evaluated"), "{}", v.text);
        let v = verdict(&[scores(Base, 0.4), scores(BaseRag, 0.1)], 5);
        assert!(
            v.text
                .starts_with("Your documents did not help: base beats base + documents by 0.30"),
            "{}",
            v.text
        );
    }
}
