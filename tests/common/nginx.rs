//! nginx with the RTMP module as a peer: a foreground, single-process nginx
//! on a free loopback port with a generated config.

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};

use super::{Proc, Scratch, spawn, wait_until};

/// Debian's libnginx-mod-rtmp.
const RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

pub struct Nginx {
    pub addr: SocketAddr,
    _proc: Proc,
}

/// A port the OS says is free right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts nginx with `applications` inside its rtmp server block.
pub fn start(scratch: &Scratch, applications: &str) -> Nginx {
    let port = free_port();
    let conf = scratch.path("nginx.conf");
    let prefix = scratch.path("nginx");
    fs::create_dir_all(&prefix).unwrap();
    // master_process off keeps nginx one process, so stopping it by its PID
    // leaves no worker behind.
    fs::write(
        &conf,
        format!(
            "daemon off;\nmaster_process off;\nerror_log stderr info;\npid {pid};\n\
             load_module {RTMP_MODULE};\nevents {{ worker_connections 64; }}\n\
             rtmp {{\n  server {{\n    listen 127.0.0.1:{port};\n{applications}\n  }}\n}}\n",
            pid = prefix.join("nginx.pid").display(),
        ),
    )
    .unwrap();
    let proc = spawn(
        Command::new("nginx")
            .arg("-p")
            .arg(&prefix)
            .args(["-e", "stderr", "-c"])
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    wait_until("nginx to listen", || TcpStream::connect(addr).is_ok());
    Nginx { addr, _proc: proc }
}
