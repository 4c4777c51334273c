//! Static files from `www/`: which file a request names, and what to answer.
//!
//! For: turning a method, a request-target and a handful of header values into a [`Plan`]:
//! the status, the header fields, the file and the byte range to stream. It does the path
//! resolution (percent-decoding, traversal and symlink containment), the MIME type, the
//! validators (ETag, Last-Modified), conditional requests (RFC 9110 §13) and single byte
//! ranges (RFC 9110 §14).
//!
//! Not for: parsing HTTP (the caller hands over the method, the raw request-target and the
//! raw field values, already framed by the `http` parser), writing the response, or reading
//! the file. It knows no sockets, no async and no clock: the caller passes `now`. The only
//! I/O it does is `canonicalize` and `metadata` on the candidate path, so its answers are
//! as fresh as the file system at the moment of the call.
//!
//! # Strictness table
//!
//! | input | answer | why |
//! |---|---|---|
//! | method other than `GET`/`HEAD` (case-sensitive) | 405, `Allow: GET, HEAD` | RFC 9110 §15.5.6; methods are case-sensitive (§9.1) |
//! | target not starting with `/` (absolute-form, `*`, authority-form) | 400 | origin-form only; see [`Refusal::NotOriginForm`] |
//! | `%` not followed by two hex digits | 400 | RFC 3986 §2.1 `pct-encoded = "%" HEXDIG HEXDIG` |
//! | decoded control byte (`%00`, `%0a`, …) | 400 | no file of ours has one; keeps them out of logs and paths |
//! | decoded `\` | 404 | a path separator elsewhere; never part of a name we serve |
//! | decoded bytes that are not UTF-8 (`%c0%ae`, `%ff`) | 404 | `www/` names are UTF-8; refuses overlong encodings of `.` and `/` |
//! | `.` or `..` segment, raw or decoded | 404 | traversal; browsers never send them (they normalise first) |
//! | any segment starting with `.` (`/.secret`, `/.git/config`) | 404 | dotfiles are not served |
//! | path that canonicalizes outside `www/` (symlinks) | 404 | containment is checked on the real path |
//! | directory without trailing `/` | 301 to the `/` form | relative links in its `index.html` must resolve inside it |
//! | directory with `/` but no `index.html`, missing file, `file/` | 404 | no listings |
//! | socket, FIFO, device | 404 | only regular files are served |
//! | `If-Match` fails, or else `If-Unmodified-Since` fails | 412 | RFC 9110 §13.2.2 steps 1–2 |
//! | `If-None-Match` matches, or else `If-Modified-Since` holds | 304 | RFC 9110 §13.2.2 steps 3–4 |
//! | one satisfiable `bytes=` range on GET (and `If-Range` matches, if present) | 206 | RFC 9110 §14.2, §13.1.5 |
//! | one unsatisfiable `bytes=` range on GET | 416, `Content-Range: bytes */len` | RFC 9110 §15.5.17 |
//! | several ranges, malformed `Range`, other unit, `HEAD`, empty file, `If-Range` mismatch | 200, whole file | RFC 9110 §14.2: "A server MAY ignore the Range header field" |
//!
//! All refusals of a name (traversal, dotfiles, symlinks out, non-UTF-8, backslash) answer
//! 404 rather than 403: a 403 would confirm that something is there. Only requests that
//! are malformed on their face (not origin-form, bad escapes, control bytes) get 400.
//!
//! # What the shell does with a [`Plan`]
//!
//! Write the status line and [`Plan::headers`] (every plan carries `Date`), then:
//! [`Plan::Serve`] streams `range` of `path` unless `body` is false (HEAD);
//! [`Plan::NotModified`] and [`Plan::Redirect`] have no body; [`Plan::Refuse`] may carry a
//! short body of the shell's choosing, with the `Content-Length` the shell adds for it.
//!
//! The file is opened by the shell after the plan is made; if it vanished or changed in
//! between, the shell answers 404 or stops short, as any server must. [`StaticFile::path`]
//! is canonical (no symlinks in it at resolve time); someone who can write inside `www/` can
//! still race a symlink in after the check, which std cannot prevent (that needs
//! `openat2(RESOLVE_BENEATH)`). `www/` is ours, not the visitors'.

use std::fmt;
use std::fs;
use std::io;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The file a directory request is answered with.
pub const INDEX: &str = "index.html";

/// RFC 9110 §15.5.6: "The origin server MUST generate an Allow header field in a 405
/// response containing a list of the target resource's currently supported methods."
pub const ALLOW: &str = "GET, HEAD";

/// One header field of a plan: the name as written on the wire and its value.
pub type Field = (&'static str, String);

/// The last second an IMF-fixdate can show (9999-12-31T23:59:59Z); `httpdate` panics past
/// it, so every date is clamped or dropped before it gets there.
const MAX_HTTP_DATE_SECS: u64 = 253_402_300_799;

/// The canonical `www/` directory every answer must stay inside.
///
/// Made once at start-up; holding it proves the path was canonicalized, so the containment
/// check in [`resolve`] compares like with like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root(PathBuf);

impl Root {
    /// Canonicalizes `dir` and checks that it is a directory.
    pub fn new(dir: impl AsRef<Path>) -> io::Result<Self> {
        let path = fs::canonicalize(dir)?;
        if !fs::metadata(&path)?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a directory", path.display()),
            ));
        }
        Ok(Self(path))
    }

    /// The canonical directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

/// Why a request gets no file: each variant names the rule; [`Refusal::status`] is the
/// answer on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// RFC 9110 §9.1: only GET and HEAD are implemented for files; answered 405 with
    /// `Allow: GET, HEAD`.
    MethodNotAllowed,
    /// The request-target is not origin-form (RFC 9112 §3.2.1): it does not start with `/`.
    ///
    /// Deliberate narrowing: RFC 9112 §3.2.2 says a server "MUST accept the absolute-form
    /// in requests". Reducing `http://host/path` to `/path` (and checking `host`) is the
    /// HTTP layer's job, done before calling here; this function only trusts a path.
    NotOriginForm,
    /// RFC 3986 §2.1: `pct-encoded = "%" HEXDIG HEXDIG`; a `%` without two hex digits.
    BadPercentEncoding,
    /// A control byte (0x00–0x1F or 0x7F) after decoding; `%00` would end a C path early.
    ControlByte,
    /// A backslash after decoding: a path separator on Windows and in sloppy normalisers.
    Backslash,
    /// Decoded bytes that are not UTF-8, such as the overlong `%c0%ae` for `.`.
    NotUtf8,
    /// A `.` or `..` segment after decoding (RFC 3986 §3.3 dot-segments).
    DotSegment,
    /// A segment starting with `.`: dotfiles and dot-directories are not served.
    HiddenName,
    /// Nothing servable there: no such path, a directory without `index.html`, or a file
    /// requested with a trailing slash.
    NotFound,
    /// The real path (symlinks followed) is outside the root.
    OutsideRoot,
    /// Not a regular file: a socket, FIFO or device.
    NotRegularFile,
    /// RFC 9110 §13.1.1 / §13.1.4: `If-Match` or `If-Unmodified-Since` evaluated false.
    PreconditionFailed,
    /// RFC 9110 §14.1.1: the one byte range asked for starts at or past the end.
    RangeNotSatisfiable,
}

impl Refusal {
    /// The status code to answer with.
    pub fn status(self) -> u16 {
        match self {
            Self::MethodNotAllowed => 405,
            Self::NotOriginForm | Self::BadPercentEncoding | Self::ControlByte => 400,
            Self::Backslash
            | Self::NotUtf8
            | Self::DotSegment
            | Self::HiddenName
            | Self::NotFound
            | Self::OutsideRoot
            | Self::NotRegularFile => 404,
            Self::PreconditionFailed => 412,
            Self::RangeNotSatisfiable => 416,
        }
    }

    /// The rule behind the refusal, for logs and transcripts.
    pub fn rule(self) -> &'static str {
        match self {
            Self::MethodNotAllowed => "RFC 9110 §15.5.6",
            Self::NotOriginForm => "RFC 9112 §3.2.1",
            Self::BadPercentEncoding => "RFC 3986 §2.1",
            Self::ControlByte | Self::Backslash | Self::NotUtf8 | Self::HiddenName => {
                "wiretap www/ policy"
            }
            Self::DotSegment => "RFC 3986 §3.3",
            Self::NotFound | Self::OutsideRoot | Self::NotRegularFile => "RFC 9110 §15.5.5",
            Self::PreconditionFailed => "RFC 9110 §13.2.2",
            Self::RangeNotSatisfiable => "RFC 9110 §14.1.1",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MethodNotAllowed => "method not allowed for static files",
            Self::NotOriginForm => "request-target is not origin-form",
            Self::BadPercentEncoding => "malformed percent-encoding in path",
            Self::ControlByte => "control byte in decoded path",
            Self::Backslash => "backslash in decoded path",
            Self::NotUtf8 => "decoded path is not utf-8",
            Self::DotSegment => "dot-segment in path",
            Self::HiddenName => "path names a dotfile",
            Self::NotFound => "no such file",
            Self::OutsideRoot => "path leads outside the root",
            Self::NotRegularFile => "not a regular file",
            Self::PreconditionFailed => "precondition failed",
            Self::RangeNotSatisfiable => "range not satisfiable",
        })
    }
}

impl std::error::Error for Refusal {}

/// A regular file inside the root, with what its answer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticFile {
    /// The canonical path: open this one.
    pub path: PathBuf,
    /// The file's length in bytes.
    pub len: u64,
    /// The file's modification time, where the platform gives one.
    pub modified: Option<SystemTime>,
    /// The `Content-Type` field value, from [`content_type`].
    pub content_type: String,
    /// The file as [`resolve`] opened it, when it did: the very file whose real path was
    /// checked. Sending from it, rather than opening `path` again, leaves no window in
    /// which a swapped symlink could change what is sent.
    pub opened: Option<OpenFile>,
}

/// An open file shared between the plan and the writer; see [`StaticFile::opened`].
/// Two are equal when they are the same open file.
#[derive(Debug, Clone)]
pub struct OpenFile(Arc<fs::File>);

impl OpenFile {
    /// The open file.
    pub fn file(&self) -> &fs::File {
        &self.0
    }
}

impl PartialEq for OpenFile {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for OpenFile {}

impl StaticFile {
    /// The strong entity-tag, quotes included: `"<len hex>-<mtime nanos hex>"`.
    ///
    /// RFC 9110 §8.8.3: a strong validator "changes value whenever a change occurs to the
    /// representation data". Length plus nanosecond mtime is the usual stand-in (nginx
    /// and Apache use the same ingredients at coarser grain); it misses a same-length
    /// rewrite within one mtime tick, which on nanosecond file systems means never in
    /// practice. A file without an mtime gets 0 there. Times before 1970 are written as
    /// the two's complement of their negative nanosecond count, so they stay distinct.
    pub fn etag(&self) -> String {
        let nanos: i128 = match self.modified {
            None => 0,
            Some(t) => match t.duration_since(UNIX_EPOCH) {
                Ok(d) => d.as_nanos() as i128,
                Err(e) => -(e.duration().as_nanos() as i128),
            },
        };
        format!("\"{:x}-{:x}\"", self.len, nanos)
    }

    /// The `Last-Modified` value in whole seconds since 1970, clamped to `now`.
    ///
    /// RFC 9110 §8.8.2.1: "An origin server with a clock MUST NOT generate a Last-Modified
    /// date that is later than the server's time of message origination (Date)". `None`
    /// when there is no mtime or it cannot be written as an HTTP-date (before 1970).
    fn last_modified_secs(&self, now: SystemTime) -> Option<u64> {
        let modified = unix_secs(self.modified?)?;
        Some(
            modified
                .min(unix_secs(now).unwrap_or(0))
                .min(MAX_HTTP_DATE_SECS),
        )
    }

    /// The `Last-Modified` field value (IMF-fixdate), clamped to `now`; see
    /// [`StaticFile::etag`] for the other validator.
    pub fn last_modified(&self, now: SystemTime) -> Option<String> {
        self.last_modified_secs(now).map(fmt_secs)
    }
}

/// What [`resolve`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A regular file to serve.
    File(StaticFile),
    /// A directory named without its trailing slash: answer 301 with this `Location`
    /// (the same path with `/` appended, the query kept).
    Redirect(String),
}

/// The request fields this module reads, as the parser hands them over.
///
/// Header values are the raw field values. When a field occurs on several lines, the
/// caller joins them with `", "` first (RFC 9110 §5.3), which is what a list field means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method token, case-sensitive (RFC 9110 §9.1).
    pub method: &'a str,
    /// The raw request-target bytes, percent-encoding and query included.
    pub target: &'a [u8],
    /// `If-Match`.
    pub if_match: Option<&'a [u8]>,
    /// `If-None-Match`.
    pub if_none_match: Option<&'a [u8]>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<&'a [u8]>,
    /// `If-Unmodified-Since`.
    pub if_unmodified_since: Option<&'a [u8]>,
    /// `Range`.
    pub range: Option<&'a [u8]>,
    /// `If-Range`.
    pub if_range: Option<&'a [u8]>,
}

impl<'a> Request<'a> {
    /// A request with `method` and `target` and no conditional or range fields.
    pub fn new(method: &'a str, target: &'a [u8]) -> Self {
        Self {
            method,
            target,
            ..Self::default()
        }
    }
}

/// The answer to one request: what the shell writes, and what it streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// 200 or 206: write the head, then `range` of the file at `path` unless `body` is false.
    Serve {
        /// 200 for the whole file, 206 for one byte range.
        status: u16,
        /// The canonical file path.
        path: PathBuf,
        /// The file, already open: read from it when present (see [`StaticFile::opened`]).
        file: Option<OpenFile>,
        /// The bytes to send; `Content-Length` in `headers` is its length.
        range: Range<u64>,
        /// False for HEAD (RFC 9110 §9.3.2: the same fields as GET, no content).
        body: bool,
        /// `Date`, `Last-Modified`, `ETag`, `Accept-Ranges`, `Content-Type`,
        /// `Content-Length`, and `Content-Range` for 206.
        headers: Vec<Field>,
    },
    /// 304: the client's copy is current. Head only.
    NotModified {
        /// `Date`, `ETag`, `Last-Modified` (RFC 9110 §15.4.5).
        headers: Vec<Field>,
    },
    /// 301 to the directory's slash form. Head only.
    Redirect {
        /// `Date`, `Location`.
        headers: Vec<Field>,
    },
    /// A 4xx answer; the status is [`Refusal::status`].
    Refuse {
        /// Why.
        refusal: Refusal,
        /// `Date`, plus `Allow` for 405 and `Content-Range` for 416.
        headers: Vec<Field>,
    },
}

impl Plan {
    /// The status code to write.
    pub fn status(&self) -> u16 {
        match self {
            Self::Serve { status, .. } => *status,
            Self::NotModified { .. } => 304,
            Self::Redirect { .. } => 301,
            Self::Refuse { refusal, .. } => refusal.status(),
        }
    }

    /// The header fields to write, in order.
    pub fn headers(&self) -> &[Field] {
        match self {
            Self::Serve { headers, .. }
            | Self::NotModified { headers }
            | Self::Redirect { headers }
            | Self::Refuse { headers, .. } => headers,
        }
    }

    /// The value of the first field called `name` (ASCII case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Decides the answer to `req` for files under `root`, as of `now`.
///
/// The method is checked first (405 without touching the file system), then the target is
/// [`resolve`]d, then [`decide`] applies the validators, conditionals and range.
pub fn plan(root: &Root, req: &Request<'_>, now: SystemTime) -> Plan {
    if let Err(refused) = head_only(req.method, now) {
        return refused;
    }
    match resolve(root, req.target) {
        Ok(Resolved::File(file)) => decide(&file, req, now),
        Ok(Resolved::Redirect(location)) => Plan::Redirect {
            headers: vec![("Date", http_date(now)), ("Location", location)],
        },
        Err(refusal) => refuse(refusal, now),
    }
}

/// Maps a request-target to a file under `root`.
///
/// Steps, each one a gate: origin-form only; cut the query and fragment; percent-decode
/// exactly once (`%252e` is the three bytes `%2e` in a name, never a dot); refuse control
/// bytes, backslashes, non-UTF-8, `.`/`..` and dot-named segments; drop empty segments
/// (`//a///b` is `/a/b`); join the segments under the root one by one; canonicalize and
/// require the result inside the root, then check again that no component of the real path
/// starts with `.`; answer directories with their `index.html` (checked the same way) or a
/// redirect to the slash form. See the module's strictness table for the status codes.
pub fn resolve(root: &Root, target: &[u8]) -> Result<Resolved, Refusal> {
    // RFC 9112 §3.2.1: origin-form = absolute-path [ "?" query ].
    if target.first() != Some(&b'/') {
        return Err(Refusal::NotOriginForm);
    }
    let path_end = target
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(target.len());
    let (raw_path, rest) = target.split_at(path_end);
    // A fragment is never sent on the wire (RFC 9110 §7.1), but cut it if it is.
    let query = match rest.split_first() {
        Some((b'?', q)) => Some(q.split(|&b| b == b'#').next().unwrap_or(q)),
        _ => None,
    };

    // Decode once, as a whole: `%2f` becomes a separator and is then split like `/`, so
    // `..%2f` is caught as a `..` segment.
    let decoded = percent_decode(raw_path).ok_or(Refusal::BadPercentEncoding)?;
    if decoded.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(Refusal::ControlByte);
    }
    if decoded.contains(&b'\\') {
        return Err(Refusal::Backslash);
    }
    let decoded = String::from_utf8(decoded).map_err(|_| Refusal::NotUtf8)?;

    let mut segments = Vec::new();
    for segment in decoded.split('/').filter(|s| !s.is_empty()) {
        // Refused rather than normalised: RFC 3986 §5.2.4 removal is for resolving
        // references, and a browser has already done it, so a dot-segment on the wire
        // comes from a tool probing us.
        if segment == "." || segment == ".." {
            return Err(Refusal::DotSegment);
        }
        if segment.starts_with('.') {
            return Err(Refusal::HiddenName);
        }
        segments.push(segment);
    }
    let wants_dir = decoded.ends_with('/');

    // Push segment by segment: none holds a `/` or is `..`, so each one only goes down.
    let mut candidate = root.path().to_path_buf();
    for segment in &segments {
        candidate.push(segment);
    }
    let (real, file, meta) = contained(root, &candidate)?;
    if meta.is_dir() {
        if !wants_dir {
            return Ok(Resolved::Redirect(slash_location(&segments, query)));
        }
        drop(file);
        let (index, file, meta) = contained(root, &real.join(INDEX))?;
        return regular_file(index, file, &meta);
    }
    if wants_dir {
        // `/a.css/` names a directory that is not there.
        return Err(Refusal::NotFound);
    }
    regular_file(real, file, &meta)
}

/// Opens `candidate` and proves that what was opened is under the root and not hidden.
///
/// The check is on the open file's own path where the platform tells it (Linux:
/// `/proc/self/fd/N`), so it is about the file that will be sent: no window between the
/// check and the open. Elsewhere the candidate is canonicalized, which leaves that window.
/// One `open`, one `readlink` and one `fstat`, where canonicalizing first cost a
/// `readlink` per path component and a `stat` besides.
fn contained(root: &Root, candidate: &Path) -> Result<(PathBuf, fs::File, fs::Metadata), Refusal> {
    let file = open_nonblocking(candidate).map_err(|_| {
        // A Unix socket cannot be opened at all (ENXIO); say what it is. Both are 404.
        match fs::metadata(candidate) {
            Ok(meta) if !meta.is_file() && !meta.is_dir() => Refusal::NotRegularFile,
            _ => Refusal::NotFound,
        }
    })?;
    let real = match real_path(&file) {
        Some(real) => real,
        None => fs::canonicalize(candidate).map_err(|_| Refusal::NotFound)?,
    };
    // `Path::starts_with` compares whole components: `/www2` does not start with `/www`.
    let inside = real
        .strip_prefix(root.path())
        .map_err(|_| Refusal::OutsideRoot)?;
    // A symlink such as `public.txt -> .secret` passes the name checks; its real path
    // does not.
    let hidden = inside.components().any(|c| match c {
        Component::Normal(name) => name.as_encoded_bytes().first() == Some(&b'.'),
        _ => true,
    });
    if hidden {
        return Err(Refusal::HiddenName);
    }
    let meta = file.metadata().map_err(|_| Refusal::NotFound)?;
    Ok((real, file, meta))
}

/// Opens for reading without blocking: a FIFO in the folder must not hold the thread
/// until some writer appears (it is then refused as not a regular file).
fn open_nonblocking(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    options.open(path)
}

/// The path of an open file, as the kernel knows it (symlinks resolved).
#[cfg(target_os = "linux")]
fn real_path(file: &fs::File) -> Option<PathBuf> {
    use std::os::fd::AsRawFd as _;
    fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()
}

#[cfg(not(target_os = "linux"))]
fn real_path(_: &fs::File) -> Option<PathBuf> {
    None
}

fn regular_file(path: PathBuf, file: fs::File, meta: &fs::Metadata) -> Result<Resolved, Refusal> {
    if meta.is_dir() {
        // `index.html` that is itself a directory.
        return Err(Refusal::NotFound);
    }
    if !meta.is_file() {
        return Err(Refusal::NotRegularFile);
    }
    Ok(Resolved::File(StaticFile {
        content_type: content_type(&path),
        len: meta.len(),
        modified: meta.modified().ok(),
        path,
        opened: Some(OpenFile(Arc::new(file))),
    }))
}

/// RFC 3986 §2.1 percent-decoding, exactly once; `None` for a `%` without two hex digits.
fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut bytes = input.iter();
    while let Some(&b) = bytes.next() {
        if b == b'%' {
            let hi = hex_value(*bytes.next()?)?;
            let lo = hex_value(*bytes.next()?)?;
            out.push(hi << 4 | lo);
        } else {
            out.push(b);
        }
    }
    Some(out)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The `Location` for a directory named without its slash: rebuilt from the checked
/// segments, so it never starts with `//` (which a browser would read as another host).
fn slash_location(segments: &[&str], query: Option<&[u8]>) -> String {
    let mut out = String::new();
    for segment in segments {
        out.push('/');
        for &b in segment.as_bytes() {
            // RFC 3986 §3.3: pchar = unreserved / pct-encoded / sub-delims / ":" / "@".
            let pchar = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b);
            if pchar {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out.push('/');
    if let Some(query) = query {
        out.push('?');
        for &b in query {
            // The parser lets no such byte through; escaping keeps the field value clean
            // whoever calls.
            if (0x21..=0x7e).contains(&b) {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// The `Content-Type` field value for a file, from its extension.
///
/// The table is `mime_guess`'s; two corrections on top: `application/javascript` (which
/// it gives `.mjs`) becomes `text/javascript`, per RFC 9239 §6 ("text/javascript" is the
/// one to use; the others are obsolete); and textual types get `charset=utf-8`, because
/// everything in `www/` is written in UTF-8 and a browser would otherwise guess.
/// Unknown or missing extensions are `application/octet-stream`.
///
/// ```
/// use std::path::Path;
/// use wiretap::server::files::content_type;
///
/// assert_eq!(content_type(Path::new("app.mjs")), "text/javascript; charset=utf-8");
/// assert_eq!(content_type(Path::new("logo.png")), "image/png");
/// assert_eq!(content_type(Path::new("README")), "application/octet-stream");
/// ```
pub fn content_type(path: &Path) -> String {
    let guessed = mime_guess::from_path(path)
        .first_raw()
        .unwrap_or("application/octet-stream");
    let essence = match guessed {
        "application/javascript" | "application/x-javascript" => "text/javascript",
        other => other,
    };
    if is_textual(essence) {
        format!("{essence}; charset=utf-8")
    } else {
        essence.to_owned()
    }
}

/// Types whose bytes are text in some charset: `text/*`, JSON and XML (and their `+json`
/// / `+xml` structured-syntax suffixes, RFC 6839), which covers SVG. For JSON the
/// parameter is redundant (RFC 8259 §11 defines none; UTF-8 is the default) but harmless.
fn is_textual(essence: &str) -> bool {
    essence.starts_with("text/")
        || essence == "application/json"
        || essence == "application/xml"
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
}

/// The `Date` field value for `now` (IMF-fixdate, RFC 9110 §5.6.7), clamped into the
/// years 1970–9999 that the format can show.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use wiretap::server::files::http_date;
///
/// let t = UNIX_EPOCH + Duration::from_secs(784_111_777);
/// assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
/// ```
pub fn http_date(now: SystemTime) -> String {
    fmt_secs(unix_secs(now).unwrap_or(0).min(MAX_HTTP_DATE_SECS))
}

fn unix_secs(t: SystemTime) -> Option<u64> {
    t.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

/// Callers keep `secs` at or below [`MAX_HTTP_DATE_SECS`], where `httpdate` cannot panic.
fn fmt_secs(secs: u64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs.min(MAX_HTTP_DATE_SECS)))
}

/// An HTTP-date in any of the three forms RFC 9110 §5.6.7 says a recipient MUST accept
/// (IMF-fixdate, RFC 850, asctime), as whole seconds; `None` when it is not one.
fn parse_date(value: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(trim_ows(value)).ok()?;
    unix_secs(httpdate::parse_http_date(text).ok()?)
}

/// The answer for a resolved file: validators, RFC 9110 §13.2.2 preconditions, then range.
///
/// No file system access: everything comes from `file`, `req` and `now`, so the same
/// request against the same file state always gets the same plan.
///
/// ```
/// use std::path::PathBuf;
/// use std::time::{Duration, UNIX_EPOCH};
/// use wiretap::server::files::{decide, Plan, Request, StaticFile};
///
/// let file = StaticFile {
///     path: PathBuf::from("/srv/www/a.txt"),
///     len: 100,
///     modified: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
///     content_type: "text/plain; charset=utf-8".into(),
///     opened: None,
/// };
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_003_600);
/// let req = Request { range: Some(b"bytes=-10"), ..Request::new("GET", b"/a.txt") };
/// let plan = decide(&file, &req, now);
/// assert_eq!(plan.status(), 206);
/// assert_eq!(plan.header("Content-Range"), Some("bytes 90-99/100"));
/// assert!(matches!(plan, Plan::Serve { range, .. } if range == (90..100)));
/// ```
pub fn decide(file: &StaticFile, req: &Request<'_>, now: SystemTime) -> Plan {
    let head = match head_only(req.method, now) {
        Ok(head) => head,
        Err(refused) => return refused,
    };
    let date = http_date(now);
    let etag = file.etag();
    let last_modified = file.last_modified_secs(now);

    // RFC 9110 §13.2.2 steps 1-2: If-Match, or else If-Unmodified-Since.
    if let Some(value) = req.if_match {
        // §13.1.1: "An origin server MUST use the strong comparison function when
        // comparing entity tags for If-Match"; `*` matches any current representation.
        if !list_matches(value, &etag, Comparison::Strong) {
            return refuse(Refusal::PreconditionFailed, now);
        }
    } else if let (Some(value), Some(modified)) = (req.if_unmodified_since, last_modified) {
        // §13.1.4: false when the representation was modified after the date; an invalid
        // date is ignored.
        if parse_date(value).is_some_and(|since| modified > since) {
            return refuse(Refusal::PreconditionFailed, now);
        }
    }

    // Steps 3-4: If-None-Match, or else If-Modified-Since.
    let not_modified = if let Some(value) = req.if_none_match {
        // §13.1.2: "A recipient MUST use the weak comparison function when comparing
        // entity tags for If-None-Match"; `*` matches because the file exists.
        list_matches(value, &etag, Comparison::Weak)
    } else if let (Some(value), Some(modified)) = (req.if_modified_since, last_modified) {
        // §13.1.3: ignored when If-None-Match is present (the branch above) or the value
        // is not a valid HTTP-date; otherwise false (304) when the last modification is
        // earlier than or equal to the date. Both sides are whole seconds.
        parse_date(value).is_some_and(|since| modified <= since)
    } else {
        false
    };
    let validators = |headers: &mut Vec<Field>| {
        if let Some(secs) = last_modified {
            headers.push(("Last-Modified", fmt_secs(secs)));
        }
        headers.push(("ETag", etag.clone()));
    };
    if not_modified {
        // §15.4.5: a 304 carries the Date and ETag a 200 would; Last-Modified too, as
        // it guides caches that validate by date.
        let mut headers = vec![("Date", date)];
        validators(&mut headers);
        return Plan::NotModified { headers };
    }

    // Step 5: Range, gated by If-Range. §14.2: "A server MUST ignore a Range header field
    // received with any request method other than GET."
    let wanted = match req.range {
        Some(range) if !head && if_range_holds(req.if_range, &etag, last_modified) => {
            parse_range(range, file.len)
        }
        _ => RangeAnswer::Whole,
    };
    let mut headers = vec![("Date", date)];
    validators(&mut headers);
    let (status, range) = match wanted {
        RangeAnswer::Whole => (200, 0..file.len),
        RangeAnswer::Part(range) => (206, range),
        RangeAnswer::Unsatisfiable => {
            // §15.5.17: "a server generating a 416 (Range Not Satisfiable) response to a
            // byte-range request SHOULD generate a Content-Range header field specifying
            // the current length of the selected representation".
            let mut refused = refuse(Refusal::RangeNotSatisfiable, now);
            if let Plan::Refuse { headers, .. } = &mut refused {
                headers.push(("Content-Range", format!("bytes */{}", file.len)));
            }
            return refused;
        }
    };
    headers.push(("Accept-Ranges", "bytes".to_owned()));
    headers.push(("Content-Type", file.content_type.clone()));
    headers.push(("Content-Length", (range.end - range.start).to_string()));
    if status == 206 {
        // §14.4: Content-Range = range-unit SP incl-range "/" complete-length; the
        // range is non-empty here, so `end - 1` is the last byte.
        headers.push((
            "Content-Range",
            format!("bytes {}-{}/{}", range.start, range.end - 1, file.len),
        ));
    }
    Plan::Serve {
        status,
        path: file.path.clone(),
        file: file.opened.clone(),
        range,
        body: !head,
        headers,
    }
}

/// `Ok(true)` for HEAD, `Ok(false)` for GET, the 405 plan for anything else.
fn head_only(method: &str, now: SystemTime) -> Result<bool, Plan> {
    match method {
        "GET" => Ok(false),
        "HEAD" => Ok(true),
        _ => {
            let mut refused = refuse(Refusal::MethodNotAllowed, now);
            if let Plan::Refuse { headers, .. } = &mut refused {
                headers.push(("Allow", ALLOW.to_owned()));
            }
            Err(refused)
        }
    }
}

fn refuse(refusal: Refusal, now: SystemTime) -> Plan {
    Plan::Refuse {
        refusal,
        headers: vec![("Date", http_date(now))],
    }
}

/// RFC 9110 §8.8.3.2: strong comparison needs both tags strong and equal; weak comparison
/// ignores the `W/` flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Strong,
    Weak,
}

/// Whether an `If-Match` / `If-None-Match` value (`"*" / #entity-tag`) matches our `etag`.
///
/// A malformed list matches nothing: If-None-Match then serves the file (never a wrong
/// 304), If-Match then refuses (never acts on a condition it could not read).
fn list_matches(value: &[u8], etag: &str, comparison: Comparison) -> bool {
    let value = trim_ows(value);
    if value == b"*" {
        return true;
    }
    let mut rest = value;
    let mut found = false;
    loop {
        // RFC 9110 §5.6.1.2: "a recipient MUST accept empty list elements".
        rest = skip_while(rest, |b| matches!(b, b' ' | b'\t' | b','));
        if rest.is_empty() {
            return found;
        }
        let Some((tag, after)) = entity_tag(rest) else {
            return false;
        };
        found |= tag.matches(etag, comparison);
        rest = skip_while(after, |b| matches!(b, b' ' | b'\t'));
        match rest.first() {
            None | Some(b',') => {}
            Some(_) => return false,
        }
    }
}

/// One parsed entity-tag: `weak` and the opaque-tag with its quotes.
#[derive(Debug, Clone, Copy)]
struct EntityTag<'a> {
    weak: bool,
    opaque: &'a [u8],
}

impl EntityTag<'_> {
    fn matches(self, ours: &str, comparison: Comparison) -> bool {
        // Ours is always strong, so only theirs can be weak.
        (comparison == Comparison::Weak || !self.weak) && self.opaque == ours.as_bytes()
    }
}

/// RFC 9110 §8.8.3: `entity-tag = [ weak ] opaque-tag`, `weak = %s"W/"`,
/// `opaque-tag = DQUOTE *etagc DQUOTE`, `etagc = %x21 / %x23-7E / obs-text`.
/// Returns the tag and what follows it.
fn entity_tag(input: &[u8]) -> Option<(EntityTag<'_>, &[u8])> {
    let (weak, quoted) = match input.strip_prefix(b"W/") {
        Some(rest) => (true, rest),
        None => (false, input),
    };
    let body = quoted.strip_prefix(b"\"")?;
    let close = body.iter().position(|&b| b == b'"')?;
    if !body[..close]
        .iter()
        .all(|&b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80)
    {
        return None;
    }
    let (opaque, after) = quoted.split_at(close + 2);
    Some((EntityTag { weak, opaque }, after))
}

/// RFC 9110 §13.1.5 If-Range; `true` when there is none (the Range stands alone).
///
/// "If the field value is an entity-tag, the condition is true if it is a strong match";
/// "if the field value is an HTTP-date, the condition is true if the HTTP-date validator
/// provided exactly matches the Last-Modified field value"; otherwise false, and "If the
/// validator does not match, the server MUST ignore the Range header field".
fn if_range_holds(if_range: Option<&[u8]>, etag: &str, last_modified: Option<u64>) -> bool {
    let Some(value) = if_range else {
        return true;
    };
    let value = trim_ows(value);
    if value.starts_with(b"\"") || value.starts_with(b"W/") {
        return match entity_tag(value) {
            Some((tag, [])) => tag.matches(etag, Comparison::Strong),
            _ => false,
        };
    }
    matches!((parse_date(value), last_modified), (Some(d), Some(m)) if d == m)
}

/// What a `Range` field asks of a file of `len` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RangeAnswer {
    /// Ignore the field and send everything.
    Whole,
    /// One satisfiable range, non-empty, inside the file.
    Part(Range<u64>),
    /// One valid range that misses the file.
    Unsatisfiable,
}

/// RFC 9110 §14.1.2 `ranges-specifier = range-unit "=" range-set`, narrowed to one range.
///
/// Ignored (whole file): a unit other than `bytes` ("An origin server MUST ignore a Range
/// header field that contains a range unit it does not understand", §14.2), anything
/// malformed, an int-range whose last-pos is below its first-pos, several ranges (this
/// server sends no multipart/byteranges; §14.2 lets it ignore Range), and any range on an
/// empty file (a suffix range is "satisfiable" there by §14.1.1 but `Content-Range` has
/// no way to write an empty range).
fn parse_range(value: &[u8], len: u64) -> RangeAnswer {
    let value = trim_ows(value);
    let Some(eq) = value.iter().position(|&b| b == b'=') else {
        return RangeAnswer::Whole;
    };
    let (unit, set) = (&value[..eq], &value[eq + 1..]);
    // §14.1: "Range units are compared case-insensitively" (and "bytes" is the only one).
    if !unit.eq_ignore_ascii_case(b"bytes") {
        return RangeAnswer::Whole;
    }
    let mut specs = set
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|s| !s.is_empty());
    let (Some(spec), None) = (specs.next(), specs.next()) else {
        return RangeAnswer::Whole;
    };
    if len == 0 {
        return RangeAnswer::Whole;
    }
    let Some(dash) = spec.iter().position(|&b| b == b'-') else {
        return RangeAnswer::Whole;
    };
    let (first, last) = (&spec[..dash], &spec[dash + 1..]);
    if first.is_empty() {
        // suffix-range = "-" suffix-length: the last n bytes, or all of a shorter file.
        return match digits(last) {
            None => RangeAnswer::Whole,
            Some(0) => RangeAnswer::Unsatisfiable,
            Some(n) => RangeAnswer::Part(len.saturating_sub(n)..len),
        };
    }
    let Some(first) = digits(first) else {
        return RangeAnswer::Whole;
    };
    let last = if last.is_empty() {
        None
    } else {
        match digits(last) {
            Some(last) if last >= first => Some(last),
            _ => return RangeAnswer::Whole,
        }
    };
    // §14.1.1: satisfiable when first-pos is less than the length; a last-pos at or past
    // the end means "the remainder of the representation".
    if first >= len {
        return RangeAnswer::Unsatisfiable;
    }
    let end = last.map_or(len, |last| last.saturating_add(1).min(len));
    RangeAnswer::Part(first..end)
}

/// `1*DIGIT` as a number, saturating at `u64::MAX`: a first-pos that large is past any
/// file (416), a last-pos or suffix that large means "to the end" — the same answers the
/// exact value would give.
fn digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// RFC 9110 §5.6.3: `OWS = *( SP / HTAB )`, trimmed from both ends.
fn trim_ows(s: &[u8]) -> &[u8] {
    let s = skip_while(s, |b| matches!(b, b' ' | b'\t'));
    let end = s
        .iter()
        .rposition(|&b| !matches!(b, b' ' | b'\t'))
        .map_or(0, |i| i + 1);
    &s[..end]
}

fn skip_while(s: &[u8], skip: impl Fn(u8) -> bool) -> &[u8] {
    let start = s.iter().position(|&b| !skip(b)).unwrap_or(s.len());
    &s[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A throwaway tree in the system temp dir, removed on drop:
    ///
    /// ```text
    /// <top>/canary.txt            outside the root: must never be served
    /// <top>/www/index.html
    /// <top>/www/a.css
    /// <top>/www/.secret
    /// <top>/www/%41.txt           a literal `%` in a name
    /// <top>/www/sub/index.html
    /// <top>/www/empty/            a directory without index.html
    /// <top>/www/escape     -> ../canary.txt   (unix)
    /// <top>/www/linkdir    -> ..              (unix)
    /// <top>/www/public.txt -> .secret         (unix)
    /// <top>/www/alias.css  -> a.css           (unix)
    /// <top>/www/sock                          a Unix socket (unix)
    /// ```
    struct Fixture {
        top: PathBuf,
        root: Root,
        canary: PathBuf,
    }

    impl Fixture {
        fn new(name: &str) -> Self {
            let top =
                std::env::temp_dir().join(format!("wiretap-files-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&top);
            let www = top.join("www");
            fs::create_dir_all(www.join("sub")).unwrap();
            fs::create_dir_all(www.join("empty")).unwrap();
            fs::write(top.join("canary.txt"), "CANARY").unwrap();
            fs::write(www.join("index.html"), "<h1>root</h1>").unwrap();
            fs::write(www.join("sub/index.html"), "<h1>sub</h1>").unwrap();
            fs::write(www.join("a.css"), "body{}").unwrap();
            fs::write(www.join(".secret"), "secret").unwrap();
            fs::write(www.join("%41.txt"), "literal").unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::symlink;
                symlink("../canary.txt", www.join("escape")).unwrap();
                symlink("..", www.join("linkdir")).unwrap();
                symlink(".secret", www.join("public.txt")).unwrap();
                symlink("a.css", www.join("alias.css")).unwrap();
                std::os::unix::net::UnixListener::bind(www.join("sock")).unwrap();
            }
            let root = Root::new(&www).unwrap();
            let canary = fs::canonicalize(top.join("canary.txt")).unwrap();
            Self { top, root, canary }
        }

        fn www(&self, rel: &str) -> PathBuf {
            self.root.path().join(rel)
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.top);
        }
    }

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(MTIME_SECS + 3600)
    }

    fn served_path(plan: &Plan) -> Option<&Path> {
        match plan {
            Plan::Serve { path, .. } => Some(path),
            _ => None,
        }
    }

    #[test]
    fn refusal_is_one_byte() {
        assert_eq!(std::mem::size_of::<Refusal>(), 1);
    }

    #[test]
    fn root_must_be_an_existing_directory() {
        let fx = Fixture::new("root");
        assert!(Root::new(fx.www("a.css")).is_err());
        assert!(Root::new(fx.www("missing")).is_err());
        assert_eq!(Root::new(fx.www("sub/..")).unwrap(), fx.root);
    }

    #[cfg(unix)]
    #[test]
    fn traversal_attempts_never_reach_the_canary() {
        let fx = Fixture::new("traversal");
        use Refusal::*;
        let table: &[(&[u8], Refusal)] = &[
            (b"/../canary.txt", DotSegment),
            (b"/..", DotSegment),
            (b"/sub/..", DotSegment),
            (b"/./index.html", DotSegment),
            (b"/%2e/index.html", DotSegment),
            (b"/%2e%2e/canary.txt", DotSegment),
            (b"/%2E%2E%2Fcanary.txt", DotSegment),
            (b"/..%2fcanary.txt", DotSegment),
            (b"/sub%2f..%2f..%2fcanary.txt", DotSegment),
            (b"/sub/../../canary.txt", DotSegment),
            (b"/sub/%2e%2e/%2e%2e/canary.txt", DotSegment),
            (b"/%2e%2e%2f%2e%2e%2fetc%2fpasswd", DotSegment),
            (b"/escape", OutsideRoot),
            (b"/escape/", OutsideRoot),
            (b"/linkdir/canary.txt", OutsideRoot),
            (b"/linkdir", OutsideRoot),
            (b"/linkdir/", OutsideRoot),
            (b"/..\\canary.txt", Backslash),
            (b"/%5c..%5ccanary.txt", Backslash),
            (b"/%5C..%5Ccanary.txt", Backslash),
            (b"/%00", ControlByte),
            (b"/a.css%00.html", ControlByte),
            (b"/%0d%0aSet-Cookie:%20x=1", ControlByte),
            (b"/%7f", ControlByte),
            (b"/%252e%252e/canary.txt", NotFound),
            (b"/%252e%252e%252fcanary.txt", NotFound),
            (b"/.secret", HiddenName),
            (b"/%2esecret", HiddenName),
            (b"/..;/canary.txt", HiddenName),
            (b"/public.txt", HiddenName),
            (b"/.git/config", HiddenName),
            (b"//etc/passwd", NotFound),
            (b"///canary.txt", NotFound),
            (b"/canary.txt", NotFound),
            (b"http://localhost/../canary.txt", NotOriginForm),
            (b"http://localhost/canary.txt", NotOriginForm),
            (b"file:///etc/passwd", NotOriginForm),
            (b"localhost:80", NotOriginForm),
            (b"*", NotOriginForm),
            (b"", NotOriginForm),
            (b"canary.txt", NotOriginForm),
            (b"\\..\\canary.txt", NotOriginForm),
            (b"/%c0%ae%c0%ae/canary.txt", NotUtf8),
            (b"/%c0%af", NotUtf8),
            (b"/%e0%80%ae%e0%80%ae/canary.txt", NotUtf8),
            (b"/%ff", NotUtf8),
            (b"/\xc0\xae\xc0\xae/canary.txt", NotUtf8),
            (b"/%", BadPercentEncoding),
            (b"/%2", BadPercentEncoding),
            (b"/%zz", BadPercentEncoding),
            (b"/%%32%65", BadPercentEncoding),
            (b"/sock", NotRegularFile),
            (b"/empty/", NotFound),
            (b"/a.css/", NotFound),
        ];
        for &(target, expected) in table {
            let shown = String::from_utf8_lossy(target);
            assert_eq!(resolve(&fx.root, target), Err(expected), "{shown}");
            let plan = plan(&fx.root, &Request::new("GET", target), now());
            assert_eq!(plan.status(), expected.status(), "{shown}");
            assert_eq!(served_path(&plan), None, "{shown}");
        }
    }

    #[test]
    fn refusals_of_names_answer_404_and_malformed_targets_400() {
        use Refusal::*;
        for r in [
            Backslash,
            NotUtf8,
            DotSegment,
            HiddenName,
            NotFound,
            OutsideRoot,
            NotRegularFile,
        ] {
            assert_eq!(r.status(), 404, "{r}");
        }
        for r in [NotOriginForm, BadPercentEncoding, ControlByte] {
            assert_eq!(r.status(), 400, "{r}");
        }
        assert_eq!(MethodNotAllowed.status(), 405);
        assert_eq!(PreconditionFailed.status(), 412);
        assert_eq!(RangeNotSatisfiable.status(), 416);
        assert!(PreconditionFailed.rule().starts_with("RFC 9110"));
    }

    #[cfg(unix)]
    #[test]
    fn random_targets_never_serve_outside_the_root() {
        let fx = Fixture::new("random");
        let pieces: &[&[u8]] = &[
            b"/",
            b"/",
            b".",
            b"..",
            b"%2e",
            b"%2E",
            b"%2f",
            b"%5c",
            b"%25",
            b"%00",
            b"%c0%ae",
            b"\\",
            b"?",
            b"#",
            b"canary.txt",
            b"escape",
            b"linkdir",
            b"sub",
            b"a.css",
            b"index.html",
            b".secret",
            b"%",
            b"2",
            b"e",
        ];
        let mut rng = crate::fuzzing::XorShift::new(9110);
        let mut target = Vec::new();
        let mut served = 0;
        for _ in 0..3000 {
            target.clear();
            for _ in 0..1 + rng.below(8) {
                target.extend_from_slice(pieces[rng.below(pieces.len())]);
            }
            let plan = plan(&fx.root, &Request::new("GET", &target), now());
            if let Some(path) = served_path(&plan) {
                served += 1;
                let shown = String::from_utf8_lossy(&target);
                assert!(path.starts_with(fx.root.path()), "{shown} -> {path:?}");
                assert_ne!(path, fx.canary, "{shown}");
                assert_ne!(path, fx.www(".secret"), "{shown}");
            }
        }
        // The alphabet must reach real files too, or the test proves nothing.
        assert!(served > 0);
    }

    #[test]
    fn root_and_directories_serve_their_index() {
        let fx = Fixture::new("index");
        for (target, file) in [
            (&b"/"[..], "index.html"),
            (b"/?x=1", "index.html"),
            (b"/#frag", "index.html"),
            (b"/index.html", "index.html"),
            (b"/sub/", "sub/index.html"),
            (b"/sub/index.html", "sub/index.html"),
            (b"//sub//index.html", "sub/index.html"),
            (b"/sub%2findex.html", "sub/index.html"),
            (b"/%73ub/", "sub/index.html"),
            (b"/a.css", "a.css"),
            (b"/a.css?v=2", "a.css"),
        ] {
            let shown = String::from_utf8_lossy(target);
            let Ok(Resolved::File(found)) = resolve(&fx.root, target) else {
                panic!("{shown} did not resolve to a file");
            };
            assert_eq!(found.path, fx.www(file), "{shown}");
        }
    }

    #[test]
    fn percent_is_decoded_exactly_once() {
        let fx = Fixture::new("once");
        // `%2541` decodes to the literal name `%41.txt`, not to `A.txt`.
        let Ok(Resolved::File(found)) = resolve(&fx.root, b"/%2541.txt") else {
            panic!("%2541.txt did not resolve");
        };
        assert_eq!(found.path, fx.www("%41.txt"));
        assert_eq!(resolve(&fx.root, b"/A.txt"), Err(Refusal::NotFound));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_inside_the_root_are_followed() {
        let fx = Fixture::new("inside");
        for target in [&b"/alias.css"[..], b"/linkdir/www/a.css"] {
            let Ok(Resolved::File(found)) = resolve(&fx.root, target) else {
                panic!("{} did not resolve", String::from_utf8_lossy(target));
            };
            assert_eq!(found.path, fx.www("a.css"));
            assert_eq!(found.content_type, "text/css; charset=utf-8");
        }
    }

    #[test]
    fn directory_without_slash_redirects_to_the_slash_form() {
        let fx = Fixture::new("redirect");
        for (target, location) in [
            (&b"/sub"[..], "/sub/"),
            (b"/sub?a=1&b=2", "/sub/?a=1&b=2"),
            (b"//sub", "/sub/"),
            (b"/%73ub#top", "/sub/"),
            (b"/empty", "/empty/"),
        ] {
            let shown = String::from_utf8_lossy(target);
            assert_eq!(
                resolve(&fx.root, target),
                Ok(Resolved::Redirect(location.to_owned())),
                "{shown}"
            );
            let plan = plan(&fx.root, &Request::new("GET", target), now());
            assert_eq!(plan.status(), 301, "{shown}");
            assert_eq!(plan.header("Location"), Some(location), "{shown}");
            assert!(plan.header("Date").is_some());
        }
    }

    #[test]
    fn redirect_location_escapes_what_is_not_a_pchar() {
        assert_eq!(
            slash_location(&["a b", "ü", "x?y#z%"], Some(b"q=\x01 1")),
            "/a%20b/%C3%BC/x%3Fy%23z%25/?q=%01%201"
        );
    }

    #[test]
    fn methods_other_than_get_and_head_get_405_with_allow() {
        let fx = Fixture::new("methods");
        for method in [
            "POST", "PUT", "DELETE", "OPTIONS", "get", "Head", "", "CONNECT",
        ] {
            let plan = plan(&fx.root, &Request::new(method, b"/a.css"), now());
            assert_eq!(plan.status(), 405, "{method}");
            assert_eq!(plan.header("Allow"), Some("GET, HEAD"), "{method}");
        }
        // The method is judged before the path: no file system answer leaks.
        let plan = plan(&fx.root, &Request::new("POST", b"/../canary.txt"), now());
        assert_eq!(plan.status(), 405);
    }

    #[test]
    fn get_serves_the_whole_file_and_head_the_same_head_without_body() {
        let fx = Fixture::new("serve");
        let get = plan(&fx.root, &Request::new("GET", b"/a.css"), now());
        let head = plan(&fx.root, &Request::new("HEAD", b"/a.css"), now());
        let Plan::Serve {
            status,
            path,
            file,
            range,
            body,
            headers,
        } = &get
        else {
            panic!("GET /a.css: {get:?}");
        };
        assert_eq!((*status, range.clone(), *body), (200, 0..6, true));
        assert_eq!(path, &fx.www("a.css"));
        // The plan holds the very file it checked, open and readable.
        let mut opened = Vec::new();
        let mut reader = file.as_ref().expect("resolve keeps the file open").file();
        std::io::Read::read_to_end(&mut reader, &mut opened).unwrap();
        assert_eq!(opened, fs::read(fx.www("a.css")).unwrap());
        let names: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "Date",
                "Last-Modified",
                "ETag",
                "Accept-Ranges",
                "Content-Type",
                "Content-Length"
            ]
        );
        assert_eq!(get.header("Content-Length"), Some("6"));
        assert_eq!(get.header("Content-Type"), Some("text/css; charset=utf-8"));
        let Plan::Serve {
            body: false,
            headers: head_headers,
            ..
        } = &head
        else {
            panic!("HEAD /a.css: {head:?}");
        };
        assert_eq!(head_headers, headers);
    }

    #[test]
    fn content_types_follow_the_extension() {
        for (name, expected) in [
            ("index.html", "text/html; charset=utf-8"),
            ("INDEX.HTM", "text/html; charset=utf-8"),
            ("a.css", "text/css; charset=utf-8"),
            ("app.js", "text/javascript; charset=utf-8"),
            ("app.mjs", "text/javascript; charset=utf-8"),
            ("data.json", "application/json; charset=utf-8"),
            ("mod.wasm", "application/wasm"),
            ("logo.svg", "image/svg+xml; charset=utf-8"),
            ("logo.png", "image/png"),
            ("photo.jpg", "image/jpeg"),
            ("photo.jpeg", "image/jpeg"),
            ("favicon.ico", "image/x-icon"),
            ("notes.txt", "text/plain; charset=utf-8"),
            ("archive.unknownext", "application/octet-stream"),
            ("Makefile", "application/octet-stream"),
        ] {
            assert_eq!(content_type(Path::new(name)), expected, "{name}");
        }
    }

    #[test]
    fn etag_changes_when_the_file_changes() {
        let fx = Fixture::new("etag");
        let path = fx.www("a.css");
        let resolved = || match resolve(&fx.root, b"/a.css") {
            Ok(Resolved::File(f)) => f,
            other => panic!("{other:?}"),
        };
        let set_mtime = |secs: u64| {
            let file = fs::File::options().write(true).open(&path).unwrap();
            file.set_modified(UNIX_EPOCH + Duration::new(secs, 5))
                .unwrap();
        };
        set_mtime(MTIME_SECS);
        let first = resolved();
        assert_eq!(first.etag(), resolved().etag(), "stable while unchanged");

        // Same length, later mtime.
        fs::write(&path, "body{ }").unwrap();
        fs::write(&path, "body{}").unwrap();
        set_mtime(MTIME_SECS + 1);
        let touched = resolved();
        assert_eq!(touched.len, first.len);
        assert_ne!(touched.etag(), first.etag());

        // Different length, same mtime as before.
        fs::write(&path, "body{color:red}").unwrap();
        set_mtime(MTIME_SECS);
        let grown = resolved();
        assert_eq!(grown.modified, first.modified);
        assert_ne!(grown.etag(), first.etag());

        // And a client holding the old tag gets the new file, not a 304.
        let old = first.etag();
        let req = Request {
            if_none_match: Some(old.as_bytes()),
            ..Request::new("GET", b"/a.css")
        };
        assert_eq!(plan(&fx.root, &req, now()).status(), 200);
        let new = grown.etag();
        let req = Request {
            if_none_match: Some(new.as_bytes()),
            ..req
        };
        assert_eq!(plan(&fx.root, &req, now()).status(), 304);
    }

    const MTIME_SECS: u64 = 1_700_000_000;
    /// `"<100 in hex>-<1_700_000_000_123_456_789 in hex>"`.
    const ETAG: &str = "\"64-17979cfe3d85cd15\"";
    const LAST_MODIFIED: &str = "Tue, 14 Nov 2023 22:13:20 GMT";
    const DATE: &str = "Tue, 14 Nov 2023 23:13:20 GMT";

    /// A 100-byte file modified at 2023-11-14T22:13:20.123456789Z; `now` is an hour later.
    fn synthetic(len: u64) -> StaticFile {
        StaticFile {
            path: PathBuf::from("/srv/www/f.txt"),
            len,
            modified: Some(UNIX_EPOCH + Duration::new(MTIME_SECS, 123_456_789)),
            content_type: "text/plain; charset=utf-8".to_owned(),
            opened: None,
        }
    }

    const GET: Request<'static> = Request {
        method: "GET",
        target: b"/f.txt",
        if_match: None,
        if_none_match: None,
        if_modified_since: None,
        if_unmodified_since: None,
        range: None,
        if_range: None,
    };
    const HEAD: Request<'static> = Request {
        method: "HEAD",
        ..GET
    };

    /// One row of a decision table: a request against [`synthetic`]`(100)` and what must
    /// come back.
    struct Case {
        name: &'static str,
        req: Request<'static>,
        status: u16,
        /// For 200/206: the bytes to stream.
        range: Option<Range<u64>>,
        present: &'static [(&'static str, &'static str)],
        absent: &'static [&'static str],
    }

    fn check(cases: &[Case], len: u64) {
        let file = synthetic(len);
        for case in cases {
            let plan = decide(&file, &case.req, now());
            let name = case.name;
            assert_eq!(plan.status(), case.status, "{name}: {plan:?}");
            assert_eq!(
                plan.headers().first(),
                Some(&("Date", DATE.to_owned())),
                "{name}"
            );
            for &(field, value) in case.present {
                assert_eq!(plan.header(field), Some(value), "{name}: {field}");
            }
            for &field in case.absent {
                assert_eq!(plan.header(field), None, "{name}: {field}");
            }
            match (&plan, &case.range) {
                (Plan::Serve { range, .. }, Some(expected)) => {
                    assert_eq!(range, expected, "{name}");
                    let n = (range.end - range.start).to_string();
                    assert_eq!(plan.header("Content-Length"), Some(&*n), "{name}");
                }
                (Plan::Serve { .. }, None) => panic!("{name}: served without an expected range"),
                (_, Some(_)) => panic!("{name}: expected to serve, got {plan:?}"),
                (_, None) => {}
            }
        }
    }

    const NOT_MODIFIED_FIELDS: &[(&str, &str)] =
        &[("ETag", ETAG), ("Last-Modified", LAST_MODIFIED)];
    const NO_CONTENT_FIELDS: &[&str] = &["Content-Length", "Content-Type", "Content-Range"];
    const FULL: Option<Range<u64>> = Some(0..100);

    #[test]
    fn conditional_requests_follow_rfc_9110_section_13() {
        let cases = [
            Case {
                name: "no conditions: 200 with validators",
                req: GET,
                status: 200,
                range: FULL,
                present: &[
                    ("ETag", ETAG),
                    ("Last-Modified", LAST_MODIFIED),
                    ("Accept-Ranges", "bytes"),
                ],
                absent: &["Content-Range"],
            },
            Case {
                name: "If-None-Match with our tag: 304",
                req: Request {
                    if_none_match: Some(ETAG.as_bytes()),
                    ..GET
                },
                status: 304,
                range: None,
                present: NOT_MODIFIED_FIELDS,
                absent: NO_CONTENT_FIELDS,
            },
            Case {
                name: "If-None-Match on HEAD: 304",
                req: Request {
                    if_none_match: Some(ETAG.as_bytes()),
                    ..HEAD
                },
                status: 304,
                range: None,
                present: NOT_MODIFIED_FIELDS,
                absent: NO_CONTENT_FIELDS,
            },
            Case {
                name: "If-None-Match compares weakly: W/ tag still 304",
                req: Request {
                    if_none_match: Some(b"W/\"64-17979cfe3d85cd15\""),
                    ..GET
                },
                status: 304,
                range: None,
                present: NOT_MODIFIED_FIELDS,
                absent: NO_CONTENT_FIELDS,
            },
            Case {
                name: "If-None-Match list containing our tag: 304",
                req: Request {
                    if_none_match: Some(b"\"x\" ,, W/\"y,z\",\t\"64-17979cfe3d85cd15\" ,"),
                    ..GET
                },
                status: 304,
                range: None,
                present: NOT_MODIFIED_FIELDS,
                absent: NO_CONTENT_FIELDS,
            },
            Case {
                name: "If-None-Match star: 304 for an existing file",
                req: Request {
                    if_none_match: Some(b" * "),
                    ..GET
                },
                status: 304,
                range: None,
                present: NOT_MODIFIED_FIELDS,
                absent: NO_CONTENT_FIELDS,
            },
            Case {
                name: "If-None-Match with other tags: 200",
                req: Request {
                    if_none_match: Some(b"\"64-0\", \"65-17979cfe3d85cd15\""),
                    ..GET
                },
                status: 200,
                range: FULL,
                present: &[("ETag", ETAG)],
                absent: &[],
            },
            Case {
                name: "If-None-Match unquoted (malformed) matches nothing: 200",
                req: Request {
                    if_none_match: Some(b"64-17979cfe3d85cd15"),
                    ..GET
                },
                status: 200,
                range: FULL,
                present: &[],
                absent: &[],
            },
            Case {
                name: "If-None-Match with junk after a matching tag: 200",
                req: Request {
                    if_none_match: Some(b"\"64-17979cfe3d85cd15\" junk"),
                    ..GET
                },
                status: 200,
                range: FULL,
                present: &[],
                absent: &[],
            },
            Case {
                name: "If-None-Match present disables If-Modified-Since",
                req: Request {
                    if_none_match: Some(b"\"other\""),
                    if_modified_since: Some(LAST_MODIFIED.as_bytes()),
                    ..GET
                },
                status: 200,
                range: FULL,
                present: &[],
                absent: &[],
            },
            Case {
                name: "If-Modified-Since equal to Last-Modified: 304",
                req: Request {
                    if_modified_since: Some(LAST_MODIFIED.as_bytes()),
                    ..GET
                },
                status: 304,
                range: None,
                present: NOT_MODIFIED_FIELDS,
                absent: NO_CONTENT_FIELDS,
            },
            Case {
                name: "If-Modified-Since later: 304",
                req: Request {
                    if_modified_since: Some(b"Tue, 14 Nov 2023 22:13:21 GMT"),
                    ..GET
                },
                status: 304,
                range: None,
                present: NOT_MODIFIED_FIELDS,
                absent: NO_CONTENT_FIELDS,
            },
            Case {
                name: "If-Modified-Since one second earlier: 200",
                req: Request {
                    if_modified_since: Some(b"Tue, 14 Nov 2023 22:13:19 GMT"),
                    ..GET
                },
                status: 200,
                range: FULL,
                present: &[],
                absent: &[],
            },
            Case {
                name: "If-Modified-Since in RFC 850 form: 304",
                req: Request {
                    if_modified_since: Some(b"Tuesday, 14-Nov-23 22:13:20 GMT"),
                    ..GET
                },
                status: 304,
                range: None,
                present: NOT_MODIFIED_FIELDS,
                absent: NO_CONTENT_FIELDS,
            },
            Case {
                name: "If-Modified-Since in asctime form: 304",
                req: Request {
                    if_modified_since: Some(b"Tue Nov 14 22:13:20 2023"),
                    ..GET
                },
                status: 304,
                range: None,
                present: NOT_MODIFIED_FIELDS,
                absent: NO_CONTENT_FIELDS,
            },
            Case {
                name: "If-Modified-Since invalid: ignored, 200",
                req: Request {
                    if_modified_since: Some(b"yesterday"),
                    ..GET
                },
                status: 200,
                range: FULL,
                present: &[],
                absent: &[],
            },
            Case {
                name: "If-Modified-Since with two dates: ignored, 200",
                req: Request {
                    if_modified_since: Some(
                        b"Tue, 14 Nov 2023 22:13:20 GMT, Tue, 14 Nov 2023 22:13:20 GMT",
                    ),
                    ..GET
                },
                status: 200,
                range: FULL,
                present: &[],
                absent: &[],
            },
            Case {
                name: "If-Modified-Since not UTF-8: ignored, 200",
                req: Request {
                    if_modified_since: Some(b"\xff\xfe"),
                    ..GET
                },
                status: 200,
                range: FULL,
                present: &[],
                absent: &[],
            },
            Case {
                name: "If-Match with our tag: 200",
                req: Request {
                    if_match: Some(ETAG.as_bytes()),
                    ..GET
                },
                status: 200,
                range: FULL,
                present: &[],
                absent: &[],
            },
            Case {
                name: "If-Match star: 200",
                req: Request {
                    if_match: Some(b"*"),
                    ..GET
                },
                status: 200,
                range: FULL,
                present: &[],
                absent: &[],
            },
            Case {
                name: "If-Match with another tag: 412",
                req: Request {
                    if_match: Some(b"\"nope\""),
                    ..GET
                },
                status: 412,
                range: None,
                present: &[],
                absent: NO_CONTENT_FIELDS,
            },
            Case {
                name: "If-Match compares strongly: W/ tag gets 412",
                req: Request {
                    if_match: Some(b"W/\"64-17979cfe3d85cd15\""),
                    ..GET
                },
                status: 412,
                range: None,
                present: &[],
                absent: &[],
            },
            Case {
                name: "If-Match is evaluated before If-None-Match",
                req: Request {
                    if_match: Some(b"\"nope\""),
                    if_none_match: Some(ETAG.as_bytes()),
                    ..GET
                },
                status: 412,
                range: None,
                present: &[],
                absent: &[],
            },
            Case {
                name: "If-Unmodified-Since before Last-Modified: 412",
                req: Request {
                    if_unmodified_since: Some(b"Tue, 14 Nov 2023 22:13:19 GMT"),
                    ..GET
                },
                status: 412,
                range: None,
                present: &[],
                absent: &[],
            },
            Case {
                name: "If-Unmodified-Since at Last-Modified: 200",
                req: Request {
                    if_unmodified_since: Some(LAST_MODIFIED.as_bytes()),
                    ..GET
                },
                status: 200,
                range: FULL,
                present: &[],
                absent: &[],
            },
            Case {
                name: "If-Unmodified-Since invalid: ignored, 200",
                req: Request {
                    if_unmodified_since: Some(b"not a date"),
                    ..GET
                },
                status: 200,
                range: FULL,
                present: &[],
                absent: &[],
            },
            Case {
                name: "If-Match present disables If-Unmodified-Since",
                req: Request {
                    if_match: Some(ETAG.as_bytes()),
                    if_unmodified_since: Some(b"Tue, 14 Nov 2023 22:13:19 GMT"),
                    ..GET
                },
                status: 200,
                range: FULL,
                present: &[],
                absent: &[],
            },
            Case {
                name: "304 wins over Range",
                req: Request {
                    if_none_match: Some(ETAG.as_bytes()),
                    range: Some(b"bytes=0-9"),
                    ..GET
                },
                status: 304,
                range: None,
                present: NOT_MODIFIED_FIELDS,
                absent: NO_CONTENT_FIELDS,
            },
        ];
        check(&cases, 100);
    }

    #[test]
    fn range_requests_follow_rfc_9110_section_14() {
        let cases = [
            Case {
                name: "first bytes",
                req: Request {
                    range: Some(b"bytes=0-9"),
                    ..GET
                },
                status: 206,
                range: Some(0..10),
                present: &[
                    ("Content-Range", "bytes 0-9/100"),
                    ("ETag", ETAG),
                    ("Content-Type", "text/plain; charset=utf-8"),
                ],
                absent: &[],
            },
            Case {
                name: "one byte",
                req: Request {
                    range: Some(b"bytes=99-99"),
                    ..GET
                },
                status: 206,
                range: Some(99..100),
                present: &[("Content-Range", "bytes 99-99/100")],
                absent: &[],
            },
            Case {
                name: "open-ended",
                req: Request {
                    range: Some(b"bytes=90-"),
                    ..GET
                },
                status: 206,
                range: Some(90..100),
                present: &[("Content-Range", "bytes 90-99/100")],
                absent: &[],
            },
            Case {
                name: "last-pos past the end is clamped",
                req: Request {
                    range: Some(b"bytes=50-5000"),
                    ..GET
                },
                status: 206,
                range: Some(50..100),
                present: &[("Content-Range", "bytes 50-99/100")],
                absent: &[],
            },
            Case {
                name: "suffix",
                req: Request {
                    range: Some(b"bytes=-10"),
                    ..GET
                },
                status: 206,
                range: Some(90..100),
                present: &[("Content-Range", "bytes 90-99/100")],
                absent: &[],
            },
            Case {
                name: "suffix longer than the file is the whole file",
                req: Request {
                    range: Some(b"bytes=-1000"),
                    ..GET
                },
                status: 206,
                range: Some(0..100),
                present: &[("Content-Range", "bytes 0-99/100")],
                absent: &[],
            },
            Case {
                name: "unit is case-insensitive, OWS and empty elements allowed",
                req: Request {
                    range: Some(b" BYTES= 0-1 , "),
                    ..GET
                },
                status: 206,
                range: Some(0..2),
                present: &[("Content-Range", "bytes 0-1/100")],
                absent: &[],
            },
            Case {
                name: "huge last-pos saturates to the end",
                req: Request {
                    range: Some(b"bytes=1-99999999999999999999999999"),
                    ..GET
                },
                status: 206,
                range: Some(1..100),
                present: &[("Content-Range", "bytes 1-99/100")],
                absent: &[],
            },
            Case {
                name: "huge suffix is the whole file",
                req: Request {
                    range: Some(b"bytes=-99999999999999999999999999"),
                    ..GET
                },
                status: 206,
                range: Some(0..100),
                present: &[("Content-Range", "bytes 0-99/100")],
                absent: &[],
            },
            Case {
                name: "start at the length: 416",
                req: Request {
                    range: Some(b"bytes=100-"),
                    ..GET
                },
                status: 416,
                range: None,
                present: &[("Content-Range", "bytes */100")],
                absent: &["Content-Length", "ETag"],
            },
            Case {
                name: "start past the length: 416",
                req: Request {
                    range: Some(b"bytes=100-200"),
                    ..GET
                },
                status: 416,
                range: None,
                present: &[("Content-Range", "bytes */100")],
                absent: &[],
            },
            Case {
                name: "huge start: 416",
                req: Request {
                    range: Some(b"bytes=18446744073709551616-"),
                    ..GET
                },
                status: 416,
                range: None,
                present: &[("Content-Range", "bytes */100")],
                absent: &[],
            },
            Case {
                name: "zero suffix: 416",
                req: Request {
                    range: Some(b"bytes=-0"),
                    ..GET
                },
                status: 416,
                range: None,
                present: &[("Content-Range", "bytes */100")],
                absent: &[],
            },
            Case {
                name: "several ranges: whole file",
                req: Request {
                    range: Some(b"bytes=0-1,5-6"),
                    ..GET
                },
                status: 200,
                range: FULL,
                present: &[("Accept-Ranges", "bytes")],
                absent: &["Content-Range"],
            },
            Case {
                name: "several ranges, one unsatisfiable: whole file",
                req: Request {
                    range: Some(b"bytes=0-1, 500-"),
                    ..GET
                },
                status: 200,
                range: FULL,
                present: &[],
                absent: &["Content-Range"],
            },
        ];
        check(&cases, 100);

        let ignored: &[&[u8]] = &[
            b"bytes=5-2",
            b"bytes=",
            b"bytes",
            b"bytes=abc",
            b"bytes=1",
            b"bytes=--1",
            b"bytes=+1-2",
            b"bytes=1-+2",
            b"bytes=0x1-2",
            b"bytes=1 -2",
            b"bytes=,",
            b"items=0-1",
            b"=0-1",
            b"\xff=0-1",
            b"",
        ];
        let file = synthetic(100);
        for &range in ignored {
            let req = Request {
                range: Some(range),
                ..GET
            };
            let plan = decide(&file, &req, now());
            let shown = String::from_utf8_lossy(range);
            assert_eq!(plan.status(), 200, "{shown}");
            assert_eq!(plan.header("Content-Range"), None, "{shown}");
            assert_eq!(plan.header("Content-Length"), Some("100"), "{shown}");
        }
    }

    #[test]
    fn range_is_only_for_get() {
        check(
            &[Case {
                name: "HEAD ignores Range",
                req: Request {
                    range: Some(b"bytes=0-9"),
                    ..HEAD
                },
                status: 200,
                range: FULL,
                present: &[("Content-Length", "100")],
                absent: &["Content-Range"],
            }],
            100,
        );
    }

    #[test]
    fn if_range_gates_the_range() {
        check(
            &[
                Case {
                    name: "If-Range with our tag: 206",
                    req: Request {
                        range: Some(b"bytes=0-9"),
                        if_range: Some(ETAG.as_bytes()),
                        ..GET
                    },
                    status: 206,
                    range: Some(0..10),
                    present: &[("Content-Range", "bytes 0-9/100")],
                    absent: &[],
                },
                Case {
                    name: "If-Range with another tag: 200",
                    req: Request {
                        range: Some(b"bytes=0-9"),
                        if_range: Some(b"\"old\""),
                        ..GET
                    },
                    status: 200,
                    range: FULL,
                    present: &[],
                    absent: &["Content-Range"],
                },
                Case {
                    name: "If-Range weak tag never matches: 200",
                    req: Request {
                        range: Some(b"bytes=0-9"),
                        if_range: Some(b"W/\"64-17979cfe3d85cd15\""),
                        ..GET
                    },
                    status: 200,
                    range: FULL,
                    present: &[],
                    absent: &["Content-Range"],
                },
                Case {
                    name: "If-Range with a list of tags is not a validator: 200",
                    req: Request {
                        range: Some(b"bytes=0-9"),
                        if_range: Some(b"\"64-17979cfe3d85cd15\", \"x\""),
                        ..GET
                    },
                    status: 200,
                    range: FULL,
                    present: &[],
                    absent: &["Content-Range"],
                },
                Case {
                    name: "If-Range with the exact Last-Modified: 206",
                    req: Request {
                        range: Some(b"bytes=-10"),
                        if_range: Some(LAST_MODIFIED.as_bytes()),
                        ..GET
                    },
                    status: 206,
                    range: Some(90..100),
                    present: &[("Content-Range", "bytes 90-99/100")],
                    absent: &[],
                },
                Case {
                    name: "If-Range with a later date is not an exact match: 200",
                    req: Request {
                        range: Some(b"bytes=-10"),
                        if_range: Some(b"Tue, 14 Nov 2023 22:13:21 GMT"),
                        ..GET
                    },
                    status: 200,
                    range: FULL,
                    present: &[],
                    absent: &["Content-Range"],
                },
                Case {
                    name: "If-Range garbage: 200",
                    req: Request {
                        range: Some(b"bytes=0-9"),
                        if_range: Some(b"garbage"),
                        ..GET
                    },
                    status: 200,
                    range: FULL,
                    present: &[],
                    absent: &["Content-Range"],
                },
                Case {
                    name: "If-Range mismatch turns a 416 into a 200",
                    req: Request {
                        range: Some(b"bytes=500-"),
                        if_range: Some(b"\"old\""),
                        ..GET
                    },
                    status: 200,
                    range: FULL,
                    present: &[],
                    absent: &["Content-Range"],
                },
                Case {
                    name: "If-Range without Range is ignored",
                    req: Request {
                        if_range: Some(b"\"old\""),
                        ..GET
                    },
                    status: 200,
                    range: FULL,
                    present: &[],
                    absent: &["Content-Range"],
                },
            ],
            100,
        );
    }

    #[test]
    fn empty_file_ignores_every_range() {
        check(
            &[
                Case {
                    name: "suffix on an empty file: 200, nothing to send",
                    req: Request {
                        range: Some(b"bytes=-5"),
                        ..GET
                    },
                    status: 200,
                    range: Some(0..0),
                    present: &[("Content-Length", "0")],
                    absent: &["Content-Range"],
                },
                Case {
                    name: "int-range on an empty file: 200 (empty files ignore Range)",
                    req: Request {
                        range: Some(b"bytes=0-"),
                        ..GET
                    },
                    status: 200,
                    range: Some(0..0),
                    present: &[("Content-Length", "0")],
                    absent: &["Content-Range"],
                },
            ],
            0,
        );
    }

    #[test]
    fn last_modified_is_never_later_than_date() {
        let mut file = synthetic(100);
        file.modified = Some(now() + Duration::from_secs(86_400));
        let plan = decide(&file, &GET, now());
        assert_eq!(plan.header("Last-Modified"), Some(DATE));
        assert_eq!(plan.header("Date"), Some(DATE));
    }

    #[test]
    fn odd_clocks_never_panic() {
        let before_1970 = UNIX_EPOCH - Duration::from_secs(10);
        let year_10000 = UNIX_EPOCH + Duration::from_secs(MAX_HTTP_DATE_SECS + 10);
        assert_eq!(http_date(before_1970), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(year_10000), "Fri, 31 Dec 9999 23:59:59 GMT");
        let mut file = synthetic(100);
        for modified in [None, Some(before_1970), Some(year_10000)] {
            file.modified = modified;
            for now in [before_1970, now(), year_10000] {
                let plan = decide(&file, &GET, now);
                assert_eq!(plan.status(), 200);
            }
        }
        file.modified = Some(before_1970);
        assert_eq!(file.etag(), "\"64-fffffffffffffffffffffffdabf41c00\"");
        assert_eq!(file.last_modified(now()), None);
        file.modified = None;
        assert_eq!(file.etag(), "\"64-0\"");
        // Without a date, If-Modified-Since and If-Unmodified-Since are ignored.
        let req = Request {
            if_modified_since: Some(LAST_MODIFIED.as_bytes()),
            if_unmodified_since: Some(b"Thu, 01 Jan 1970 00:00:00 GMT"),
            ..GET
        };
        assert_eq!(decide(&file, &req, now()).status(), 200);
    }

    #[test]
    fn decide_checks_the_method_too() {
        let plan = decide(
            &synthetic(100),
            &Request {
                method: "PUT",
                ..GET
            },
            now(),
        );
        assert_eq!(plan.status(), 405);
        assert_eq!(plan.header("allow"), Some(ALLOW));
    }

    #[test]
    fn refusal_display_is_lowercase_without_period() {
        for r in [
            Refusal::NotUtf8,
            Refusal::MethodNotAllowed,
            Refusal::OutsideRoot,
        ] {
            let text = r.to_string();
            assert!(!text.ends_with('.'), "{text}");
            assert_eq!(text, text.to_lowercase());
        }
    }
}
