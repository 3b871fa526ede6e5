//! Headless Chromium driven through the DevTools protocol over a pipe
//! (`--remote-debugging-pipe`: JSON messages ended by a NUL byte, commands
//! on its fd 3, answers on its fd 4), so a test reads the page's state and
//! takes screenshots without a WebSocket client.

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use crossbeam_channel::{Receiver, unbounded};
use serde_json::{Value, json};

use super::{Proc, Scratch, WAIT, spawn};

pub struct Browser {
    proc: Proc,
    to: ChildStdin,
    from: Receiver<Value>,
    next_id: u64,
    /// The page's session, once `open` attached to it.
    session: Option<String>,
    _profile: Scratch,
}

impl Browser {
    /// Starts Debian's `chromium` headless, with a fresh profile.
    pub fn start() -> Browser {
        let profile = Scratch::new("chromium");
        // fd 3 and fd 4 are the pipe ends the protocol uses: this shell
        // makes them our stdin and stdout, then points the browser's own
        // stdin and stdout elsewhere.
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "exec \"$0\" \"$@\" 3<&0 4>&1 0</dev/null 1>/dev/null", "chromium"])
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                // Containers often give /dev/shm 64 MiB, too little for it.
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--mute-audio",
                "--remote-debugging-pipe",
                "--autoplay-policy=no-user-gesture-required",
                "--window-size=1280,1000",
            ])
            .arg(format!("--user-data-dir={}", profile.path("profile").display()))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut proc = spawn(&mut cmd);
        let child = proc.child_mut();
        let to = child.stdin.take().expect("a pipe to the browser");
        let from = child.stdout.take().expect("a pipe from the browser");
        let (tx, rx) = unbounded();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(from);
            let mut message = Vec::new();
            while reader.read_until(0, &mut message).is_ok_and(|n| n > 0) {
                message.pop(); // the NUL
                if let Ok(value) = serde_json::from_slice::<Value>(&message)
                    && tx.send(value).is_err()
                {
                    break;
                }
                message.clear();
            }
        });
        Browser {
            proc,
            to,
            from: rx,
            next_id: 1,
            session: None,
            _profile: profile,
        }
    }

    /// Sends a command (to the page, once one is open) and waits for its
    /// answer; panics on an error answer or after `WAIT`.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = &self.session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).expect("the browser reads commands");
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let answer = self
                .from
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no answer to {method} within {WAIT:?}"));
            if answer["id"] == json!(id) {
                assert!(answer.get("error").is_none(), "{method}: {answer}");
                return answer["result"].clone();
            }
        }
    }

    /// Opens `url` in a new page and attaches to it.
    pub fn open(&mut self, url: &str) {
        let target = self.call("Target.createTarget", json!({ "url": url }));
        let target_id = target["targetId"].as_str().expect("a target id").to_owned();
        let attached = self.call(
            "Target.attachToTarget",
            json!({ "targetId": target_id, "flatten": true }),
        );
        self.session = Some(attached["sessionId"].as_str().expect("a session id").to_owned());
    }

    /// The value of a JavaScript expression in the page (awaited if a
    /// promise).
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        assert!(result.get("exceptionDetails").is_none(), "{expression}: {result}");
        result["result"]["value"].clone()
    }

    /// Evaluates `expression` every 250 ms until `done` holds for its
    /// value; panics with the last value after `WAIT`.
    pub fn wait_for(&mut self, what: &str, expression: &str, mut done: impl FnMut(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let value = self.eval(expression);
            if done(&value) {
                return value;
            }
            assert!(Instant::now() < deadline, "{what} within {WAIT:?}; last: {value}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// A PNG screenshot of the page's area `(x, y, width, height)`.
    pub fn screenshot(&mut self, clip: (f64, f64, f64, f64)) -> Vec<u8> {
        let (x, y, width, height) = clip;
        let shot = self.call(
            "Page.captureScreenshot",
            json!({ "format": "png", "clip": { "x": x, "y": y, "width": width, "height": height, "scale": 1 } }),
        );
        base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("image data"))
            .expect("base64 image")
    }
}

impl Drop for Browser {
    /// Asks the browser to close, and gives it 5 s before `Proc` kills it.
    fn drop(&mut self) {
        self.session = None;
        let close = json!({ "id": 0, "method": "Browser.close" });
        let mut bytes = serde_json::to_vec(&close).unwrap();
        bytes.push(0);
        if self.to.write_all(&bytes).is_ok() {
            let deadline = Instant::now() + Duration::from_secs(5);
            while self.proc.is_running() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}
