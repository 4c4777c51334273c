//! `wiretap replay` and `wiretap diff` as a user runs them: what they print and their exit
//! codes (0 fine, 1 a difference, 2 a file that cannot be read), on corpus captures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use wiretap::dissect::Transcript;

fn wiretap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wiretap"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run wiretap")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh folder under the system's temporary one, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("wiretap-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn replay_prints_a_header_then_one_line_per_event() {
    let out = wiretap(&["replay", "captures/corpus/curl-range.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("curl-range.json: client 127.0.0.1:")
            && lines[0].contains(" start 2026-")
            && lines[0].ends_with("(5 events)"),
        "{text}"
    );
    assert_eq!(lines.len(), 6, "{text}");
    assert!(
        lines[2].contains("s2c [0..287) HTTP/1.1 206 Partial Content"),
        "{text}"
    );
}

#[test]
fn replay_json_prints_the_blessed_document() {
    let out = wiretap(&[
        "replay",
        "--json",
        "captures/corpus/hostile-ws-unmasked.json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let blessed =
        std::fs::read_to_string("captures/corpus/hostile-ws-unmasked.transcript.json").unwrap();
    assert_eq!(stdout(&out), blessed);
    let transcript: Transcript = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(!transcript.events.is_empty());
}

#[test]
fn replay_names_an_unreadable_file_exits_2_and_goes_on() {
    let out = wiretap(&[
        "replay",
        "no/such/capture.json",
        "captures/corpus/curl-404.json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no/such/capture.json"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).starts_with("curl-404.json: "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn replay_of_a_folder_takes_its_captures_not_its_transcripts() {
    let out = wiretap(&["replay", "captures/corpus"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let headers = stdout(&out).lines().filter(|l| !l.starts_with(' ')).count();
    let captures = wiretap::replay::captures_in(Path::new("captures/corpus"))
        .unwrap()
        .len();
    assert_eq!(headers, captures);
    assert!(captures >= 49);
}

#[test]
fn check_passes_on_the_blessed_corpus() {
    let out = wiretap(&["replay", "--check", "captures/corpus"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).ends_with(" unchanged, 0 changed, 0 new\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn check_fails_on_a_changed_or_missing_transcript_until_blessed() {
    let dir = TempDir::new("check");
    for name in ["curl-range", "curl-404"] {
        std::fs::copy(
            format!("captures/corpus/{name}.json"),
            dir.path().join(format!("{name}.json")),
        )
        .unwrap();
    }
    let blessed = std::fs::read_to_string("captures/corpus/curl-range.transcript.json").unwrap();
    std::fs::write(
        dir.path().join("curl-range.transcript.json"),
        blessed.replace("\"status\":206", "\"status\":200"),
    )
    .unwrap();
    let folder = dir.path().to_str().unwrap();

    let out = wiretap(&["replay", "--check", folder]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("- #1 {") && text.contains("\"status\":200"),
        "{text}"
    );
    assert!(
        text.contains("+ #1 {") && text.contains("\"status\":206"),
        "{text}"
    );
    assert!(text.contains("0 unchanged, 1 changed, 1 new"), "{text}");
    assert!(
        text.contains("WIRETAP_BLESS=1 cargo test --test replay"),
        "{text}"
    );

    let out = wiretap(&["replay", "--bless", folder]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("0 unchanged, 1 changed, 1 new"));
    let out = wiretap(&["replay", "--check", folder]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("2 unchanged, 0 changed, 0 new"));
}

#[test]
fn diff_exits_0_when_equal_1_when_different_2_when_unreadable() {
    let same = wiretap(&[
        "diff",
        "captures/corpus/curl-404.json",
        "captures/corpus/curl-404.transcript.json",
    ]);
    assert_eq!(same.status.code(), Some(0), "{}", stdout(&same));

    let different = wiretap(&[
        "diff",
        "captures/corpus/curl-if-none-match-1.json",
        "captures/corpus/curl-if-none-match-2.json",
    ]);
    assert_eq!(different.status.code(), Some(1));
    let text = stdout(&different);
    assert!(
        text.starts_with("--- captures/corpus/curl-if-none-match-1.json\n"),
        "{text}"
    );
    assert!(text.contains("\"status\":304"), "{text}");

    let unreadable = wiretap(&["diff", "captures/corpus/curl-404.json", "nothing.json"]);
    assert_eq!(unreadable.status.code(), Some(2));
    assert!(stderr(&unreadable).contains("nothing.json"));
}

#[test]
fn keep_copies_a_recorded_capture_into_the_corpus_and_blesses_it() {
    let dir = TempDir::new("keep");
    let recorded = dir.path().join("recorded");
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&recorded).unwrap();
    for (id, from) in [
        ("20261124T195606.073458Z-c000006", "curl-range"),
        ("20261124T195606.100000Z-c000007", "curl-404"),
    ] {
        std::fs::copy(
            format!("captures/corpus/{from}.json"),
            recorded.join(format!("{id}.json")),
        )
        .unwrap();
    }
    let (recorded, corpus) = (recorded.to_str().unwrap(), corpus.to_str().unwrap());
    let keep = |id: &str, name: &str| {
        wiretap(&[
            "keep",
            id,
            "--name",
            name,
            "--captures",
            recorded,
            "--corpus",
            corpus,
        ])
    };

    // A prefix that names both is refused; a unique one is enough.
    let ambiguous = keep("20261124T195606", "range");
    assert_eq!(ambiguous.status.code(), Some(1));
    assert!(stderr(&ambiguous).contains("more than one capture"));
    let kept = keep("20261124T195606.07", "range");
    assert_eq!(kept.status.code(), Some(0), "{}", stderr(&kept));
    assert!(stdout(&kept).contains("range.json"), "{}", stdout(&kept));
    assert_eq!(
        std::fs::read(Path::new(corpus).join("range.json")).unwrap(),
        std::fs::read("captures/corpus/curl-range.json").unwrap(),
        "kept byte for byte"
    );
    let check = wiretap(&["replay", "--check", corpus]);
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
    assert!(stdout(&check).contains("1 unchanged, 0 changed, 0 new"));

    // A name taken, a bad name, an unknown id.
    assert!(stderr(&keep("20261124T195606.1", "range")).contains("already in the corpus"));
    assert!(stderr(&keep("20261124T195606.1", "Not A Name")).contains("lowercase"));
    let unknown = keep("2027", "later");
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("no finalized capture 2027"));
}

#[test]
fn replay_hex_dumps_each_event_with_its_fields_marked() {
    let out = wiretap(&[
        "replay",
        "--hex",
        "captures/corpus/python-ws-binary-echo.json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    // The request head: its first row, then the marker line naming the start line.
    assert!(
        text.contains("      00000000  47 45 54 20 2f 65 63 68  6f 20 48 54 54 50 2f 31  |GET /echo HTTP/1|\n"),
        "{text}"
    );
    for label in [
        "a request line",
        "b header Host",
        "a status line",
        "e end of head",
        "a fin+opcode, b mask+len, c len16, d mask key, e payload",
        "a fin+opcode, b mask+len, c payload",
        "… 13 more bytes",
    ] {
        assert!(text.contains(label), "{label:?} missing:\n{text}");
    }
    // The event lines are those of the plain transcript, in order.
    let plain = stdout(&wiretap(&[
        "replay",
        "captures/corpus/python-ws-binary-echo.json",
    ]));
    let event_lines: Vec<&str> = text.lines().filter(|l| !l.starts_with("      ")).collect();
    assert_eq!(event_lines, plain.lines().collect::<Vec<_>>());
}

#[test]
fn replay_shows_no_progress_when_stderr_is_not_a_terminal() {
    // 49 captures: past the progress threshold, but stderr is a pipe here.
    for args in [
        &["replay", "captures/corpus"][..],
        &["replay", "--check", "captures/corpus"][..],
    ] {
        let out = wiretap(args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
        assert!(!stdout(&out).contains('\r'), "{args:?}");
    }
}
