//! The inspector page (`www/inspector/`) in headless Chromium, against the real binary:
//! `tests/browser/inspector.mjs` sends a line through the demo page's echo box, finds that
//! connection in the inspector, and reads the frame back out of the hex pane byte by byte
//! (the mask key unmasks the payload into the line), then checks that a second line
//! reaches the open inspector through the live feed. See the script for what it checks.
//!
//! What this file owns is the setup, which must never hang and never skip: Chromium (from
//! `CHROMIUM` or `/usr/bin/chromium`, installed through apt when missing), the script's
//! `node_modules` (`npm ci`, once even when several test runs start together), a server on
//! a port of its own recording into a fresh folder, and a hard timeout on the script.
//! Screenshots land in `target/browser/`.

mod support;

use std::fs::{self, File};
use std::io::Read;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use support::Wiretap;

/// The longest the script may run; it bounds its own waits well below this.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest `npm ci` may take, and so the longest a second run waits on the first.
const NPM_TIMEOUT: Duration = Duration::from_secs(180);

#[test]
fn inspector_shows_the_bytes_of_a_websocket_frame_and_follows_it_live() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let browser_dir = repo.join("tests/browser");
    let chromium = chromium();
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|out| out.status.success()),
        "the browser test needs Node.js (`node` and `npm` on PATH): \
         `sudo apt-get install -y nodejs npm`"
    );
    node_modules(&browser_dir);

    let scratch = Scratch::new();
    let captures = scratch.path().join("captures");
    fs::create_dir_all(&captures).unwrap();
    let mut command = Wiretap::command();
    command
        .args(["serve", "--addr", "127.0.0.1:0", "--threads", "2", "--www"])
        .arg(repo.join("www"))
        .arg("--captures")
        .arg(&captures);
    // Declared after `scratch`: the server is killed before its folder goes.
    let server = Wiretap::spawn(command, &scratch.path().join("wiretap.log"));

    let shots = target_dir().join("browser");
    let started = Instant::now();
    let mut script = Command::new("node");
    script
        .arg(browser_dir.join("inspector.mjs"))
        .arg(format!("http://{}/", server.addr))
        .arg(&shots)
        .env("CHROMIUM", &chromium)
        .current_dir(&browser_dir);
    let (status, output) = run_bounded(script, SCRIPT_TIMEOUT, "the browser script");
    let took = started.elapsed();
    assert!(
        status.success(),
        "the browser script failed ({status}) after {took:.1?}:\n{output}\nwiretap's log:\n{}\n\
         the captures are kept in {}, the page as it failed is {}",
        server.log_text(),
        captures.display(),
        shots.join("failure.png").display(),
    );
    println!(
        "{output}browser script: {took:.1?}, screenshots in {}",
        shots.display()
    );
}

/// `CARGO_TARGET_DIR`, wherever it is: `CARGO_TARGET_TMPDIR` is `<target>/tmp`.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR has a parent")
        .to_owned()
}

/// The Chromium to drive: `CHROMIUM` when set, else `/usr/bin/chromium`, installed with apt
/// when it is missing. A browser test that skips itself silently is a test nobody runs.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        let path = PathBuf::from(path);
        assert!(
            path.exists(),
            "CHROMIUM is {}, which does not exist; unset it to use /usr/bin/chromium",
            path.display()
        );
        return path;
    }
    let path = PathBuf::from("/usr/bin/chromium");
    if path.exists() {
        return path;
    }
    let apt_get = |args: &[&str]| {
        let mut command = if is_root() {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            // -n: fail rather than wait for a password nobody will type.
            sudo.args(["-n", "apt-get"]);
            sudo
        };
        command
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null());
        command.output()
    };
    // A fresh machine's package lists may be missing or stale: refresh them first (a
    // failure here shows in the install's own error below).
    let _ = apt_get(&["update", "-qq"]);
    let tried = match apt_get(&["install", "-y", "chromium"]) {
        Ok(out) if out.status.success() => "apt-get installed no /usr/bin/chromium".to_owned(),
        Ok(out) => format!(
            "`apt-get install -y chromium` failed, {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => format!("`apt-get install -y chromium` did not start: {e}"),
    };
    assert!(
        path.exists(),
        "the browser test needs Chromium at /usr/bin/chromium and could not install it \
         ({tried}).\nInstall it with `sudo apt-get update && sudo apt-get install -y chromium`, \
         or point CHROMIUM at a Chromium or Chrome binary."
    );
    path
}

/// Whether this process runs as root (the effective uid in /proc, no unsafe call needed).
fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let uids = status.lines().find(|l| l.starts_with("Uid:"))?.to_owned();
            uids.split_whitespace().nth(2).map(|euid| euid == "0")
        })
        .unwrap_or(false)
}

/// Makes sure `tests/browser/node_modules` holds playwright-core, running `npm ci` when it
/// does not. `npm ci` first deletes `node_modules`, so a lock file (created exclusively)
/// both serialises installs and tells other runs that what is there is not ready yet.
fn node_modules(dir: &Path) {
    let ready = || {
        dir.join("node_modules/playwright-core/package.json")
            .exists()
    };
    let lock_path = target_dir().join("browser-npm-ci.lock");
    fs::create_dir_all(target_dir()).unwrap();
    let deadline = Instant::now() + NPM_TIMEOUT;
    let _lock = loop {
        match File::create_new(&lock_path) {
            Ok(_) => break LockFile(lock_path.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // A lock older than any install can take was left by a killed run.
                let stale = fs::metadata(&lock_path)
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t.elapsed().unwrap_or_default() > NPM_TIMEOUT);
                if stale {
                    let _ = fs::remove_file(&lock_path);
                    continue;
                }
                assert!(
                    Instant::now() < deadline,
                    "another test run has held {} for over {NPM_TIMEOUT:?}",
                    lock_path.display()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("create {}: {e}", lock_path.display()),
        }
    };
    if ready() {
        return;
    }
    let mut npm = Command::new("npm");
    npm.args(["ci", "--no-audit", "--no-fund"]).current_dir(dir);
    let (status, output) = run_bounded(
        npm,
        NPM_TIMEOUT,
        "npm ci (node and npm are needed: `sudo apt-get install -y nodejs npm`)",
    );
    assert!(
        status.success() && ready(),
        "`npm ci` in {} failed ({status}); the browser test needs playwright-core from \
         tests/browser/package-lock.json:\n{output}",
        dir.display()
    );
}

/// Removes the lock file when the install is over, however it ended.
struct LockFile(PathBuf);

impl Drop for LockFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// A fresh folder for the captures and the server's log; kept when the test fails, so
/// that the captures the page was looking at can be replayed.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("wiretap-browser-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

/// Runs `command` in a process group of its own with stdout and stderr collected, killing
/// the whole group when it runs past `timeout` (node's Chromium children included: they
/// would otherwise outlive it and hold the pipes open). `what` names it in failures.
fn run_bounded(mut command: Command, timeout: Duration, what: &str) -> (ExitStatus, String) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let group = Group(child.id());
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            drop(group);
            let output = collect(&mut child, stdout, stderr);
            panic!("{what} still running after {timeout:?}, killed; its output:\n{output}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(group);
    (status, collect(&mut child, stdout, stderr))
}

/// A process group, killed on drop: whatever the leader started is gone with it.
struct Group(u32);

impl Drop for Group {
    fn drop(&mut self) {
        // Fails harmlessly when the group is already empty.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0)])
            .stderr(Stdio::null())
            .status();
    }
}

/// Reads a pipe to its end on a thread of its own, so that neither pipe can fill and stall
/// the child while the other is read.
fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Waits for the exit (already happened, or the group was killed), then both pipes' text.
fn collect(child: &mut Child, stdout: JoinHandle<String>, stderr: JoinHandle<String>) -> String {
    let _ = child.wait();
    let mut output = stdout.join().unwrap_or_default();
    output.push_str(&stderr.join().unwrap_or_default());
    output
}
