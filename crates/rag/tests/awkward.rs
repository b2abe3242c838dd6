//! The awkward corpus: an empty file, a scanned PDF with no text layer, a 50 MB text file, non-UTF-8
//! text, binary data, a damaged PDF and an unsupported file, next to good documents. Each problem
//! must be reported with its file, and every good document indexed: nothing else lost.
//! The large and binary files are generated at run time, never committed.

use std::path::Path;

use lopdf::content::{Content, Operation};
use lopdf::{dictionary, Document, Object, Stream};
use tunesmith_rag::hashed_embedder::HashedBagOfWords;
use tunesmith_rag::{
    FileStatus, Index, IngestOptions, IngestProgress, Problem, SearchMode, SearchOptions,
    WhitespaceTokenizer,
};

/// A PDF with one page per entry: `Some(text)` draws text, `None` draws only a filled rectangle (as a
/// scanner's image would be: no text layer).
fn pdf(pages: &[Option<&str>]) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(
        dictionary! {"Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica"},
    );
    let resources_id = doc.add_object(dictionary! {"Font" => dictionary! {"F1" => font_id}});
    let mut kids = Vec::new();
    for page in pages {
        let operations = match page {
            Some(text) => vec![
                Operation::new("BT", vec![]),
                Operation::new("Tf", vec!["F1".into(), 12.into()]),
                Operation::new("Td", vec![72.into(), 720.into()]),
                Operation::new("Tj", vec![Object::string_literal(*text)]),
                Operation::new("ET", vec![]),
            ],
            None => vec![
                Operation::new("rg", vec![0.5.into(), 0.5.into(), 0.5.into()]),
                Operation::new("re", vec![72.into(), 72.into(), 400.into(), 600.into()]),
                Operation::new("f", vec![]),
            ],
        };
        let content = Content { operations }.encode().unwrap();
        let content_id = doc.add_object(Stream::new(dictionary! {}, content));
        let page_id = doc.add_object(
            dictionary! {"Type" => "Page", "Parent" => pages_id, "Contents" => content_id},
        );
        kids.push(page_id.into());
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count, "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! {"Type" => "Catalog", "Pages" => pages_id});
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
fn every_awkward_file_is_reported_and_every_good_file_is_indexed() {
    let docs = tempfile::tempdir().unwrap();
    let d = docs.path();
    write(d, "empty.txt", b"");
    write(d, "blank.md", b"\n\n   \n");
    write(d, "scan.pdf", &pdf(&[None, None]));
    write(
        d,
        "half-scanned.pdf",
        &pdf(&[Some("The boiler is serviced every April."), None]),
    );
    write(
        d,
        "damaged.pdf",
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ntrailer garbage",
    );
    write(
        d,
        "latin1.txt",
        b"Le caf\xe9 ouvre \xe0 sept heures. Cr\xe8me br\xfbl\xe9e au menu.",
    );
    write(
        d,
        "binary.txt",
        &[0x89, b'P', b'N', b'G', 0, 0, 0, 13, 0xff, 0xfe, 0, 1],
    );
    write(d, "photo.png", &[0x89, b'P', b'N', b'G']);
    write(
        d,
        "good.md",
        b"# Garden\n\nThe greenhouse door sticks in wet weather.",
    );
    write(d, "good.csv", b"item,place\nspade,shed\nrake,garage\n");
    // 50 MB of real-looking text, over the default 32 MiB limit.
    let line =
        "This line repeats to make a very large log file that nobody should embed on a laptop.\n";
    let big = line.repeat(50_000_000 / line.len() + 1);
    write(d, "huge-log.txt", big.as_bytes());

    let dir = tempfile::tempdir().unwrap();
    let mut index = Index::open(&dir.path().join("awkward.sqlite3")).unwrap();
    let mut events = Vec::new();
    let report = index
        .ingest(
            &[d.to_path_buf()],
            Some(&HashedBagOfWords::default()),
            &WhitespaceTokenizer,
            &IngestOptions::default(),
            &mut |e| events.push(e),
        )
        .unwrap();

    let file = |name: &str| {
        report
            .files
            .iter()
            .find(|f| f.source.ends_with(name))
            .unwrap_or_else(|| panic!("{name} not in the report"))
    };
    assert_eq!(report.files.len(), 11, "every file has a line: {report:#?}");
    assert_eq!(file("empty.txt").problem, Some(Problem::Empty));
    assert_eq!(file("blank.md").problem, Some(Problem::Empty));
    assert_eq!(
        file("scan.pdf").problem,
        Some(Problem::NoTextLayer { pages: 2 })
    );
    assert!(file("scan.pdf").message.as_deref().unwrap().contains("OCR"));
    assert!(matches!(
        file("damaged.pdf").problem,
        Some(Problem::Unreadable { .. })
    ));
    assert!(
        matches!(file("binary.txt").problem, Some(Problem::Unreadable { ref reason }) if reason.contains("binary"))
    );
    assert!(
        matches!(file("photo.png").problem, Some(Problem::Unsupported { ref extension }) if extension == "png")
    );
    match &file("huge-log.txt").problem {
        Some(Problem::TooLarge { bytes, limit }) => {
            assert!(*bytes >= 50_000_000 && *limit < *bytes)
        }
        other => panic!("huge-log.txt: {other:?}"),
    }

    // Decoded with a warning, and indexed.
    let latin = file("latin1.txt");
    assert_eq!(latin.status, FileStatus::Added);
    assert!(
        latin.warnings[0].contains("Windows-1252"),
        "{:?}",
        latin.warnings
    );
    // A PDF with one scanned page keeps its text page and names the other.
    let half = file("half-scanned.pdf");
    assert_eq!(half.status, FileStatus::Added);
    assert!(
        half.warnings[0].contains("page(s) 2"),
        "{:?}",
        half.warnings
    );

    for good in ["good.md", "good.csv", "latin1.txt", "half-scanned.pdf"] {
        assert_eq!(file(good).status, FileStatus::Added, "{good}");
    }
    assert_eq!(report.count(FileStatus::Added), 4);
    assert_eq!(report.count(FileStatus::Skipped), 7);
    assert_eq!(report.documents, 4);

    let kw = SearchOptions {
        top_k: 1,
        mode: SearchMode::Keyword,
    };
    assert!(index.search("crème brûlée", None, &kw).unwrap()[0]
        .source
        .ends_with("latin1.txt"));
    let boiler = &index.search("boiler", None, &kw).unwrap()[0];
    assert_eq!(boiler.location.to_string(), "page 1");
    assert!(index.search("rake", None, &kw).unwrap()[0]
        .text
        .contains("place: garage"));
    assert!(index
        .search("nobody should embed", None, &kw)
        .unwrap()
        .is_empty());

    assert!(matches!(
        events.first(),
        Some(IngestProgress::Found { files: 11 })
    ));
    assert!(events
        .iter()
        .any(|e| matches!(e, IngestProgress::Embedding { done, total } if done == total)));
}

#[test]
fn a_file_that_becomes_unreadable_loses_its_old_passages_and_says_why() {
    let docs = tempfile::tempdir().unwrap();
    write(
        docs.path(),
        "notes.txt",
        b"Quarterly figures are due on Friday.",
    );
    let dir = tempfile::tempdir().unwrap();
    let mut index = Index::open(&dir.path().join("u.sqlite3")).unwrap();
    let inputs = [docs.path().to_path_buf()];
    let opts = IngestOptions::default();
    index
        .ingest(&inputs, None, &WhitespaceTokenizer, &opts, &mut |_| {})
        .unwrap();
    write(docs.path(), "notes.txt", b"");
    let r = index
        .ingest(&inputs, None, &WhitespaceTokenizer, &opts, &mut |_| {})
        .unwrap();
    assert_eq!(r.files[0].problem, Some(Problem::Empty));
    assert_eq!(r.documents, 0);
    assert!(index
        .search("quarterly", None, &SearchOptions::default())
        .unwrap()
        .is_empty());
}
